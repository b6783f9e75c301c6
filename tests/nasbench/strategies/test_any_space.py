"""Local search and BANANAS over spaces other than NAS-Bench-201: the neighbourhood and
the encoding are the space's, so no strategy code knows which space it searches."""
from __future__ import annotations

import pytest

from nasbench.core.result import EvalResult
from nasbench.strategies import derive_seed, make_strategy
from nasbench.core.candidate import Candidate
from search_spaces.spaces import make_space

SETTINGS = {"local": {"initial_points": 1}, "bananas": {"initial_points": 2, "epochs": 10, "refit_epochs": 2, "parents": 1}}


def hashed_accuracy(candidate: Candidate) -> EvalResult:
    return EvalResult(status="ok", val_acc=derive_seed(0, candidate.key) % 1000 / 1000, cost_seconds=1.0)


# darts: its 136 neighbours' canonical keys take seconds
@pytest.mark.parametrize("space_name", ["blocks", pytest.param("darts", marks=pytest.mark.slow)])
@pytest.mark.parametrize("strategy_name", ["local", "bananas"])
def test_strategy_searches_the_space(space_name, strategy_name):
    space = make_space(space_name)
    strategy = make_strategy(strategy_name, space, seed=0, **SETTINGS[strategy_name])
    keys = []
    for _ in range(4):
        candidate = strategy.ask()
        assert space.contains(candidate.point)
        strategy.tell(candidate, hashed_accuracy(candidate))
        keys.append(candidate.key)
    assert len(set(keys)) == 4
