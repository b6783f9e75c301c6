"""DARTS and GDAS on small supernets: the unrolled gradient is DARTS' formula, GDAS'
sample is hard with straight-through weights and its temperature falls 10 -> 0.1, a
checkpoint restores a method exactly, and bad settings are one line."""
from __future__ import annotations

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from benchmarks.oneshot_reference import darts_second_order_theirs
from nasbench.oneshot import ONESHOT_METHODS, OneShotError, make_oneshot
from nasbench.oneshot.checkpoint import load_checkpoint, save_checkpoint
from nasbench.oneshot.darts import Darts
from nasbench.oneshot.gdas import Gdas, hard_gumbel
from nasbench.run.store import StateFileError
from nasbench.strategies import STRATEGIES
from search_spaces.spaces import make_space
from search_spaces.supernet import Paths, Supernet

SKELETON = {"cells_per_stage": 1, "filters": 4}


def nb201_supernet(seed: int = 0) -> Supernet:
    return Supernet(make_space("nasbench201"), SKELETON, num_classes=10, input_size=8, input_channels=1, seed=seed)


def batch(seed: int, size: int = 8) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(size, 1, 8, 8, generator=generator), torch.randint(10, (size,), generator=generator)


class AsXautodl(nn.Module):
    """Our DARTS supernet behind xautodl's interface (``arch_parameters``, ``(features, logits)``),
    so that the reference script's architect formula can run on it."""

    def __init__(self, method: Darts):
        super().__init__()
        self.supernet = method.supernet
        self.arch_parameters = method.alphas["cell"]

    def forward(self, images: torch.Tensor) -> tuple[None, torch.Tensor]:
        return None, self.supernet(images, Paths(weights={"cell": F.softmax(self.arch_parameters, -1)}))


def test_the_unrolled_gradient_is_the_formula_of_darts_architect():
    method = Darts(nb201_supernet(), order=2, seed=0)
    train, val = batch(1), batch(2)
    method.weight_step(train, method.eval_paths())  # a momentum buffer to unroll with
    ours = method.second_order_gradients(train, val)["cell"]
    theirs = darts_second_order_theirs(AsXautodl(method), method.weight_optimizer, train, val)
    assert torch.equal(ours, theirs)
    assert not torch.allclose(ours, method.first_order_gradients(val)["cell"], atol=1e-6)


def test_a_darts_step_moves_the_architecture_and_the_weights():
    method = Darts(nb201_supernet(), seed=0)
    alphas = method.alphas["cell"].detach().clone()
    weights = [p.detach().clone() for p in method.supernet.parameters()]
    stats = method.step(batch(1), batch(2), torch.Generator().manual_seed(0))
    assert stats.count == 8 and 0 <= stats.correct <= 8
    assert not torch.equal(alphas, method.alphas["cell"])
    assert any(not torch.equal(a, b) for a, b in zip(weights, method.supernet.parameters()))
    metrics = method.epoch_metrics()
    assert set(metrics) == {"entropy", "lr", "skip_connections"}


def test_gdas_samples_one_op_per_edge_and_cools_from_10_to_0_1():
    alpha = torch.randn(6, 5, requires_grad=True)
    weights, active = hard_gumbel(alpha, 1.0, torch.zeros(6, 5))
    assert [ops[0] for ops in active] == alpha.argmax(-1).tolist()
    assert torch.allclose(weights.detach(), F.one_hot(alpha.argmax(-1), 5).float(), atol=1e-6)
    weights.sum().backward()  # straight-through: the gradient reaches alpha
    assert alpha.grad is not None
    method = Gdas(nb201_supernet(), epochs=5, seed=0)
    taus = []
    for epoch in range(5):
        method.begin_epoch(epoch)
        taus.append(method.tau)
    assert taus[0] == 10.0 and taus[-1] == pytest.approx(0.1) and taus == sorted(taus, reverse=True)


@pytest.mark.parametrize("name", ["darts", "gdas"])
def test_a_checkpoint_restores_a_method_exactly(tmp_path, name):
    settings = {"order": 2} if name == "darts" else {}
    first = ONESHOT_METHODS.create(name, nb201_supernet(0), seed=0, **settings)
    first.step(batch(1), batch(2), torch.Generator().manual_seed(3))
    save_checkpoint(tmp_path / "state.pt", name, 1, [], first.state_dict())
    second = ONESHOT_METHODS.create(name, nb201_supernet(7), seed=7, **settings)
    second.load_state_dict(load_checkpoint(tmp_path / "state.pt", name)["state"])
    for method in (first, second):
        method.step(batch(4), batch(5), torch.Generator().manual_seed(6))
    assert torch.equal(first.alphas["cell"], second.alphas["cell"])
    assert all(torch.equal(a, b) for a, b in zip(first.supernet.state_dict().values(),
                                                 second.supernet.state_dict().values()))


