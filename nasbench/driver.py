"""The resumable search driver: ask, evaluate, record, tell, save, until the budget is spent.

The order of the steps is what makes a killed search lose nothing: a result is appended
to ``history.jsonl`` (and synced) before the strategy is told, and the strategy's state is
saved after. On resume, results in the history that the saved state has not seen are
replayed into the strategy (it proposes the same trials again, deterministically), so no
finished candidate is evaluated twice and none is lost.
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from typing import Any, Callable

from tqdm import tqdm

from nasbench.result import EvalResult, safe_evaluate
from nasbench.run_store import HistoryRecord, RunStore, RunStoreError
from nasbench.strategies.base import Candidate, Strategy
from nasbench.strategies.budget import Budget

Evaluate = Callable[[Candidate], EvalResult]


@dataclass
class SearchOutcome:
    history: list[HistoryRecord]
    best: HistoryRecord | None
    interrupted: bool = False


def best_record(history: list[HistoryRecord]) -> HistoryRecord | None:
    """The finished candidate with the highest validation accuracy (first on ties)."""
    finished = [r for r in history if r.result.ok and r.result.val_acc is not None]
    return max(finished, key=lambda r: r.result.val_acc) if finished else None


def _replay(strategy: Strategy, history: list[HistoryRecord], told: int) -> None:
    """Tell the strategy the recorded results its saved state has not seen yet."""
    for record in history[told:]:
        candidate = strategy.ask()
        if candidate.trial != record.candidate.trial or candidate.key != record.candidate.key:
            raise RunStoreError(
                f"resume: trial {record.candidate.trial} in history.jsonl is {record.candidate.key}, but the "
                f"strategy proposes trial {candidate.trial} = {candidate.key}; was the config changed?")
        strategy.tell(candidate, record.result)


def run_search(strategy: Strategy, evaluate: Evaluate, budget: Budget, store: RunStore,
               progress: bool = True, on_record: Callable[[HistoryRecord], None] | None = None) -> SearchOutcome:
    """Search until the budget is spent, resuming from ``store`` if it holds a run."""
    store.repair_history()
    history = store.history()
    saved = store.load_state()
    if saved is not None:
        strategy.load_state_dict(saved["strategy"])
        told = int(saved["told"])
    else:
        told = 0
    if told > len(history):
        raise RunStoreError(f"resume: the saved state has seen {told} results but history.jsonl holds {len(history)}")
    _replay(strategy, history, told)
    if len(history) > told:
        store.save_state({"strategy": strategy.state_dict(), "told": len(history)})
    seconds_used = sum(r.result.cost_seconds for r in history)
    best = best_record(history)
    bar = tqdm(total=budget.trials, initial=len(history), disable=not progress, file=sys.stderr,
               unit="trial", dynamic_ncols=True, desc="search")
    interrupted = False
    try:
        while not budget.spent(len(history), seconds_used):
            candidate = strategy.ask()
            started = time.time()
            result = safe_evaluate(evaluate, candidate)
            record = HistoryRecord(candidate, result, started, time.time())
            store.append(record)
            strategy.tell(candidate, result)
            history.append(record)
            store.save_state({"strategy": strategy.state_dict(), "told": len(history)})
            seconds_used += result.cost_seconds
            if result.ok and result.val_acc is not None and (best is None or result.val_acc > best.result.val_acc):
                best = record
                store.write_json("best.json", best_summary(best))
            if on_record is not None:
                on_record(record)
            bar.update(1)
            bar.set_postfix(best=f"{best.result.val_acc:.4f}" if best else "-",
                            left=f"{budget.fraction_left(len(history), seconds_used):.0%}", status=result.status)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        bar.close()
    return SearchOutcome(history, best, interrupted)


def best_summary(record: HistoryRecord) -> dict[str, Any]:
    """What ``best.json`` holds: the point, its key and trial, and its metrics."""
    return {"trial": record.candidate.trial, "key": record.candidate.key, "point": record.candidate.point,
            "seed": record.candidate.seed, "result": record.result.to_dict()}
