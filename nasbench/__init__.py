"""nasbench: neural architecture search with one genotype language.

The Python API is the command line's twin::

    import nasbench
    net = nasbench.rebuild("resnet34")                      # an nn.Module
    out = nasbench.search(space="nasbench201", evaluator="nasbench201", strategy="evolution",
                          trials=40, seed=0, run_dir="runs/nb201")
    out.best, out.history

The registries (``SPACES``, ``STRATEGIES``, ``ONESHOT_METHODS``, ``EVALUATORS``, ``EXECUTORS``,
``DATASETS``) map names to constructors; every part is also accepted as an object. Names
are resolved on first use, so ``import nasbench`` stays cheap.

The package's folders are its layers, from the commands down (each package's docstring
says what it holds and may import; ``tests/test_layers.py`` holds the order and enforces
it): ``cli`` (the commands; ``search``, ``rebuild``, ``evaluate``, ``transfer``,
``finetune`` here are their ``python -m`` entry points), ``api``, ``config`` (the config
edge), ``oneshot``, ``executors``, ``run`` (the search loop, run store, report),
``evaluators``, ``train``, ``networks`` (resolve, rebuild, transfer, export, weights),
``strategies``, ``tables``, ``data``, ``core``; below them all, ``search_spaces``.
"""
from __future__ import annotations

import importlib
import importlib.abc
import sys
from typing import Any

_EXPORTS: dict[str, str] = {
    "search": "nasbench",   # the callable module nasbench.search (its call is nasbench.api.search)
    "rebuild": "nasbench",  # the callable module nasbench.rebuild (nasbench.networks.rebuild.rebuild)
    "compose_config": "nasbench.api",
    "run_search": "nasbench.run.search_loop",
    "SearchOutcome": "nasbench.run.search_loop",
    "RunStore": "nasbench.run.store",
    "MemoryStore": "nasbench.run.store",
    "HistoryRecord": "nasbench.run.store",
    "EvalResult": "nasbench.core.result",
    "Budget": "nasbench.core.budget",
    "Candidate": "nasbench.core.candidate",
    "Strategy": "nasbench.strategies",
    "STRATEGIES": "nasbench.strategies",
    "ONESHOT_METHODS": "nasbench.oneshot",
    "make_strategy": "nasbench.strategies",
    "EVALUATORS": "nasbench.evaluators",
    "EXECUTORS": "nasbench.executors",
    "DATASETS": "nasbench.data",
    "load_dataset": "nasbench.data",
    "UsageError": "nasbench.core.errors",
    "ConfigError": "nasbench.core.errors",
    "SPACES": "search_spaces.spaces",
    "Space": "search_spaces.spaces",
    "make_space": "search_spaces.spaces",
}

# Modules of the flat layout before the layers (2026-12): importing one says where it went.
MOVED: dict[str, str] = {
    "nasbench.errors": "nasbench.core.errors",
    "nasbench.result": "nasbench.core.result",
    "nasbench.paths": "nasbench.core.paths",
    "nasbench.strategies.budget": "nasbench.core.budget",
    "nasbench.driver": "nasbench.run.search_loop",
    "nasbench.run_store": "nasbench.run.store",
    "nasbench.run_lock": "nasbench.run.lock",
    "nasbench.report": "nasbench.run.report",
    "nasbench.factories": "nasbench.config.parts",
    "nasbench.summary": "nasbench.networks.layer_table",
    "nasbench.export": "nasbench.networks.export",
    "nasbench.weights": "nasbench.networks.weights",
    "nasbench.weights_source": "nasbench.networks.weights_source",
    "nasbench.resolve": "nasbench.networks.resolve",
    "nasbench.callable_module": "nasbench.cli.callable_module",
    "nasbench.train.cli": "nasbench.cli.train",
}

__all__ = sorted(_EXPORTS)


class MovedModuleFinder(importlib.abc.MetaPathFinder):
    """Answers an import of a module that moved (``MOVED``) with one line naming its new
    home, instead of Python's bare "No module named". It is consulted last, after every
    real finder, so it never hides a module that exists."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> None:
        if fullname in MOVED:
            raise ModuleNotFoundError(f"{fullname} moved to {MOVED[fullname]}; import it from there", name=fullname)
        return None


if not any(isinstance(finder, MovedModuleFinder) for finder in sys.meta_path):
    sys.meta_path.append(MovedModuleFinder())


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'nasbench' has no attribute {name!r}")
    if _EXPORTS[name] == "nasbench":
        return importlib.import_module(f"nasbench.{name}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)


def __dir__() -> list[str]:
    return sorted({*__all__, "__doc__", "__name__", "__path__", "__file__"})
