"""The one search loop: ask, evaluate, record, tell, save, until the budget is spent.

``SearchRecorder`` is the bookkeeping every executor shares: it asks the strategy (the
candidates of a stopped run first), and records each result in the order that makes a
killed search lose nothing: the candidate is saved as pending before it is evaluated,
its result is appended to ``history.jsonl`` (and synced) before the strategy is told,
and the strategy's state is saved after. ``restore_run`` brings a fresh strategy up to
date from a run directory; ``run_search`` is the loop of a local search (the Ray
executor drives the same recorder from Tune's callbacks). With a ``MemoryStore`` the
same loop runs benchmarks and tests without touching the disk.

A ``Scheduler`` (successive halving, ``nasbench.executors.halving``) may stand between
the loop and the recorder: it hands the loop each evaluation to run (a candidate and how
many epochs to train it), is shown each evaluation's result, and returns the candidates
it has finished, which the loop records. Its state is saved with the strategy's. A job
may carry a ``checkpoint`` (a ``TrainingCheckpoint``), which the loop hands to an
evaluator that takes one, so that a promoted candidate continues its training.
"""
from __future__ import annotations

import logging
import math
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

from tqdm import tqdm

from nasbench.core.result import EvalResult, safe_evaluate
from nasbench.core.constraints import Constraints
from nasbench.run.best import best_record, counts_as_best, write_best
from nasbench.run.store import HISTORY, STATE, HistoryRecord, MemoryStore, RunStoreError, StateFileError, Store
from nasbench.core.candidate import Candidate
from nasbench.strategies.base import StateLostError, Strategy
from nasbench.core.budget import Budget

Evaluate = Callable[[Candidate], EvalResult]
LOG = logging.getLogger("nasbench.search")  # RUN_DIR/search.log under the CLI (Hydra's job log)


@dataclass
class SearchOutcome:
    """What a search leaves: every finished candidate in the order results arrived, the
    best by validation accuracy (or the search's own answer, ``answer`` saying which),
    and whether it stopped before its budget was spent."""

    history: list[HistoryRecord]
    best: HistoryRecord | None
    interrupted: bool = False
    stopped: str = ""  # why it stopped before its budget (too many failures in a row), else ""
    answer: str = ""  # what ``best`` is when not the best by val_acc ("the last derived cell"), else ""

    @property
    def all_failed(self) -> bool:
        """Whether candidates were evaluated and none finished ok."""
        return bool(self.history) and not any(record.result.ok for record in self.history)


@dataclass
class RestoredRun:
    """A run directory read back: its history (told to the strategy), the candidates
    the strategy asked whose results never came, to evaluate again first, and the saved
    state of the search's scheduler (None: none saved)."""

    history: list[HistoryRecord] = field(default_factory=list)
    pending: list[Candidate] = field(default_factory=list)
    scheduler: dict[str, Any] | None = None


@dataclass(frozen=True)
class Job:
    """One evaluation the loop runs: ``candidate`` trained for ``epochs`` epochs and
    stopped there (None: the evaluator's full run)."""

    candidate: Candidate
    epochs: int | None = None
    checkpoint: Any = field(default=None, compare=False)  # a TrainingCheckpoint: continue, and keep the stop's state


class Scheduler(Protocol):
    """Decides what the loop evaluates next and when a candidate is finished (successive
    halving: several candidates per rung, each trained for the rung's epochs)."""

    def next_job(self, recorder: "SearchRecorder") -> Job:
        """The next evaluation (new candidates are asked through ``recorder.ask``)."""

    def job_done(self, job: Job, record: HistoryRecord) -> list[HistoryRecord]:
        """Note one evaluation; return the candidates it has finished (to record)."""

    def due(self) -> list[HistoryRecord]:
        """Finished candidates not yet recorded (after ``load_state_dict``)."""

    def holds(self) -> set[int]:
        """Trials asked and not yet finished, which only the scheduler may hand out."""

    def unrecorded_seconds(self) -> float:
        """What the evaluations of its unfinished candidates cost so far."""

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any] | None, recorded: set[int], store: Store | None = None) -> None:
        """Continue from a saved state; ``recorded``: the trials in the history; ``store``:
        the run's (where the scheduler may keep files of its own)."""


