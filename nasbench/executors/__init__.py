"""Executors: what runs the evaluations of a search other than the local driver.

``run_with_executor(cfg, strategy, evaluate, budget, store)`` is what
``nasbench.search`` calls when ``executor.name`` is not ``local``; it writes the same run
directory as the local driver and returns a ``SearchOutcome``. ``ray`` runs one Ray Tune
trial per candidate (``nasbench.executors.ray_executor``).
"""
from __future__ import annotations

from typing import Any, Callable, Mapping

from nasbench.driver import SearchOutcome
from nasbench.result import EvalResult
from nasbench.run_store import RunStore
from nasbench.strategies.base import Candidate, Strategy
from nasbench.strategies.budget import Budget

EXECUTORS: tuple[str, ...] = ("local", "ray")

__all__ = ["EXECUTORS", "run_with_executor"]


def run_with_executor(cfg: Mapping[str, Any], strategy: Strategy, evaluate: Callable[[Candidate], EvalResult],
                      budget: Budget, store: RunStore) -> SearchOutcome:
    """Run (or resume) the search with the executor that ``cfg["executor"]["name"]`` names."""
    name = cfg["executor"]["name"]
    if name == "ray":
        from nasbench.executors.ray_executor import run_on_ray
        return run_on_ray(cfg, strategy, evaluate, budget, store)
    if name == "local":
        from nasbench.driver import run_search
        return run_search(strategy, evaluate, budget, store, progress=bool(cfg.get("progress", True)))
    from nasbench.factories import ConfigError
    raise ConfigError(f"executor: {name!r} is not one of {', '.join(EXECUTORS)}")
