"""Local search: first improvement, restarts at local optima, asynchronous asks."""
from __future__ import annotations

import pytest

from nasbench.core.result import EvalResult
from nasbench.strategies import StrategyError, derive_seed, make_strategy
from nasbench.core.candidate import Candidate
from nasbench.strategies.local_search import LocalSearch
from search_spaces.spaces.nasbench201 import OPS, NasBench201Space

SPACE = NasBench201Space()
CONV3 = OPS.index("nor_conv_3x3")
ALL_CONV3 = SPACE.decode([CONV3] * 6)


def conv_count(candidate: Candidate) -> EvalResult:
    """One optimum (every edge a 3x3 convolution) and no other local optimum: each edge that
    is not one is a step away from a better cell."""
    indices = SPACE.encode(candidate.point)
    noise = derive_seed(0, candidate.key) % 1000 / 1e6
    return EvalResult(status="ok", val_acc=0.1 * indices.count(CONV3) + noise, cost_seconds=1.0)


def test_climbs_to_the_optimum_with_first_improvements():
    strategy = LocalSearch(SPACE, seed=0)
    standing = []
    for _ in range(150):
        candidate = strategy.ask()
        strategy.tell(candidate, conv_count(candidate))
        standing.append(strategy.current[2] if strategy.current else None)
        if strategy.current and strategy.current[0] == ALL_CONV3:
            break
    assert strategy.current[0] == ALL_CONV3
    climbed = [value for value in standing if value is not None]
    assert climbed == sorted(climbed), "the climb never moves to a worse point"
    assert strategy.report()["restarts"] == 0


def test_the_climb_starts_from_the_best_of_the_random_start():
    strategy = LocalSearch(SPACE, seed=4)  # 10 random points by default
    start = [strategy.ask() for _ in range(strategy.initial_points)]
    for candidate in start:
        strategy.tell(candidate, conv_count(candidate))
    best = max(start, key=lambda c: conv_count(c).val_acc)
    assert strategy.current[1] == best.key
    neighbours = {SPACE.key(point) for point in SPACE.neighbours(best.point)}
    assert strategy.ask().key in neighbours


def test_restarts_from_a_random_point_at_a_local_optimum():
    strategy = LocalSearch(SPACE, seed=1, initial_points=1)
    candidate = strategy.ask()
    strategy.tell(candidate, EvalResult(status="ok", val_acc=0.9, cost_seconds=1.0))  # better than any neighbour
    optimum = candidate.key
    neighbours = {SPACE.key(point) for point in SPACE.neighbours(candidate.point)}
    for _ in range(len(neighbours)):
        candidate = strategy.ask()
        assert candidate.key in neighbours
        strategy.tell(candidate, EvalResult(status="ok", val_acc=0.5, cost_seconds=1.0))
    assert strategy.current is None and strategy.report()["restarts"] == 1
    restart = strategy.ask()
    assert restart.key not in neighbours | {optimum}
    strategy.tell(restart, EvalResult(status="ok", val_acc=0.3, cost_seconds=1.0))
    assert strategy.current[1] == restart.key, "the climb restarts from the fresh point, however poor"


def test_asynchronous_asks_never_repeat_and_results_count_in_any_order():
    strategy = LocalSearch(SPACE, seed=2)
    first = strategy.ask()
    strategy.tell(first, conv_count(first))
    in_flight = [strategy.ask() for _ in range(30)]  # more than the 24 neighbours
    keys = [candidate.key for candidate in in_flight]
    assert len(set(keys + [first.key])) == 31
    for candidate in reversed(in_flight):
        strategy.tell(candidate, conv_count(candidate))
    best = max(in_flight + [first], key=lambda c: conv_count(c).val_acc)
    assert strategy.current[2] >= conv_count(best).val_acc


def test_a_failure_is_never_stood_on():
    strategy = LocalSearch(SPACE, seed=3)
    candidate = strategy.ask()
    strategy.tell(candidate, EvalResult(status="error", message="boom"))
    assert strategy.current is None


def test_bad_settings_and_states_are_one_line():
    with pytest.raises(StrategyError, match="initial_points: 0 must be >= 1"):
        make_strategy("local", SPACE, initial_points=0)
    with pytest.raises(StrategyError, match="initial_points=10, this strategy 5"):
        LocalSearch(SPACE, initial_points=5).load_state_dict(LocalSearch(SPACE).state_dict())