MIN_FAILURE_SECONDS = 1e-3  # what a failure costs at least, so that a seconds budget always ends


def _failures_at_the_end(history: list[HistoryRecord]) -> int:
    count = 0
    for record in reversed(history):
        if record.result.ok:
            break
        count += 1
    return count


def restore_run(strategy: Strategy, store: Store) -> RestoredRun:
    """Bring ``strategy`` up to date with the run in ``store`` (nothing for a new run).

    The saved state has seen the first ``told`` history rows. Rows after those were
    appended by a process killed before it saved: each is told now, and each must be one
    of the state's ``pending`` candidates (a candidate is saved as pending before it is
    evaluated).

    A missing or damaged state file (truncated, foreign, a crafted pickle: it is read as
    data only) is rebuilt by replaying the whole history into the fresh strategy
    (``replay_history``), said in one line on stderr.
    """
    store.repair_history()
    history = store.history()
    try:
        saved = store.load_state()
    except StateFileError as exc:
        return _rebuilt(strategy, history, str(exc))
    if saved is None:
        return _rebuilt(strategy, history, f"{STATE} missing") if history else RestoredRun()
    try:
        strategy.load_state_dict(saved["strategy"])
    except StateLostError as exc:
        return _rebuilt(strategy, history, str(exc))
    told = int(saved["told"])
    if told > len(history):
        raise RunStoreError(f"resume: the saved state has seen {told} results but history.jsonl holds {len(history)}")
    pending = dict(saved.get("pending") or {})
    for record in history[told:]:
        candidate = pending.pop(record.candidate.trial, None)
        if candidate is None:
            raise RunStoreError(f"resume: trial {record.candidate.trial} of history.jsonl is not a candidate the "
                                f"saved strategy state was waiting for; was the config changed?")
        _check_same(record, candidate)
        strategy.tell(candidate, record.result)
    return RestoredRun(history, sorted(pending.values(), key=lambda c: c.trial), saved.get("scheduler"))


def _rebuilt(strategy: Strategy, history: list[HistoryRecord], reason: str) -> RestoredRun:
    pending = replay_history(strategy, history)
    print(f"resume: {reason}; rebuilt from {HISTORY} ({len(history)} results)", file=sys.stderr)
    return RestoredRun(history, pending)


def replay_history(strategy: Strategy, history: list[HistoryRecord]) -> list[Candidate]:
    """Tell a fresh ``strategy`` every row of ``history`` by asking again; return the
    candidates asked on the way whose results never came (to evaluate first).

    Asks go in trial order. Before a row is told, its trial and every trial before it are
    asked, and so is each next trial whose evaluation started before the row finished
    (it must have been asked before the row was told: asynchronous workers). That is
    the order of the search for one-at-a-time search and for every trial in flight whose
    evaluation had begun; a strategy whose proposal depended on an order the timestamps
    cannot show (a trial queued a while before it started) is caught by the key check.
    """
    started = {record.candidate.trial: record.started for record in history}
    asked: dict[int, Candidate] = {}
    next_trial = 0
    for record in history:
        trial = record.candidate.trial
        while next_trial <= trial or started.get(next_trial, math.inf) < record.finished:
            candidate = strategy.ask()
            asked[candidate.trial] = candidate
            next_trial = candidate.trial + 1
        candidate = asked.pop(trial, None)
        if candidate is None:
            raise RunStoreError(f"resume: trial {trial} appears twice in {HISTORY}")
        _check_same(record, candidate)
        strategy.tell(candidate, record.result)
    return sorted(asked.values(), key=lambda c: c.trial)


