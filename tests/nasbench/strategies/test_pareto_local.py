"""Pareto local search: its archive is the non-dominated set of what it was told, it
explores an archive member's neighbours, and ``search=local`` with two objectives is it."""
from __future__ import annotations

import pytest

from nasbench.core.budget import Budget
from nasbench.core.result import EvalResult
from nasbench.run.pareto import pareto_front
from nasbench.run.search_loop import run_search
from nasbench.strategies import StrategyError, make_strategy
from nasbench.strategies.pareto_local import ParetoLocalSearch, dominates
from search_spaces.spaces.nasbench201 import OPS, NasBench201Space

SPACE = NasBench201Space()


def evaluate(candidate) -> EvalResult:
    """3x3 convolutions: more accuracy, more multiply-adds; a trade-off with a real front."""
    indices = SPACE.encode(candidate.point)
    convs, ones = indices.count(OPS.index("nor_conv_3x3")), indices.count(OPS.index("nor_conv_1x1"))
    return EvalResult(status="ok", val_acc=0.4 + 0.08 * convs + 0.03 * ones - 0.01 * indices.count(0),
                      macs=9 * convs + ones + 1)


def test_dominance():
    assert dominates([1, 2], [1, 3]) and not dominates([1, 2], [1, 2]) and not dominates([0, 3], [1, 2])


def test_the_archive_is_the_front_of_what_was_told_and_neighbours_are_explored():
    strategy = ParetoLocalSearch(SPACE, seed=0, objectives=("val_acc", "macs"), initial_points=5)
    outcome = run_search(strategy, evaluate, Budget(trials=60), progress=False)
    told = [(r.result.macs, r.result.val_acc) for r in outcome.history]
    front = {told[i] for i in pareto_front(told)}
    assert {(costs[1], -costs[0]) for _, costs in strategy.front} == front
    keys = [r.candidate.key for r in outcome.history]
    assert len(set(keys)) == len(keys)  # no point proposed twice
    points = [r.candidate.point for r in outcome.history]
    near = [keys[i] in {SPACE.key(n) for p in points[:i] for n in SPACE.neighbours(p)} for i in range(5, len(keys))]
    assert sum(near) >= 0.8 * len(near)  # after the random start, the asks are neighbours of told points


def test_search_local_with_two_objectives_is_pareto_local_search():
    assert isinstance(make_strategy("local", SPACE, objectives=["val_acc", "edgegpu_latency"]), ParetoLocalSearch)
    with pytest.raises(StrategyError, match="'latency' is not a metric"):
        make_strategy("local", SPACE, objectives=["val_acc", "latency"])
    with pytest.raises(StrategyError, match="local search of one objective climbs val_acc"):
        make_strategy("local", SPACE, objectives=["params"])