def test_a_foreign_or_crafted_checkpoint_is_one_line(tmp_path):
    path = tmp_path / "state.pt"
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(StateFileError, match="state.pt unreadable"):
        load_checkpoint(path, "darts")
    save_checkpoint(path, "gdas", 0, [], {})
    with pytest.raises(StateFileError, match="is a 'gdas' search, not 'darts'"):
        load_checkpoint(path, "darts")


def test_one_shot_methods_are_not_ask_tell_strategies():
    assert set(ONESHOT_METHODS.names()) >= {"darts", "gdas"}
    assert not set(ONESHOT_METHODS.names()) & set(STRATEGIES)


@pytest.mark.parametrize("params, message", [
    ({"order": 3}, r"search.params.order: expected 1 or 2, got 3"),
    ({"lr": -1}, r"search.params.lr: expected a positive number"),
    ({"epochs": 0}, r"search.params.epochs: expected a positive integer"),
    ({"temperature": 1}, r"search.params: .*'temperature'"),
])
def test_bad_settings_are_one_line(params, message):
    with pytest.raises(OneShotError, match=message):
        make_oneshot("darts", make_space("nasbench201"), skeleton=SKELETON,
                     data={"name": "digits", "train_fraction": 0.1}, **params)


def _searched_on_a_fake_clock(monkeypatch, method: str, params: dict, build_seconds: float = 0.0,
                              submitted_before: float | None = None):
    """``method``'s search over 35 s of a fake clock on which every step takes 10 s and
    the build ``build_seconds`` (its clock started ``submitted_before`` s before the
    build began, as a Ray Train worker's starts when the job was submitted); its history."""
    import types

    import nasbench.oneshot as oneshot_package
    import nasbench.oneshot.loop as loop_module
    from nasbench.oneshot import OneShotRecipe
    from nasbench.run.store import MemoryStore
    from nasbench.core.budget import Budget

    clock = types.SimpleNamespace(now=1000.0)
    fake_time = types.SimpleNamespace(time=lambda: clock.now)
    monkeypatch.setattr(loop_module, "time", fake_time)
    monkeypatch.setattr(oneshot_package, "time", fake_time)
    search = OneShotRecipe(method, make_space("nasbench201"), {}, {"name": "digits", "train_fraction": 0.05}, 0,
                           params).build(device="cpu", began=None if submitted_before is None
                                         else clock.now - submitted_before)
    clock.now += build_seconds
    real_step = search.method.step

    def slow_step(*args):
        clock.now += 10.0
        return real_step(*args)

    monkeypatch.setattr(search.method, "step", slow_step)
    return search.run(Budget(seconds=35.0), MemoryStore()).history


def test_a_step_starts_only_if_it_is_expected_to_end_within_budget_seconds(monkeypatch):
    """7 steps an epoch: after 4 s of build and 3 steps, a 4th would end at 44 s."""
    history = _searched_on_a_fake_clock(monkeypatch, "darts", {"batch_size": 8}, build_seconds=4.0)
    settings = history[0].result.settings
    assert len(history) == 1 and settings["cut_short"] and settings["steps"] == 3


def test_the_time_before_the_build_counts_from_when_the_job_was_submitted(monkeypatch):
    """Ray Train's start-up (here 6 s before the worker's build) is charged as the build
    is: two steps end at 26 s, a third would end at 36 s (without the 6 s: three)."""
    history = _searched_on_a_fake_clock(monkeypatch, "darts", {"batch_size": 8}, submitted_before=6.0)
    assert len(history) == 1 and history[0].result.settings["steps"] == 2


def test_spos_evolves_after_the_epoch_that_leaves_no_time_for_another(monkeypatch):
    """3 steps an epoch: the first epoch (30 s) leaves no room for a step of a second, so
    it is the last one and SPOS evolves after it."""
    history = _searched_on_a_fake_clock(monkeypatch, "spos", {"batch_size": 16, "evolution_samples": 3})
    settings = history[-1].result.settings
    assert len(history) == 1 and settings["steps"] == 3 and not settings["cut_short"]
    assert settings["phase"] == "evolution"
