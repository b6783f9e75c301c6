"""nasbench: neural architecture search with one genotype language.

The Python API is the command line's twin::

    import nasbench
    net = nasbench.rebuild("resnet34")                      # an nn.Module
    out = nasbench.search(space="nasbench201", evaluator="nasbench201", strategy="evolution",
                          trials=40, seed=0, run_dir="runs/nb201")
    out.best, out.history

The registries (``SPACES``, ``STRATEGIES``, ``ONESHOT_METHODS``, ``EVALUATORS``, ``EXECUTORS``,
``DATASETS``)
map names to constructors; every part is also accepted as an object. Names are resolved
on first use, so ``import nasbench`` stays cheap.
"""
from __future__ import annotations

import importlib
from typing import Any

_EXPORTS: dict[str, str] = {
    "search": "nasbench",   # the callable module nasbench.search (its call is nasbench.api.search)
    "rebuild": "nasbench",  # the callable module nasbench.rebuild (nasbench.api.rebuild)
    "compose_config": "nasbench.api",
    "run_search": "nasbench.driver",
    "SearchOutcome": "nasbench.driver",
    "RunStore": "nasbench.run_store",
    "MemoryStore": "nasbench.run_store",
    "HistoryRecord": "nasbench.run_store",
    "EvalResult": "nasbench.result",
    "Budget": "nasbench.strategies",
    "Candidate": "nasbench.strategies",
    "Strategy": "nasbench.strategies",
    "STRATEGIES": "nasbench.strategies",
    "ONESHOT_METHODS": "nasbench.oneshot",
    "make_strategy": "nasbench.strategies",
    "EVALUATORS": "nasbench.evaluators",
    "EXECUTORS": "nasbench.executors",
    "DATASETS": "nasbench.data",
    "load_dataset": "nasbench.data",
    "UsageError": "nasbench.errors",
    "ConfigError": "nasbench.errors",
    "SPACES": "search_spaces.spaces",
    "Space": "search_spaces.spaces",
    "make_space": "search_spaces.spaces",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'nasbench' has no attribute {name!r}")
    if _EXPORTS[name] == "nasbench":
        return importlib.import_module(f"nasbench.{name}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)


def __dir__() -> list[str]:
    return sorted({*__all__, "__doc__", "__name__", "__path__", "__file__"})
