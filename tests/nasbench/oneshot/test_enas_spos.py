"""search=enas and search=spos: single-path training, the controller's REINFORCE phase,
SPOS' batch-norm recalibration and evolution, their records, checkpoint and resume."""
from __future__ import annotations

import io
import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from nasbench.oneshot import ONESHOT_METHODS, OneShotError, make_oneshot
from nasbench.oneshot.enas import Enas
from nasbench.data import load_data_group
from nasbench.oneshot.single_path import (population_entropy, recalibrate_batchnorm, recalibrated_accuracy,
                                          single_path)
from nasbench.oneshot.spos import Spos
from nasbench.networks.rebuild import load_network
from nasbench.cli.search import run_from_config
from search_spaces.spaces import make_space
from search_spaces.spaces.nasbench201 import OPS, format_arch
from search_spaces.supernet import Supernet
from tests.nasbench.oneshot.search_runs import QUICK, composed, history

REPO_ROOT = Path(__file__).resolve().parents[3]
SMALL = {"controller_steps": 2, "controller_batch": 2, "derive_samples": 3}


def small_supernet(seed: int = 0) -> Supernet:
    return Supernet(make_space("nasbench201"), {"cells_per_stage": 1, "filters": 4}, num_classes=10, input_size=8,
                    input_channels=1, seed=seed)


@pytest.fixture(scope="module")
def splits():
    return load_data_group({"name": "digits", "train_fraction": 0.05})


def test_enas_and_spos_are_registered():
    assert {"enas", "spos"} <= set(ONESHOT_METHODS)


@pytest.mark.parametrize("method", ["enas", "spos"])
def test_a_nasbench201_search_leaves_a_run_directory(tmp_path, method):
    small = [f"search.params.{k}={v}" for k, v in SMALL.items()] if method == "enas" else [
        "search.params.evolution_samples=6", "search.params.population_size=3", "search.params.sample_size=2",
        "search.params.epoch_samples=2", "search.params.recalibration_batches=1"]
    outcome = run_from_config(composed(["+space=nasbench201", f"search={method}", "budget.trials=2", *QUICK,
                                        *small]), tmp_path)
    rows = history(tmp_path)
    assert [row["trial"] for row in rows] == [0, 1] and len(outcome.history) == 2
    settings = [row["result"]["settings"] for row in rows]
    assert all({"train_acc", "entropy", "skip_connections", "lr", "steps"} <= set(s) for s in settings)
    if method == "enas":
        assert [s["controller_updates"] for s in settings] == [2, 4]
        assert 0 < settings[-1]["entropy"] <= math.log(len(OPS)) + 1e-6
    else:
        assert [s["phase"] for s in settings] == ["training", "evolution"]  # evolution after the last epoch
        assert settings[0]["evaluated"] <= 2 and 1 <= settings[1]["evaluated"] <= 6
        assert rows[-1]["result"]["val_acc"] == pytest.approx(settings[-1]["best_recalibrated_acc"])
    best = json.loads((tmp_path / "best.json").read_text())
    assert best["point"] == rows[-1]["point"] and make_space("nasbench201").contains(best["point"])
    assert best["method"] == method
    network = load_network(str(tmp_path / "best_network.json"), tmp_path / "best_weights.pt").network
    assert network(torch.zeros(2, 1, 8, 8)).shape == (2, 10)


def test_batchnorm_recalibration_forgets_the_previous_statistics(splits):
    supernet = small_supernet()
    point = format_arch(["nor_conv_3x3", "skip_connect", "nor_conv_1x1", "avg_pool_3x3", "none", "nor_conv_3x3"])
    batches = [splits.train[0][:16], splits.train[0][16:32]]
    first = recalibrated_accuracy(supernet, point, splits, batches)
    state = {k: v.clone() for k, v in supernet.state_dict().items()}
    with torch.no_grad():
        for module in supernet.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-3, 3)
                module.running_var.uniform_(0.1, 5)
    assert recalibrated_accuracy(supernet, point, splits, batches) == first
    assert all(torch.equal(state[k], v) for k, v in supernet.state_dict().items())
    counts = {m.num_batches_tracked.item() for m in supernet.modules() if isinstance(m, torch.nn.BatchNorm2d)}
    assert counts == {0, len(batches)}  # paths off the subnet are reset, not fed
    assert all(m.momentum == 0.1 for m in supernet.modules() if isinstance(m, torch.nn.BatchNorm2d))


def test_recalibration_averages_the_batches_statistics(splits):
    supernet = small_supernet()
    point = format_arch(["nor_conv_3x3"] * 6)
    images = splits.train[0][:32]
    recalibrate_batchnorm(supernet, point, [images[:16], images[16:]])
    stem_norm = next(m for m in supernet.modules() if isinstance(m, torch.nn.BatchNorm2d))
    recalibrated = stem_norm.running_mean.clone()
    outputs = []
    hook = stem_norm.register_forward_hook(lambda module, inputs, output: outputs.append(inputs[0]))
    supernet.train()
    with torch.no_grad():
        for half in (images[:16], images[16:]):
            supernet(half, single_path(supernet, point))
    hook.remove()
    expected = torch.stack([x.mean(dim=(0, 2, 3)) for x in outputs]).mean(0)
    assert torch.allclose(recalibrated, expected, atol=1e-6)


def test_population_entropy_is_zero_for_one_cell_and_log_ops_for_all_ops():
    supernet = small_supernet()
    assert population_entropy(supernet, [format_arch(["nor_conv_3x3"] * 6)] * 3) == 0.0
    every_op = [format_arch([op] * 6) for op in OPS]
    assert population_entropy(supernet, every_op) == pytest.approx(math.log(len(OPS)))
    with pytest.raises(OneShotError, match="no points"):
        population_entropy(supernet, [])


