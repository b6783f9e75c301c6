"""A search's starting points: cells a user already trusts, evaluated before the strategy's own.

``search.seed_points`` lists them in any form the resolver takes (a published cell, a DARTS
``Genotype(...)`` or NB201 string, an NB201 index, a file, a run directory, a point as
data). ``SeededStrategy`` hands them out (each point once) as trials ``0 .. k-1`` and then the wrapped
strategy's proposals as trials ``k, k+1, ...``. A strategy that can learn from a result it
did not propose has ``observe(point, key, result)`` (regularized evolution puts the seed
into its population, as warm-started evolution does); the others ignore the seeds'
results, which still count toward the budget and the best.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any, Sequence

from nasbench.core.result import EvalResult
from nasbench.core.candidate import Candidate, candidate_seed
from nasbench.strategies.base import Strategy, StrategyError, check_state, pop_pending
from search_spaces.spaces.base import Space

NAME = "seeded"


class SeededStrategy:
    """``inner``'s search, after the points of ``seed_points`` (members of ``space``)."""

    def __init__(self, inner: Strategy, space: Space, seed_points: Sequence[Any], seed: int = 0) -> None:
        bad = [index for index, point in enumerate(seed_points) if not space.contains(point)]
        if bad:
            raise StrategyError(f"search.seed_points[{bad[0]}]: not a point of the {space.name} space")
        self.inner = inner
        self.space = space
        self.seed = seed
        unique = {space.key(point): point for point in reversed(list(seed_points))}  # the first of each key
        self._keys = list(dict.fromkeys(space.key(point) for point in seed_points))
        self.points = [unique[key] for key in self._keys]
        self._next_seed = 0
        self._pending: dict[int, int] = {}  # our trial -> index of the seed point, or -1-inner trial

    def ask(self) -> Candidate:
        if self._next_seed < len(self.points):
            trial = self._next_seed
            self._next_seed += 1
            self._pending[trial] = trial
            return Candidate(trial, self.points[trial], self._keys[trial], candidate_seed(self.seed, trial))
        proposed = self.inner.ask()
        trial = proposed.trial + len(self.points)
        self._pending[trial] = -1 - proposed.trial
        return replace(proposed, trial=trial, seed=candidate_seed(self.seed, trial))

    def tell(self, candidate: Candidate, result: EvalResult) -> None:
        slot = pop_pending(self._pending, candidate)
        if slot >= 0:
            observe = getattr(self.inner, "observe", None)
            if observe is not None:
                observe(self.points[slot], self._keys[slot], result)
            return
        inner_trial = -1 - slot
        self.inner.tell(replace(candidate, trial=inner_trial, seed=candidate_seed(self.seed, inner_trial)), result)

    def report(self) -> dict[str, Any]:
        """What the wrapped strategy says of itself (``nasbench.run.report``), and the seeds."""
        return {"seed points": len(self.points), **getattr(self.inner, "report", dict)()}

    def state_dict(self) -> dict[str, Any]:
        return {
            "strategy": NAME,
            "seed": self.seed,
            "keys": list(self._keys),
            "next_seed": self._next_seed,
            "pending": dict(self._pending),
            "inner": self.inner.state_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        check_state(state, NAME, self.seed)
        if list(state["keys"]) != self._keys:
            raise StrategyError("state was saved with other search.seed_points")
        self.inner.load_state_dict(state["inner"])
        self._next_seed = int(state["next_seed"])
        self._pending = {int(trial): int(slot) for trial, slot in state["pending"].items()}
