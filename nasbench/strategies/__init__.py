"""Search strategies: ask/tell objects with a resumable state (see ``base.Strategy``).

``strategy_constructors()`` maps each name to a constructor taking ``(space, seed, ...)``.
"""
from __future__ import annotations

import functools
import types
from typing import Any, Callable, Mapping

from nasbench.strategies.base import Candidate, Strategy, StrategyError, derive_seed
from nasbench.strategies.budget import Budget, BudgetError

__all__ = [
    "Budget",
    "BudgetError",
    "Candidate",
    "Strategy",
    "StrategyError",
    "derive_seed",
    "make_strategy",
    "strategy_constructors",
]


def strategy_constructors() -> Mapping[str, Callable[..., Strategy]]:
    """Name -> constructor ``(space, seed, **options)``, read-only.

    The modules are imported here, not at package import, so that using random search
    does not pay for importing Optuna or torch.
    """
    from nasbench.strategies.evolution import RegularizedEvolution
    from nasbench.strategies.optuna_strategy import OptunaStrategy
    from nasbench.strategies.random_search import RandomSearch
    from nasbench.strategies.reinforce import Reinforce

    return types.MappingProxyType(
        {
            "random": RandomSearch,
            "evolution": RegularizedEvolution,
            "reinforce": Reinforce,
            "tpe": functools.partial(OptunaStrategy, sampler="tpe"),
            "optuna": OptunaStrategy,
            "nsga2": functools.partial(OptunaStrategy, sampler="nsga2"),
        }
    )


def make_strategy(name: str, space: Any, seed: int = 0, **options: Any) -> Strategy:
    """The strategy called ``name`` over ``space``."""
    constructors = strategy_constructors()
    if name not in constructors:
        raise StrategyError(f"strategy: {name!r} is not one of {', '.join(constructors)}")
    return constructors[name](space, seed=seed, **options)