@pytest.mark.parametrize("make", [lambda s: Enas(s, batch_size=16, **SMALL),
                                  lambda s: Spos(s, batch_size=16, evolution_samples=4, population_size=2,
                                                 sample_size=1, epoch_samples=2, recalibration_batches=1)])
def test_state_dict_carries_everything_an_epoch_needs(splits, make):
    """A method restored from another's state (fresh supernet of other weights) continues
    exactly as the original: shared weights, optimizers and, for ENAS, the controller."""
    def epoch(method, number: int, final: bool) -> None:
        generator = torch.Generator().manual_seed(100 + number)
        images, labels = splits.train
        method.begin_epoch(number)
        for start in range(0, 48, 16):
            batch = (images[start:start + 16], labels[start:start + 16])
            method.step(batch, batch, generator)
        method.end_epoch(number, splits, generator, final=final, deadline=None)

    original = make(small_supernet(0))
    epoch(original, 0, final=False)
    restored = make(small_supernet(1))
    buffer = io.BytesIO()  # through bytes, as the checkpoint goes: no tensor shared with the original
    torch.save(original.state_dict(), buffer)
    restored.load_state_dict(torch.load(io.BytesIO(buffer.getvalue()), weights_only=True))
    for method in (original, restored):
        epoch(method, 1, final=True)
    assert restored.derive() == original.derive()
    assert restored.epoch_metrics() == original.epoch_metrics()
    for (key, a), b in zip(original.supernet.state_dict().items(), restored.supernet.state_dict().values()):
        assert torch.equal(a, b), key


def test_enas_trains_its_controller_towards_rewarded_cells(splits):
    method = Enas(small_supernet(), batch_size=16, controller_steps=3, controller_batch=2, controller_lr=0.05)
    before = {k: v.clone() for k, v in method.policy.controller.state_dict().items()}
    method.end_epoch(0, splits, torch.Generator().manual_seed(0), final=False, deadline=None)
    assert method.policy.updates == 3 and method.policy.baseline is not None
    assert any(not torch.equal(before[k], v) for k, v in method.policy.controller.state_dict().items())


def test_a_passed_deadline_still_derives_a_cell(splits):
    for method in (Enas(small_supernet(), batch_size=16, **SMALL),
                   Spos(small_supernet(), batch_size=16, population_size=2, sample_size=1, recalibration_batches=1)):
        method.end_epoch(0, splits, torch.Generator().manual_seed(0), final=True, deadline=time.time() - 1)
        assert make_space("nasbench201").contains(method.derive())
    assert method.metrics["evaluated"] == 1


@pytest.mark.parametrize("name, params, message", [
    ("enas", {"controller_steps": -1}, "search.params.controller_steps: expected an integer >= 0"),
    ("enas", {"baseline_decay": 1.0}, r"search.params.baseline_decay: expected a number in \[0, 1\)"),
    ("enas", {"controller_lr": 0}, "search.params.controller_lr: expected a positive number"),
    ("spos", {"sample_size": 5, "population_size": 2}, "search.params.sample_size: 5 is above population_size 2"),
    ("spos", {"evolution_samples": 0}, "search.params.evolution_samples: expected an integer >= 1"),
    ("spos", {"generations": 3}, "search.params: got an unexpected keyword argument 'generations'"),
])
def test_bad_settings_are_one_line(name, params, message):
    with pytest.raises(OneShotError, match=message):
        make_oneshot(name, make_space("nasbench201"), skeleton={"cells_per_stage": 1, "filters": 4},
                     data={"name": "digits", "train_fraction": 0.05}, **params)


def _search(tmp_path: Path, run_dir: Path, *arguments: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "nasbench.search", *arguments, f"hydra.run.dir={run_dir}"],
                            cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


@pytest.mark.slow
@pytest.mark.parametrize("method", ["gdas", "enas", "spos"])
def test_sigkill_mid_search_then_resume_ends_like_an_uninterrupted_search(tmp_path, method):
    """Every single-path method (and GDAS' hard sampling): killed after its first epoch,
    resumed, it ends with the epochs and derived cell of an uninterrupted search."""
    config = ["+space=nasbench201", f"search={method}", "search.params.epochs=4", "budget.trials=4",
              "data.train_fraction=0.1", "search.params.batch_size=16", "search.params.device=cpu", "progress=false"]
    killed = tmp_path / "killed"
    process = _search(tmp_path, killed, *config)
    deadline = time.time() + 240
    while time.time() < deadline and process.poll() is None:
        if (killed / "history.jsonl").exists() and (killed / "history.jsonl").read_text().count("\n") >= 1:
            break
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    assert 1 <= len(history(killed)) < 4
    resumed = _search(tmp_path, tmp_path / "resume-log", f"resume={killed}")
    reference = _search(tmp_path, tmp_path / "reference", *config)
    for run in (resumed, reference):
        assert run.wait(timeout=600) == 0, run.stderr.read()[-2000:]

    def epochs(run_dir: Path) -> list[tuple]:
        return [(row["trial"], row["key"], row["result"]["val_acc"], row["result"]["train_loss"],
                 row["result"]["settings"]["entropy"]) for row in history(run_dir)]
    assert epochs(killed) == epochs(tmp_path / "reference") and len(epochs(killed)) == 4
    assert (json.loads((killed / "best.json").read_text())["point"]
            == json.loads((tmp_path / "reference" / "best.json").read_text())["point"])
