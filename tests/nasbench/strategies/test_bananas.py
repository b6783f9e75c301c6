"""BANANAS: candidates from the best points' neighbourhoods, a predictor that learns,
its held-out rank correlation in the run's summary, data-only state."""
from __future__ import annotations

import random

import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra

from nasbench.config.schema import CONF_DIR
from nasbench.core.result import EvalResult
from nasbench.cli.search import run_from_config
from nasbench.strategies import StrategyError, derive_seed, make_strategy
from nasbench.strategies.bananas import Bananas
from nasbench.core.candidate import Candidate
from nasbench.strategies.predictor import ensemble_forward, fit_ensemble, init_ensemble, kendall_tau
from search_spaces.spaces.nasbench201 import OPS, NasBench201Space

SPACE = NasBench201Space()
CONV3, NONE = OPS.index("nor_conv_3x3"), OPS.index("none")
SMALL = {"initial_points": 4, "epochs": 60, "refit_epochs": 10}


def fake_evaluate(candidate: Candidate) -> EvalResult:
    indices = SPACE.encode(candidate.point)
    noise = derive_seed(0, candidate.key) % 1000 / 1e5
    return EvalResult(status="ok", val_acc=0.5 + 0.07 * indices.count(CONV3) - 0.05 * indices.count(NONE) + noise,
                      cost_seconds=1.0)


def run(strategy: Bananas, count: int) -> list[tuple[Candidate, float]]:
    told = []
    for _ in range(count):
        candidate = strategy.ask()
        result = fake_evaluate(candidate)
        strategy.tell(candidate, result)
        told.append((candidate, result.val_acc))
    return told


def test_after_the_random_start_each_candidate_neighbours_one_of_the_best_points():
    strategy = Bananas(SPACE, seed=0, parents=3, **SMALL)
    told = run(strategy, SMALL["initial_points"])
    for _ in range(6):
        best = sorted(told, key=lambda entry: -entry[1])[:3]
        allowed = {SPACE.key(n) for candidate, _ in best for n in SPACE.neighbours(candidate.point)}
        candidate = strategy.ask()
        assert candidate.key in allowed
        assert candidate.key not in {c.key for c, _ in told}
        strategy.tell(candidate, fake_evaluate(candidate))
        told.append((candidate, fake_evaluate(candidate).val_acc))


def test_the_predictor_ranks_held_out_points_and_the_search_climbs():
    strategy = Bananas(SPACE, seed=1, **SMALL)
    told = run(strategy, 30)
    report = strategy.report()
    assert report["held_out_points"] == 30 - SMALL["initial_points"]
    assert report["predictor_kendall_tau"] > 0.3
    assert max(acc for _, acc in told[SMALL["initial_points"]:]) > max(acc for _, acc in told[:SMALL["initial_points"]])


def test_ucb_acquisition_and_bad_settings():
    strategy = make_strategy("bananas", SPACE, seed=2, acquisition="ucb", ucb_beta=2.0, **SMALL)
    assert len({candidate.key for candidate, _ in run(strategy, 8)}) == 8
    with pytest.raises(StrategyError, match="acquisition: 'ei' is not one of its, ucb"):
        make_strategy("bananas", SPACE, acquisition="ei")
    with pytest.raises(StrategyError, match="ensemble_size: 0 must be >= 1"):
        make_strategy("bananas", SPACE, ensemble_size=0)
    with pytest.raises(StrategyError, match="state has epochs=60, this strategy 100"):
        Bananas(SPACE, initial_points=4).load_state_dict(Bananas(SPACE, **SMALL).state_dict())


def test_the_state_holds_the_ensemble_as_tensors():
    strategy = Bananas(SPACE, seed=3, **SMALL)
    run(strategy, 8)
    state = strategy.state_dict()
    assert all(isinstance(tensor, torch.Tensor) for tensor in state["ensemble"].values())
    assert state["ensemble"]["w0"].shape == (5, 84, 32)


def test_fitting_the_ensemble_lowers_its_error_and_leaves_the_argument():
    inputs = torch.rand(40, 6, generator=torch.Generator().manual_seed(0))
    targets = inputs.sum(dim=1) - 3.0
    weights = init_ensemble(3, 6, 16, 2, seed=0)
    trained = fit_ensemble(weights, inputs, targets, epochs=200, learning_rate=0.01)
    error = lambda w: float(((ensemble_forward(w, inputs) - targets) ** 2).mean())  # noqa: E731
    assert error(trained) < 0.1 * error(weights)
    assert torch.equal(weights["w0"], init_ensemble(3, 6, 16, 2, seed=0)["w0"])


def test_kendall_tau_matches_scipy():
    stats = pytest.importorskip("scipy.stats")
    rng = random.Random(0)
    predicted = [rng.random() for _ in range(30)]
    actual = [round(p + rng.gauss(0, 0.3), 1) for p in predicted]  # with ties
    assert kendall_tau(predicted, actual) == pytest.approx(stats.kendalltau(predicted, actual).statistic)
    assert kendall_tau([1.0], [2.0]) is None and kendall_tau([1.0, 1.0], [1.0, 2.0]) is None


def test_the_run_summary_shows_the_predictor_rank_correlation(tmp_path):
    GlobalHydra.instance().clear()
    with initialize_config_dir(version_base="1.3", config_dir=str(CONF_DIR)):
        cfg = compose(config_name="config", overrides=[
            "+space=nasbench201", "evaluator=nasbench201", "progress=false", "search=bananas", "budget.trials=12",
            "search.params.initial_points=4", "search.params.epochs=30", "search.params.refit_epochs=5"])
    run_from_config(cfg, tmp_path)
    summary = (tmp_path / "summary.md").read_text()
    assert "## Strategy" in summary and "- held_out_points: 8" in summary
    assert "- predictor_kendall_tau: " in summary
