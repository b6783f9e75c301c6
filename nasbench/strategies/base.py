"""The protocol every search strategy follows: ask, tell, and a resumable state.

A strategy proposes candidates with ``ask()`` and learns from ``tell(candidate, result)``.
Several candidates may be outstanding at once (asynchronous workers), results may arrive
in any order, and a result may be a failure (``status != "ok"``, ``val_acc`` None).

Each candidate's randomness derives from the search seed and its trial number
(``nasbench.core.candidate.derive_seed``), not from a generator that advances with every
call, so a search restored from ``state_dict`` proposes exactly what an uninterrupted one
would.
"""
from __future__ import annotations

from typing import Any, Protocol, Sequence, runtime_checkable

from nasbench.core.candidate import Candidate
from nasbench.core.constraints import RESULT_METRICS, is_infeasible, metric_value
from nasbench.core.result import EvalResult
from nasbench.tables.hardware import DEVICE_METRICS
from search_spaces.errors import NasError


class StrategyError(NasError, ValueError):
    """A strategy was misused: an unknown candidate, a state from another strategy, ..."""


class StateLostError(StrategyError):
    """A saved state the strategy cannot take up (its Optuna journal is damaged or gone),
    though the run's history can rebuild it by replay: the driver does so."""


def result_fitness(result: EvalResult) -> float | None:
    """The search signal of a result: its validation accuracy, or None for a failure or a
    result that breaks the search's constraints (``nasbench.core.constraints``): the death
    penalty (Coello Coello, "Theoretical and numerical constraint-handling techniques used
    with evolutionary algorithms: a survey", 2002), the one rule every strategy but
    Optuna's constrained samplers reads constraints by."""
    if not result.ok or result.val_acc is None or is_infeasible(result):
        return None
    return float(result.val_acc)


def objective_problem(objectives: Sequence[str]) -> str:
    """Why ``objectives`` are not result metrics (``""``: they are): a strategy of two or
    more objectives takes any number a result has, a HW-NAS-Bench device cost included."""
    known = (*RESULT_METRICS, *DEVICE_METRICS)
    unknown = [name for name in objectives if name not in known]
    if not objectives:
        return "objectives: none given"
    if unknown:
        return f"search.params.objectives: {unknown[0]!r} is not a metric; choose from {', '.join(known)}"
    return ""


def result_costs(result: EvalResult, objectives: Sequence[str]) -> list[float] | None:
    """``objectives`` of ``result`` as costs, lower is better (``val_acc`` negated); None
    for a failure, a result that breaks the search's constraints, or one lacking an objective."""
    if result_fitness(result) is None:
        return None
    values = [metric_value(result, name) for name in objectives]
    if any(value is None for value in values):
        return None
    return [-value if name == "val_acc" else value for name, value in zip(objectives, values)]


@runtime_checkable
class Strategy(Protocol):
    def ask(self) -> Candidate:
        """The next candidate to evaluate."""

    def tell(self, candidate: Candidate, result: EvalResult) -> None:
        """The result of an asked candidate (possibly a failure)."""

    def state_dict(self) -> dict[str, Any]:
        """A snapshot from which ``load_state_dict`` resumes exactly: plain data only (dicts,
        lists, tuples, numbers, strings, None, tensors), which ``torch.load(weights_only=True)``
        reads back; never a pickled object."""

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a snapshot taken by ``state_dict`` of the same strategy and seed."""


def check_state(state: dict[str, Any], strategy: str, seed: int) -> None:
    """Refuse a state saved by another strategy or under another seed."""
    if state.get("strategy") != strategy:
        raise StrategyError(f"state is for strategy {state.get('strategy')!r}, not {strategy!r}")
    if state.get("seed") != seed:
        raise StrategyError(f"state was saved with seed {state.get('seed')!r}, this {strategy} has seed {seed}")


def fresh_sample(space: Any, rng: Any, proposed: set[str], max_retries: int) -> tuple[Any, str]:
    """A random point of ``space`` and its key, drawn again (up to ``max_retries`` times)
    while its key is in ``proposed``; the last draw when every one was proposed before."""
    for _ in range(max_retries + 1):
        point = space.sample(rng)
        key = space.key(point)
        if key not in proposed:
            break
    return point, key


def pop_pending(pending: dict[int, Any], candidate: Candidate) -> Any:
    """Remove and return what was stored at ``ask`` for ``candidate``."""
    if candidate.trial not in pending:
        raise StrategyError(f"trial {candidate.trial} was not asked or was already told")
    return pending.pop(candidate.trial)
