"""Random search: the baseline every NAS method must beat.

Li & Talwalkar, "Random Search and Reproducibility for Neural Architecture Search",
UAI 2019, https://arxiv.org/abs/1902.07638; the NAS-Bench-201 paper's RS baseline.
"""
from __future__ import annotations

import random
from typing import Any

from nasbench.core.result import EvalResult
from nasbench.core.candidate import Candidate, candidate_seed, derive_seed
from nasbench.strategies.base import StrategyError, check_state, fresh_sample, pop_pending
from search_spaces.spaces.base import Space

NAME = "random"


class RandomSearch:
    """Uniform samples of ``space``, avoiding points already proposed.

    A sample whose key was proposed before is redrawn up to ``max_retries`` times; after
    that the repeat is proposed anyway (a space nearly exhausted is not an error).
    """

    def __init__(self, space: Space, seed: int = 0, max_retries: int = 100) -> None:
        if max_retries < 0:
            raise StrategyError(f"max_retries: {max_retries} must be >= 0")
        self.space = space
        self.seed = seed
        self.max_retries = max_retries
        self._next_trial = 0
        self._proposed: set[str] = set()
        self._pending: dict[int, str] = {}

    def ask(self) -> Candidate:
        trial = self._next_trial
        rng = random.Random(derive_seed(self.seed, NAME, trial))
        point, key = fresh_sample(self.space, rng, self._proposed, self.max_retries)
        self._proposed.add(key)
        self._pending[trial] = key
        self._next_trial += 1
        return Candidate(trial=trial, point=point, key=key, seed=candidate_seed(self.seed, trial))

    def tell(self, candidate: Candidate, result: EvalResult) -> None:
        pop_pending(self._pending, candidate)

    def state_dict(self) -> dict[str, Any]:
        return {
            "strategy": NAME,
            "seed": self.seed,
            "next_trial": self._next_trial,
            "proposed": sorted(self._proposed),
            "pending": dict(self._pending),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        check_state(state, NAME, self.seed)
        self._next_trial = int(state["next_trial"])
        self._proposed = set(state["proposed"])
        self._pending = {int(trial): key for trial, key in state["pending"].items()}
