"""One-shot (weight-sharing) searches: a supernet trained with its architecture.

``ONESHOT_METHODS`` is the one registry of one-shot methods: a name maps to a
constructor ``(supernet, seed=..., **params)`` returning a ``OneShotMethod``. The same
``search=NAME`` config group picks one (``nasbench.config.parts``); they are not ask/tell
strategies and are not in ``STRATEGIES``. ``make_oneshot`` builds the supernet for the
space, skeleton and data and returns the ``OneShotSearch`` that the search runs
(``run_oneshot``: in this process, or on Ray Train with its closing phase on Ray Tune).
Adding a method (ENAS, SPOS) is one module here, one line below and one YAML file in
``nasbench/conf/search/``. The package may import the executors (the Ray executor runs
SPOS' evolution), the run layer (the store and report it writes) and everything below.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any, Mapping

from nasbench.oneshot.darts import Darts
from nasbench.oneshot.enas import Enas
from nasbench.oneshot.gdas import Gdas
from nasbench.data import load_data_group
from nasbench.oneshot.loop import OneShotSearch
from nasbench.oneshot.methods import OneShotError, OneShotMethod
from nasbench.oneshot.ray_train import check_workers, run_on_ray
from nasbench.oneshot.spos import Spos
from nasbench.core.budget import Budget
from nasbench.run.search_loop import SearchOutcome
from nasbench.run.store import Store
from search_spaces.registry import Registry
from search_spaces.spaces.base import Space
from search_spaces.supernet import Supernet
from search_spaces.value_kinds import parameter_problems

ONESHOT_METHODS: Registry[OneShotMethod] = Registry("one-shot search", [
    ("darts", Darts),
    ("gdas", Gdas),
    ("enas", Enas),
    ("spos", Spos),
])


@dataclass(frozen=True)
class OneShotRecipe:
    """What builds a one-shot search: the same search again in another process (a Ray
    Train worker builds its replica from it, the data loaded there)."""

    name: str
    space: Space
    skeleton: Mapping[str, Any]
    data: Mapping[str, Any]
    seed: int
    params: Mapping[str, Any]

    def build(self, device: str = "auto", executor: Any = None, began: float | None = None) -> OneShotSearch:
        """The search, its clock for ``budget.seconds`` started at ``began`` (a
        ``time.time()``; default now): a Ray Train worker passes the moment the driver
        submitted the job, so that Ray's start-up counts too."""
        began = time.time() if began is None else began
        constructor = ONESHOT_METHODS.constructor(self.name)
        problem = parameter_problems(constructor, dict(self.params))
        if problem:
            raise OneShotError(f"search.params.{problem[0]}: {problem[1]}")
        splits = load_data_group(self.data)
        channels, height, _ = splits.input_shape
        supernet = Supernet(self.space, self.skeleton, num_classes=splits.num_classes, input_size=height,
                            input_channels=channels, seed=self.seed)
        try:
            method = constructor(supernet, seed=self.seed, **self.params)
        except TypeError as exc:
            raise OneShotError(re.sub(r"\S*__init__\(\) ", "", f"search.params: {exc}")) from None
        return OneShotSearch(method, splits, seed=self.seed, device=device, recipe=self, executor=executor,
                             built_since=began)


def make_oneshot(name: str, space: Space, *, skeleton: Mapping[str, Any], data: Mapping[str, Any], seed: int = 0,
                 executor: Any = None, **params: Any) -> OneShotSearch:
    """The one-shot search ``name`` of ``space``: its supernet (``skeleton``, sized for the
    ``data`` group's data set, weights drawn from ``seed``) and method (``params``, the
    ``search.params`` group; ``device`` is where it runs, default ``auto``). ``executor``:
    None runs it in this process, a ``RayExecutor`` on Ray (``nasbench.oneshot.ray_train``)."""
    device = params.pop("device", "auto")
    recipe = OneShotRecipe(name, space, dict(skeleton), dict(data), seed, dict(params))
    search = recipe.build(device=device, executor=executor)
    if executor is not None:
        check_workers(search, start_ray=True)  # Ray starts now rather than after the run directory is written
    return search


def run_oneshot(search: OneShotSearch, budget: Budget, store: Store, progress: bool = False) -> SearchOutcome:
    """Run (or resume) ``search`` in ``store`` where its executor says: in this process,
    or on Ray (``nasbench.oneshot.ray_train``) when it was made with a Ray executor."""
    if search.executor is not None:
        return run_on_ray(search, budget, store, progress)
    return search.run(budget, store, progress=progress)


__all__ = ["ONESHOT_METHODS", "OneShotRecipe", "OneShotError", "OneShotMethod", "OneShotSearch", "make_oneshot",
           "run_oneshot"]
