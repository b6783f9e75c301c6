"""Regularized (aging) evolution.

Real, Aggarwal, Huang & Le, "Regularized Evolution for Image Classifier Architecture
Search", AAAI 2019, https://arxiv.org/abs/1802.01548 (Algorithm 1, AmoebaNet).

The population is a queue ordered by when members joined: the first ``population_size``
asks are random; every later ask draws ``sample_size`` members, mutates the fittest, and
each tell appends the child and removes the oldest member, however fit.
"""
from __future__ import annotations

import math
import random
from collections import deque
from typing import Any

from nasbench.core.result import EvalResult
from nasbench.core.candidate import Candidate, candidate_seed, derive_seed
from nasbench.strategies.base import StrategyError, check_state, pop_pending, result_fitness
from search_spaces.spaces.base import Space

NAME = "evolution"


class RegularizedEvolution:
    """Aging evolution (Real et al., 2019) over any ``Space`` with ``sample`` and ``mutate``.

    Defaults are those of the NAS-Bench-201 paper's REA baseline (population 10, sample 3).

    Asynchronous use: the initial asks are random by trial number, whatever has been told;
    a later ask while the population is still empty (all initial results in flight) is
    random too. Members join in the order results are told, which is their age.

    Failures join the population with fitness ``-inf``: they are never chosen as parent
    over a success, and they still age out, so the queue advances once per evaluation as
    in the paper's one-child-per-cycle loop.
    """

    def __init__(self, space: Space, seed: int = 0, population_size: int = 10, sample_size: int = 3) -> None:
        if population_size < 1:
            raise StrategyError(f"population_size: {population_size} must be >= 1")
        if sample_size < 1:
            raise StrategyError(f"sample_size: {sample_size} must be >= 1")
        self.space = space
        self.seed = seed
        self.population_size = population_size
        self.sample_size = sample_size
        self._next_trial = 0
        self._population: deque[tuple[Any, str, float]] = deque()  # (point, key, fitness), oldest first
        self._pending: dict[int, tuple[Any, str]] = {}

    @property
    def population(self) -> list[tuple[Any, str, float]]:
        """The living members, oldest first: ``(point, key, fitness)``."""
        return list(self._population)

    def ask(self) -> Candidate:
        trial = self._next_trial
        rng = random.Random(derive_seed(self.seed, NAME, trial))
        if trial < self.population_size or not self._population:
            point = self.space.sample(rng)
        else:
            # NOTE: members are drawn with replacement, as in the paper's published code
            # (and NAS-Bench-201's R-EA); Algorithm 1 leaves it open.
            sample = [rng.choice(self._population) for _ in range(self.sample_size)]
            parent = max(sample, key=lambda member: member[2])
            point = self.space.mutate(parent[0], rng)
        key = self.space.key(point)
        self._pending[trial] = (point, key)
        self._next_trial += 1
        return Candidate(trial=trial, point=point, key=key, seed=candidate_seed(self.seed, trial))

    def tell(self, candidate: Candidate, result: EvalResult) -> None:
        point, key = pop_pending(self._pending, candidate)
        self.observe(point, key, result)

    def observe(self, point: Any, key: str, result: EvalResult) -> None:
        """A result this strategy did not ask for (a search's seed point) joins the
        population like a told one: the warm start of evolution from known cells."""
        fitness = result_fitness(result)
        self._population.append((point, key, -math.inf if fitness is None else fitness))
        while len(self._population) > self.population_size:
            self._population.popleft()

    def state_dict(self) -> dict[str, Any]:
        return {
            "strategy": NAME,
            "seed": self.seed,
            "population_size": self.population_size,
            "sample_size": self.sample_size,
            "next_trial": self._next_trial,
            "population": [list(member) for member in self._population],
            "pending": {trial: list(entry) for trial, entry in self._pending.items()},
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        check_state(state, NAME, self.seed)
        for name in ("population_size", "sample_size"):
            if state[name] != getattr(self, name):
                raise StrategyError(f"state has {name}={state[name]}, this strategy {getattr(self, name)}")
        self._next_trial = int(state["next_trial"])
        self._population = deque((point, key, float(fitness)) for point, key, fitness in state["population"])
        self._pending = {int(trial): (point, key) for trial, (point, key) in state["pending"].items()}