def _check_same(record: HistoryRecord, candidate: Candidate) -> None:
    if candidate.trial != record.candidate.trial or candidate.key != record.candidate.key:
        raise RunStoreError(
            f"resume: trial {record.candidate.trial} in history.jsonl is {record.candidate.key}, but the "
            f"strategy proposes trial {candidate.trial} = {candidate.key}; was the config changed?")


class SearchRecorder:
    """The bookkeeping of one search over ``store``, shared by every executor."""

    def __init__(self, strategy: Strategy, budget: Budget, store: Store, progress: bool = False,
                 on_record: Callable[[HistoryRecord], None] | None = None, label: str = "search",
                 scheduler: Scheduler | None = None, constraints: Constraints | None = None) -> None:
        self.strategy = strategy
        self.constraints = constraints or Constraints()
        self.budget = budget
        self.store = store
        self.on_record = on_record
        self.scheduler = scheduler
        restored = restore_run(strategy, store)
        self.history = restored.history
        self._requeue = list(restored.pending)
        self._pending: dict[int, Candidate] = {c.trial: c for c in restored.pending}  # asked, not told
        if scheduler is not None:
            scheduler.load_state_dict(restored.scheduler, {r.candidate.trial for r in self.history}, store)
            self._requeue = [c for c in self._requeue if c.trial not in scheduler.holds()]
        self.seconds_used = sum(r.result.cost_seconds for r in self.history)
        self.failures_in_a_row = _failures_at_the_end(self.history)
        self.best = best_record(self.history)
        self._bar = tqdm(total=budget.trials, initial=len(self.history), disable=not progress, file=sys.stderr,
                         unit="trial", dynamic_ncols=True, desc=label)
        for record in scheduler.due() if scheduler is not None else []:  # finished before a kill, not recorded
            self.record(record)
        self._save()

    def spent(self, in_flight: int = 0) -> bool:
        """Whether no further evaluation may start (``in_flight`` count toward ``trials``)."""
        seconds = self.seconds_used + (self.scheduler.unrecorded_seconds() if self.scheduler is not None else 0.0)
        if self.budget.spent(len(self.history), seconds) or self.stopped():
            return True
        return self.budget.trials is not None and len(self.history) + in_flight >= self.budget.trials

    def ask(self) -> Candidate:
        """The next candidate: one a stopped run left unfinished, else a new ask (saved as
        pending before anyone evaluates it)."""
        if self._requeue:
            return self._requeue.pop(0)
        candidate = self.strategy.ask()
        self._pending[candidate.trial] = candidate
        self._save()
        return candidate

    def next_job(self) -> Job:
        """The next evaluation: the scheduler's, else the next candidate's full run."""
        return self.scheduler.next_job(self) if self.scheduler is not None else Job(self.ask())

    def job_done(self, job: Job, record: HistoryRecord) -> None:
        """Record what ``job``'s evaluation finished (with a scheduler, maybe nothing yet)."""
        if self.scheduler is None:
            self.record(record)
            return
        for finished in self.scheduler.job_done(job, record):
            self.record(finished)
        self._save()

    def requeue(self, candidate: Candidate) -> None:
        """Evaluate ``candidate`` again later (it was stopped before it produced a result)."""
        self._requeue.append(candidate)
        self._requeue.sort(key=lambda c: c.trial)

    def stopped(self) -> str:
        """Why the search must stop before its budget: too many failures in a row."""
        limit = self.budget.max_consecutive_failures
        if limit is None or self.failures_in_a_row < limit:
            return ""
        last = self.history[-1].result
        return f"{self.failures_in_a_row} candidates in a row failed; the last: {last.status}: {last.message}"

    def record(self, record: HistoryRecord) -> None:
        """Append, tell, save; then the best, the callback and the progress bar. A failure
        is charged at least its wall time toward ``budget.seconds``."""
        if not record.result.ok:
            wall = max(record.finished - record.started, MIN_FAILURE_SECONDS)
            record.result.cost_seconds = max(record.result.cost_seconds, wall)
            self.failures_in_a_row += 1
        else:
            self.failures_in_a_row = 0
        if self.constraints and record.result.ok:
            self.constraints.annotate(record.result)  # the verdict lands in the history with the result
        self.store.append(record)
        self.history.append(record)
        self.strategy.tell(record.candidate, record.result)
        self._pending.pop(record.candidate.trial, None)
        self._save()
        result = record.result
        self.seconds_used += result.cost_seconds
        if counts_as_best(result) and (self.best is None or result.val_acc > self.best.result.val_acc):
            self.best = record
            write_best(self.store, record)
        LOG.info("trial %d %s val_acc=%s cost=%.3fs key=%s%s", record.candidate.trial, result.status,
                 "-" if result.val_acc is None else f"{result.val_acc:.4f}", result.cost_seconds,
                 record.candidate.key, f" ({result.message})" if result.message else "")
        if self.stopped():
            LOG.warning("stopping: %s", self.stopped())
        if self.on_record is not None:
            self.on_record(record)
        self._bar.update(1)
        self._bar.set_postfix(best=f"{self.best.result.val_acc:.4f}" if self.best else "-",
                              left=f"{self.budget.fraction_left(len(self.history), self.seconds_used):.0%}",
                              status=result.status)

    def unfinished(self) -> list[Candidate]:
        """Asked candidates with no result yet."""
        return sorted(self._pending.values(), key=lambda c: c.trial)

    def snapshot(self) -> dict[str, Any]:
        """The strategy state, how many history rows it has seen (a prefix: rows are
        appended in tell order) and what it asked but was not told."""
        snapshot = {"strategy": self.strategy.state_dict(), "told": len(self.history), "pending": dict(self._pending)}
        if self.scheduler is not None:
            snapshot["scheduler"] = self.scheduler.state_dict()
        return snapshot

    def _save(self) -> None:
        if self.store.keeps_state:
            self.store.save_state(self.snapshot())

    def outcome(self, interrupted: bool) -> SearchOutcome:
        return SearchOutcome(self.history, self.best, interrupted, self.stopped())

    def close(self) -> None:
        self._bar.close()


