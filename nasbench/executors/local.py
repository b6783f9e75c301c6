"""The local executor: evaluate candidates in this process, one after another (the
embedded default, and what tests and benchmarks use), each in full or, with
``scheduler=halving|hyperband``, by successive halving over the trainer's epochs
(``nasbench.executors.halving``; a promoted candidate continues its training when the
evaluator can, ``nasbench.executors.rung_states``)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

from nasbench.core.constraints import Constraints
from nasbench.run.search_loop import Evaluate, SearchOutcome, run_search
from nasbench.evaluators.base import full_run_epochs, takes_keyword
from nasbench.executors.brackets import KINDS, check_rung_settings
from nasbench.executors.halving import SuccessiveHalving
from nasbench.run.store import HistoryRecord, Store
from nasbench.strategies.base import Strategy
from nasbench.core.budget import Budget
from search_spaces.errors import NasError


class LocalExecutorError(NasError, ValueError):
    """A local executor setting that cannot work (a bad number, halving without epochs)."""


@dataclass
class LocalExecutorConfig:
    """``executor=local`` (``nasbench/conf/executor/local.yaml`` says what each setting does)."""

    name: str = "local"
    scheduler: Optional[str] = None  # null | halving | hyperband (synchronous; Ray's executor runs them asynchronously)
    eta: int = 3
    min_epochs: int = 1
    max_epochs: Optional[int] = None  # None: the trainer's epochs

    def __post_init__(self) -> None:
        if self.scheduler is not None and self.scheduler not in KINDS:
            raise LocalExecutorError(f"executor.scheduler: {self.scheduler!r} is not null or one of "
                                     f"{', '.join(KINDS)}")
        problem = check_rung_settings(self.eta, self.min_epochs)
        if problem:
            raise LocalExecutorError(problem)
        if self.max_epochs is not None and self.max_epochs < self.min_epochs:
            raise LocalExecutorError(f"executor.max_epochs: {self.max_epochs} must be >= executor.min_epochs "
                                     f"({self.min_epochs})")


def trainer_epochs(evaluate: Evaluate) -> int:
    """The epochs of ``evaluate``'s full run; refuses an evaluator that cannot be stopped
    between epochs (a table lookup)."""
    if not takes_keyword(evaluate, "progress"):
        raise LocalExecutorError("executor.scheduler stops candidates between epochs: it needs an evaluator "
                                 "that trains them epoch by epoch (evaluator=proxy)")
    return full_run_epochs(evaluate)


class LocalExecutor:
    """``run_search`` behind the executor interface."""

    Config = LocalExecutorConfig

    def __init__(self, config: LocalExecutorConfig | None = None) -> None:
        self.config = config or LocalExecutorConfig()

    @classmethod
    def from_config(cls, settings: LocalExecutorConfig) -> "LocalExecutor":
        return cls(settings)

    def scheduler(self, evaluate: Evaluate) -> SuccessiveHalving | None:
        """The successive-halving scheduler the settings ask for (None: every candidate in full)."""
        config = self.config
        if config.scheduler is None:
            return None
        full = trainer_epochs(evaluate)
        top = full if config.max_epochs is None else config.max_epochs
        if top > full:
            raise LocalExecutorError(f"executor.max_epochs: {top} is more than the trainer's epochs ({full})")
        if top < config.min_epochs:
            raise LocalExecutorError(f"executor.min_epochs: {config.min_epochs} is more than the {top} epochs of "
                                     f"a full run")
        return SuccessiveHalving(config.scheduler, config.eta, config.min_epochs, top, full,
                                 resume=takes_keyword(evaluate, "checkpoint", var_keyword=False))

    def check(self, strategy: Strategy, evaluate: Evaluate) -> None:
        """Refuse settings that cannot work with this evaluator (``LocalExecutorError``)."""
        del strategy  # every strategy runs locally
        self.scheduler(evaluate)

    def run(self, strategy: Strategy, evaluate: Evaluate, budget: Budget, store: Store, progress: bool = True,
            on_record: Callable[[HistoryRecord], None] | None = None,
            constraints: Constraints | None = None) -> SearchOutcome:
        return run_search(strategy, evaluate, budget, store, progress=progress, on_record=on_record,
                          scheduler=self.scheduler(evaluate), constraints=constraints)
