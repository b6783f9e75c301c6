"""The sequential search loop: ask, evaluate, tell, until the budget is spent."""
from __future__ import annotations

from typing import Callable

from nasbench.result import EvalResult
from nasbench.strategies.base import Candidate, Strategy
from nasbench.strategies.budget import Budget


def run_strategy(
    strategy: Strategy,
    evaluate_fn: Callable[[Candidate], EvalResult],
    budget: Budget,
    on_result: Callable[[Candidate, EvalResult], None] | None = None,
) -> list[tuple[Candidate, EvalResult]]:
    """Run ``strategy`` one candidate at a time and return every ``(candidate, result)``.

    The budget is checked before each ask, so the last evaluation may overrun a seconds
    limit; its result still counts (it was paid for). A point proposed again is
    evaluated again and charged again, as in the NAS-Bench-201 protocol, where a repeated
    query costs its simulated training time. Exceptions from ``evaluate_fn`` propagate:
    turning them into failed results is the evaluator's or executor's job.
    """
    history: list[tuple[Candidate, EvalResult]] = []
    seconds_used = 0.0
    while not budget.spent(len(history), seconds_used):
        candidate = strategy.ask()
        result = evaluate_fn(candidate)
        strategy.tell(candidate, result)
        seconds_used += result.cost_seconds
        history.append((candidate, result))
        if on_result is not None:
            on_result(candidate, result)
    return history


def best_by_validation(history: list[tuple[Candidate, EvalResult]]) -> tuple[Candidate, EvalResult] | None:
    """The entry with the highest validation accuracy (the first on ties), or None."""
    finished = [entry for entry in history if entry[1].ok and entry[1].val_acc is not None]
    if not finished:
        return None
    return max(finished, key=lambda entry: entry[1].val_acc)