def run_search(strategy: Strategy, evaluate: Evaluate, budget: Budget, store: Store | None = None,
               progress: bool = True, on_record: Callable[[HistoryRecord], None] | None = None,
               scheduler: Scheduler | None = None, constraints: Constraints | None = None) -> SearchOutcome:
    """Search one evaluation at a time until the budget is spent, resuming from ``store``
    if it holds a run (``None``: in memory, for benchmarks and tests). Without a
    ``scheduler`` each candidate is evaluated once, in full.

    The budget is checked before each evaluation, so the last one may overrun a seconds
    limit; its result counts (it was paid for). A point proposed again is evaluated and
    charged again, as in the NAS-Bench-201 protocol.
    """
    recorder = SearchRecorder(strategy, budget, MemoryStore() if store is None else store, progress, on_record,
                              scheduler=scheduler, constraints=constraints)
    interrupted = False
    try:
        while not recorder.spent():
            job = recorder.next_job()
            started = time.time()
            result = safe_evaluate(_job_evaluation(evaluate, job.epochs, job.checkpoint), job.candidate)
            recorder.job_done(job, HistoryRecord(job.candidate, result, started, time.time()))
    except KeyboardInterrupt:
        interrupted = True
    finally:
        recorder.close()
    return recorder.outcome(interrupted)


def _job_evaluation(evaluate: Evaluate, epochs: int | None, checkpoint: Any = None) -> Evaluate:
    """``evaluate``, or with ``epochs`` one that stops training after that many (through
    the evaluator's per-epoch ``progress`` callback, which returns False to stop); with
    ``checkpoint``, passed on (only to an evaluator that takes one)."""
    keywords: dict[str, Any] = {} if checkpoint is None else {"checkpoint": checkpoint}
    if epochs is not None:
        keywords["progress"] = lambda epoch, *_: epoch < epochs
    if not keywords:
        return evaluate
    return lambda candidate: evaluate(candidate, **keywords)  # type: ignore[call-arg]
