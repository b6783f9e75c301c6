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

from typing import Any, Protocol, runtime_checkable

from nasbench.core.candidate import Candidate
from nasbench.core.constraints import is_infeasible
from nasbench.core.result import EvalResult
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
