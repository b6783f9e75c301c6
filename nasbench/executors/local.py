"""The local executor: evaluate candidates in this process, one after another (the
embedded default, and what tests and benchmarks use)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from nasbench.driver import Evaluate, SearchOutcome, run_search
from nasbench.run_store import HistoryRecord, Store
from nasbench.strategies.base import Strategy
from nasbench.strategies.budget import Budget


@dataclass
class LocalExecutorConfig:
    """``executor=local`` has no settings."""

    name: str = "local"


class LocalExecutor:
    """``run_search`` behind the executor interface."""

    Config = LocalExecutorConfig

    def __init__(self, config: LocalExecutorConfig | None = None) -> None:
        self.config = config or LocalExecutorConfig()

    @classmethod
    def from_config(cls, settings: LocalExecutorConfig) -> "LocalExecutor":
        return cls(settings)

    def run(self, strategy: Strategy, evaluate: Evaluate, budget: Budget, store: Store, progress: bool = True,
            on_record: Callable[[HistoryRecord], None] | None = None) -> SearchOutcome:
        return run_search(strategy, evaluate, budget, store, progress=progress, on_record=on_record)
