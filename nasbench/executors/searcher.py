"""Our ask/tell strategies seen through Ray Tune's ``Searcher`` interface.

``StrategySearcher`` lives in the driver process, next to Tune's trial controller: it
turns ``suggest(trial_id)`` into ``strategy.ask()`` and ``on_trial_complete`` into a line
of ``history.jsonl`` followed by ``strategy.tell``, and it keeps the run directory's
strategy state current after every ask and every tell (see ``ray_executor`` for why).

What a trial reports is ``nasbench.executors.trial.trial_payload``.
"""
from __future__ import annotations

import json
import math
import pickle
import sys
import time
from typing import Any, Callable

from ray.tune import Callback
from ray.tune.search import Searcher
from tqdm import tqdm

from nasbench.driver import best_summary
from nasbench.executors.trial import FINAL_KEY, METRIC, RESULT_KEY, STARTED_KEY, candidate_config
from nasbench.result import EvalResult
from nasbench.run_store import BEST, HistoryRecord, RunStore, RunStoreError
from nasbench.strategies.base import Candidate, Strategy
from nasbench.strategies.budget import Budget


class TrialRegistry(Callback):
    """Keeps Tune's ``Trial`` objects by id, so that the searcher can read why a trial
    errored (Tune tells a searcher only ``error=True``) and which attempt it was on."""

    def __init__(self) -> None:
        self.trials: dict[str, Any] = {}

    def on_trial_start(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self.trials[trial.trial_id] = trial


def trial_error_message(trial: Any, max_failures: int) -> str:
    """A one-line reason for a trial that Tune gave up on (its worker died or raised
    outside the evaluation ``max_failures + 1`` times)."""
    text = ""
    path = getattr(trial, "error_file", None) if trial is not None else None
    if path:
        try:
            with open(path, encoding="utf-8") as stream:
                lines = [line.strip() for line in stream if line.strip()]
        except OSError:
            lines = []
        # The file holds "Failure # k (occurred at ...)" followed by the error's text;
        # the last failure's most telling line is its last non-traceback line.
        tail = lines[max((i for i, line in enumerate(lines) if line.startswith("Failure #")), default=-1) + 1:]
        candidates = [line for line in tail if not line.startswith(("File ", "Traceback", "^", "~"))]
        text = candidates[-1] if candidates else (tail[-1] if tail else "")
    attempts = max_failures + 1
    reason = f"the trial's worker failed {attempts} time(s) (executor.max_failures={max_failures})"
    return f"{reason}: {text}" if text else reason


class StrategySearcher(Searcher):
    """A nasbench ``Strategy`` as a Tune ``Searcher``; records every finished trial.

    ``history``: the records already in ``history.jsonl`` (told to the strategy);
    ``requeue``: candidates the strategy asked before a restart whose results never came,
    dispatched again before anything new is asked. ``scheduler_stopped``: ids of the
    trials that the scheduler (ASHA) stopped early, filled by the scheduler wrapper.
    """

    def __init__(self, strategy: Strategy, budget: Budget, store: RunStore, history: list[HistoryRecord],
                 requeue: list[Candidate], max_concurrent: int, registry: TrialRegistry, max_failures: int,
                 scheduler_stopped: set[str] | None = None, max_epochs: int | None = None,
                 progress: bool = False, on_record: Callable[[HistoryRecord], None] | None = None) -> None:
        super().__init__(metric=METRIC, mode="max")
        self.strategy = strategy
        self.budget = budget
        self.store = store
        self.history = history
        self.max_concurrent = max_concurrent
        self.registry = registry
        self.max_failures = max_failures
        self.scheduler_stopped = scheduler_stopped if scheduler_stopped is not None else set()
        self.max_epochs = max_epochs
        self.on_record = on_record
        self.seconds_used = sum(r.result.cost_seconds for r in history)
        self.best = max((r for r in history if r.result.ok and r.result.val_acc is not None),
                        key=lambda r: r.result.val_acc, default=None)
        self.fatal: BaseException | None = None
        self._requeue = sorted(requeue, key=lambda c: c.trial)
        self._pending: dict[int, Candidate] = {c.trial: c for c in requeue}  # asked, not told
        self._live: dict[str, tuple[Candidate, float]] = {}  # Tune trial id -> (candidate, dispatched)
        self._bar = tqdm(total=budget.trials, initial=len(history), disable=not progress, file=sys.stderr,
                         unit="trial", dynamic_ncols=True, desc="search (ray)")

    # -- what the run directory keeps -------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        """The strategy state after the last ask or tell, with what it has seen of the
        history (a prefix: rows are appended in tell order) and what it asked but was not
        told; a superset of the local driver's ``{"strategy", "told"}``."""
        return {"strategy": self.strategy.state_dict(), "told": len(self.history),
                "pending": dict(self._pending), "executor": "ray"}

    def _save(self) -> None:
        self.store.save_state(self.snapshot())

    # -- Tune's Searcher interface ----------------------------------------------------
    def set_search_properties(self, metric: str | None, mode: str | None, config: dict, **spec: Any) -> bool:
        return True  # the metric is ours (val_acc, max) and the space is the strategy's

    def set_max_concurrency(self, max_concurrent: int) -> bool:
        self.max_concurrent = max_concurrent
        return True

    def budget_spent(self) -> bool:
        return self.budget.spent(len(self.history), self.seconds_used)

    def suggest(self, trial_id: str) -> dict[str, Any] | str | None:
        if self.fatal is not None or self.budget_spent():
            return Searcher.FINISHED
        if self.budget.trials is not None and len(self.history) + len(self._live) >= self.budget.trials:
            return Searcher.FINISHED  # the trials in flight fill the budget
        if len(self._live) >= self.max_concurrent:
            return None
        if self._requeue:
            candidate = self._requeue.pop(0)
        else:
            try:
                candidate = self.strategy.ask()
            except Exception as exc:  # noqa: BLE001 - re-raised by the executor after Tune stops
                self.fatal = exc
                return Searcher.FINISHED
            self._pending[candidate.trial] = candidate
            self._save()  # before Tune may start it: every dispatched candidate is in the state
        self._live[trial_id] = (candidate, time.time())
        return candidate_config(candidate)

    def on_trial_complete(self, trial_id: str, result: dict | None = None, error: bool = False) -> None:
        if trial_id not in self._live:
            return
        candidate, dispatched = self._live.pop(trial_id)
        try:
            record = self._record_of(trial_id, candidate, dispatched, result, error)
            if record is None:  # stopped before it produced anything: not a result
                self._requeue.append(candidate)
                self._requeue.sort(key=lambda c: c.trial)
                return
            self._record(record)
        except Exception as exc:  # noqa: BLE001 - Tune would swallow it; the executor re-raises
            self.fatal = exc

    def _record_of(self, trial_id: str, candidate: Candidate, dispatched: float, result: dict | None,
                   error: bool) -> HistoryRecord | None:
        now = time.time()
        if error:
            trial = self.registry.trials.get(trial_id)
            message = trial_error_message(trial, self.max_failures)
            return HistoryRecord(candidate, EvalResult(status="error", message=message, seed=candidate.seed),
                                 dispatched, now)
        if not result or RESULT_KEY not in result:
            return None
        evaluation = EvalResult.from_dict(json.loads(result[RESULT_KEY]))
        if not result.get(FINAL_KEY, False):
            if trial_id not in self.scheduler_stopped:
                return None  # the experiment stopped mid-trial (Ctrl-C): evaluate it again later
            total = f" of {self.max_epochs}" if self.max_epochs else ""
            evaluation.message = f"stopped early by the ASHA scheduler after epoch {evaluation.epochs_run}{total}"
            evaluation.settings = {**evaluation.settings, "stopped_by": "asha"}
        return HistoryRecord(candidate, evaluation, float(result.get(STARTED_KEY, dispatched)), now)

    def _record(self, record: HistoryRecord) -> None:
        """Append, tell, save: the local driver's order, so a kill at any point loses
        nothing (the state's ``told`` says which history rows the strategy has seen)."""
        self.store.append(record)
        self.history.append(record)
        self.strategy.tell(record.candidate, record.result)
        del self._pending[record.candidate.trial]
        self._save()
        result = record.result
        self.seconds_used += result.cost_seconds
        if result.ok and result.val_acc is not None and math.isfinite(result.val_acc) and (
                self.best is None or result.val_acc > self.best.result.val_acc):
            self.best = record
            self.store.write_json(BEST, best_summary(record))
        if self.on_record is not None:
            self.on_record(record)
        self._bar.update(1)
        self._bar.set_postfix(best=f"{self.best.result.val_acc:.4f}" if self.best else "-",
                              left=f"{self.budget.fraction_left(len(self.history), self.seconds_used):.0%}",
                              status=result.status)

    def unfinished(self) -> list[Candidate]:
        """Asked candidates with no result (in flight when Tune stopped, or requeued)."""
        return sorted(self._pending.values(), key=lambda c: c.trial)

    def close(self) -> None:
        self._bar.close()

    # -- Tune's experiment checkpoints (our own resume reads the run directory) --------
    def __getstate__(self) -> dict[str, Any]:
        # Tune pickles its whole config into the experiment folder (tuner.pkl, for
        # ``Tuner.restore``). nasbench resumes from history.jsonl instead, so no live part
        # (progress bar, Optuna storage handles, Tune's trials) is pickled, and unpickling
        # says how to resume.
        return {"resume_with": "python -m nasbench.search resume=RUN_DIR"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        raise RunStoreError("Tune's Tuner.restore cannot continue a nasbench search; "
                            "run python -m nasbench.search resume=RUN_DIR")

    def save(self, checkpoint_path: str) -> None:
        with open(checkpoint_path, "wb") as stream:
            pickle.dump(self.snapshot(), stream)
