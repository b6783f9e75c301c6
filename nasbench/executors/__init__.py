"""Executors: what runs the evaluations of a search.

``EXECUTORS`` is the one registry of executors: a name maps to a class with a config
schema (``Config``), ``from_config(settings)`` and ``run(strategy, evaluate, budget,
store, progress, on_record, constraints) -> SearchOutcome``. ``local`` evaluates in this process
(``nasbench.run.search_loop.run_search``); ``ray`` runs one Ray Tune trial per candidate
(``nasbench.executors.ray_executor``; Ray itself is imported only when a search runs on
it). Both write the same run directory through the same ``SearchRecorder``. The
package may import the run layer (the loop it drives) and everything below it:
evaluators, training, strategies, core and ``search_spaces``.
"""
from __future__ import annotations

from typing import Any

from nasbench.executors.local import LocalExecutor
from nasbench.executors.ray_executor import RayExecutor
from search_spaces.registry import Registry

EXECUTORS: Registry[Any] = Registry("executor", [
    ("local", LocalExecutor),
    ("ray", RayExecutor),
])

__all__ = ["EXECUTORS", "LocalExecutor", "RayExecutor"]
