"""Local search: first-improvement hill climbing over a space's neighbourhood, started from
the best of a few random points and restarted from a fresh random point at each local optimum.

White, Nolen & Savani, "Exploring the Loss Landscape in Neural
Architecture Search", UAI 2021, https://arxiv.org/abs/2005.02960 (Algorithm 1; they show
it near-optimal on NAS-Bench-201). The neighbourhood is ``space.neighbours`` (every point
``space.mutate`` can reach), tried in a seeded random order.
"""
from __future__ import annotations

import math
import random
from typing import Any

from nasbench.core.result import EvalResult
from nasbench.core.candidate import Candidate, candidate_seed, derive_seed
from nasbench.strategies.base import StrategyError, check_state, fresh_sample, pop_pending, result_fitness
from search_spaces.spaces.base import Space

NAME = "local"


class LocalSearch:
    """Local search (White et al., 2021) over any ``Space`` with ``sample`` and ``neighbours``.

    The first ``initial_points`` asks are random and the climb starts from the best of
    them (the paper starts from one; the default 10, BANANAS' random start, lifts the
    NAS-Bench-201 100-run mean on all three data sets: BENCHMARKS.md). Each later ask is
    the next untried neighbour of the current point; as soon as a result beats the
    current point the climb moves there (first improvement), skipping straight on to any
    neighbour already known to be better. When every neighbour has been told and none is
    better, the current point is a local optimum: the next ask is a fresh random point,
    where the climb restarts.

    Asynchronous use: a result counts whenever it arrives and whoever asked it; while
    the current point's neighbours are all in flight, or before any result has come,
    asks are random (the next restart's candidates). No key is proposed twice while the
    space has others (``max_retries`` random draws); failures score ``-inf``.
    """

    def __init__(self, space: Space, seed: int = 0, initial_points: int = 10, max_retries: int = 100) -> None:
        if initial_points < 1:
            raise StrategyError(f"initial_points: {initial_points} must be >= 1")
        if max_retries < 0:
            raise StrategyError(f"max_retries: {max_retries} must be >= 0")
        self.space = space
        self.seed = seed
        self.initial_points = initial_points
        self.max_retries = max_retries
        self._next_trial = 0
        self._current: tuple[Any, str, float] | None = None  # (point, key, fitness) the climb stands on
        self._queue: list[tuple[Any, str]] = []  # the current point's untried neighbours, next first
        self._fitness: dict[str, float] = {}  # every told key
        self._proposed: set[str] = set()
        self._pending: dict[int, tuple[Any, str, str | None]] = {}  # trial -> (point, key, neighbour of key)
        self._moves = 0
        self._restarts = 0

    @property
    def current(self) -> tuple[Any, str, float] | None:
        """The point the climb stands on: ``(point, key, fitness)``, None before any success
        and after a local optimum until the restart point is told."""
        return self._current

    def ask(self) -> Candidate:
        trial = self._next_trial
        rng = random.Random(derive_seed(self.seed, NAME, trial))
        origin = None
        if trial >= self.initial_points and self._current is not None:
            while self._queue and self._queue[0][1] in self._proposed:
                self._queue.pop(0)
            if self._queue:
                point, key = self._queue.pop(0)
                origin = self._current[1]
        if origin is None:
            point, key = self._random_point(rng)
        self._proposed.add(key)
        self._pending[trial] = (point, key, origin)
        self._next_trial += 1
        return Candidate(trial=trial, point=point, key=key, seed=candidate_seed(self.seed, trial))

    def tell(self, candidate: Candidate, result: EvalResult) -> None:
        point, key, _ = pop_pending(self._pending, candidate)
        fitness = result_fitness(result)
        self._fitness[key] = -math.inf if fitness is None else fitness
        if fitness is not None and (self._current is None or fitness > self._current[2]):
            self._move_to(point, key, fitness, candidate.trial)
        elif self._current is not None and self._at_local_optimum():
            self._current, self._queue = None, []
            self._restarts += 1

    def report(self) -> dict[str, Any]:
        """Figures for the run's summary: moves made and restarts from local optima."""
        return {"moves": self._moves, "restarts": self._restarts}

    def _random_point(self, rng: random.Random) -> tuple[Any, str]:
        return fresh_sample(self.space, rng, self._proposed, self.max_retries)

    def _move_to(self, point: Any, key: str, fitness: float, trial: int) -> None:
        """Stand on ``point``, then on any better neighbour already told, until none is;
        queue the untried neighbours in an order drawn from ``trial``."""
        while True:
            self._current = (point, key, fitness)
            self._moves += 1
            neighbours = [(neighbour, self.space.key(neighbour)) for neighbour in self.space.neighbours(point)]
            known = [(self._fitness[k], n, k) for n, k in neighbours if k in self._fitness]
            best = max(known, key=lambda entry: entry[0], default=None)
            if best is None or not best[0] > fitness:
                break
            fitness, point, key = best
        random.Random(derive_seed(self.seed, NAME, "neighbours", trial)).shuffle(neighbours)
        self._queue = [(n, k) for n, k in neighbours if k not in self._proposed]

    def _at_local_optimum(self) -> bool:
        """No untried neighbour of the current point is left and none is in flight."""
        current_key = self._current[1] if self._current is not None else None
        untried = any(k not in self._proposed for _, k in self._queue)
        in_flight = any(origin == current_key for _, _, origin in self._pending.values())
        return not untried and not in_flight

    def state_dict(self) -> dict[str, Any]:
        return {
            "strategy": NAME,
            "seed": self.seed,
            "initial_points": self.initial_points,
            "next_trial": self._next_trial,
            "current": None if self._current is None else list(self._current),
            "queue": [list(entry) for entry in self._queue],
            "fitness": dict(self._fitness),
            "proposed": sorted(self._proposed),
            "pending": {trial: list(entry) for trial, entry in self._pending.items()},
            "moves": self._moves,
            "restarts": self._restarts,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        check_state(state, NAME, self.seed)
        if state["initial_points"] != self.initial_points:
            raise StrategyError(f"state has initial_points={state['initial_points']}, "
                                f"this strategy {self.initial_points}")
        self._next_trial = int(state["next_trial"])
        current = state["current"]
        self._current = None if current is None else (current[0], current[1], float(current[2]))
        self._queue = [(point, key) for point, key in state["queue"]]
        self._fitness = {key: float(value) for key, value in state["fitness"].items()}
        self._proposed = set(state["proposed"])
        self._pending = {int(trial): (point, key, origin) for trial, (point, key, origin) in state["pending"].items()}
        self._moves = int(state["moves"])
        self._restarts = int(state["restarts"])
