"""A search budget: a number of evaluations, simulated or wall seconds, or both."""
from __future__ import annotations

from dataclasses import dataclass

from search_spaces.errors import NasError


class BudgetError(NasError, ValueError):
    """A budget with no limit or a non-positive one."""


@dataclass(frozen=True)
class Budget:
    """Stop after ``trials`` evaluations or ``seconds`` of evaluation cost, whichever first.

    ``seconds`` is compared with the sum of ``EvalResult.cost_seconds``: the simulated
    training time for a table lookup (NAS-Bench-201's 12,000 s protocol), wall time for
    a real trainer; a failed evaluation is charged at least its wall time. A search also
    stops after ``max_consecutive_failures`` failures in a row (``None``: never), so that
    a cause that fails every candidate (no data, no table) ends it.
    """

    trials: int | None = None
    seconds: float | None = None
    max_consecutive_failures: int | None = 20

    def __post_init__(self) -> None:
        if self.trials is None and self.seconds is None:
            raise BudgetError("budget needs trials or seconds (or both)")
        if self.trials is not None and self.trials < 1:
            raise BudgetError(f"budget trials: {self.trials} must be >= 1")
        if self.max_consecutive_failures is not None and self.max_consecutive_failures < 1:
            raise BudgetError(f"budget max_consecutive_failures: {self.max_consecutive_failures} must be >= 1")
        if self.seconds is not None and not self.seconds > 0:
            raise BudgetError(f"budget seconds: {self.seconds} must be > 0")

    def spent(self, trials_done: int, seconds_used: float) -> bool:
        """Whether no further evaluation may start."""
        return (self.trials is not None and trials_done >= self.trials) or (
            self.seconds is not None and seconds_used >= self.seconds
        )

    def fraction_left(self, trials_done: int, seconds_used: float) -> float:
        """The smaller of the fractions left of each limit, in [0, 1] (for progress bars)."""
        fractions = []
        if self.trials is not None:
            fractions.append(1.0 - trials_done / self.trials)
        if self.seconds is not None:
            fractions.append(1.0 - seconds_used / self.seconds)
        return min(1.0, max(0.0, min(fractions)))
