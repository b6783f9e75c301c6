"""Our ask/tell strategies seen through Ray Tune's ``Searcher`` interface.

``StrategySearcher`` lives in the driver process, next to Tune's trial controller: it
turns ``suggest(trial_id)`` into ``strategy.ask()`` and ``on_trial_complete`` into a line
of ``history.jsonl`` followed by ``strategy.tell``, and it keeps the run directory's
strategy state current after every ask and every tell (see ``ray_executor`` for why).

What a trial reports is ``nasbench.executors.trial.trial_payload``.
"""
from __future__ import annotations

import json
import time
from typing import Any

from ray.tune import Callback
from ray.tune.search import Searcher

from nasbench.run.search_loop import SearchRecorder
from nasbench.executors.trial import FINAL_KEY, METRIC, RESULT_KEY, STARTED_KEY, candidate_config
from nasbench.core.result import EvalResult
from nasbench.run.store import HistoryRecord, RunStoreError, state_bytes
from nasbench.core.candidate import Candidate


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
    """A nasbench ``Strategy`` as a Tune ``Searcher``: ``suggest`` asks and
    ``on_trial_complete`` records, both through the search loop's ``SearchRecorder``
    (the same bookkeeping as a local search, so the run directory is the same).
    ``scheduler_stopped``: ids of the trials that the scheduler (ASHA) stopped early,
    filled by the scheduler wrapper; ``scheduler_name`` labels them (``stopped_by``).
    """

    def __init__(self, recorder: SearchRecorder, max_concurrent: int, registry: TrialRegistry, max_failures: int,
                 scheduler_stopped: set[str] | None = None, max_epochs: int | None = None,
                 scheduler_name: str | None = None) -> None:
        super().__init__(metric=METRIC, mode="max")
        self.recorder = recorder
        self.max_concurrent = max_concurrent
        self.registry = registry
        self.max_failures = max_failures
        self.scheduler_stopped = scheduler_stopped if scheduler_stopped is not None else set()
        self.max_epochs = max_epochs
        self.scheduler_name = scheduler_name or "asha"
        self.fatal: BaseException | None = None
        self._live: dict[str, tuple[Candidate, float]] = {}  # Tune trial id -> (candidate, dispatched)

    # -- Tune's Searcher interface ----------------------------------------------------
    def set_search_properties(self, metric: str | None, mode: str | None, config: dict, **spec: Any) -> bool:
        return True  # the metric is ours (val_acc, max) and the space is the strategy's

    def set_max_concurrency(self, max_concurrent: int) -> bool:
        self.max_concurrent = max_concurrent
        return True

    def suggest(self, trial_id: str) -> dict[str, Any] | str | None:
        if self.fatal is not None or self.recorder.spent(in_flight=len(self._live)):
            return Searcher.FINISHED  # spent, or the trials in flight fill the budget
        if len(self._live) >= self.max_concurrent:
            return None
        try:
            candidate = self.recorder.ask()  # saved as pending before Tune may start it
        except Exception as exc:  # noqa: BLE001 - re-raised by the executor after Tune stops
            self.fatal = exc
            return Searcher.FINISHED
        self._live[trial_id] = (candidate, time.time())
        return candidate_config(candidate)

    def on_trial_complete(self, trial_id: str, result: dict | None = None, error: bool = False) -> None:
        if trial_id not in self._live:
            return
        candidate, dispatched = self._live.pop(trial_id)
        try:
            record = self._record_of(trial_id, candidate, dispatched, result, error)
            if record is None:  # stopped before it produced anything: not a result
                self.recorder.requeue(candidate)
                return
            self.recorder.record(record)
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
            evaluation.message = (f"stopped early by the {self.scheduler_name} scheduler after epoch "
                                  f"{evaluation.epochs_run}{total}")
            evaluation.settings = {**evaluation.settings, "stopped_by": self.scheduler_name}
        return HistoryRecord(candidate, evaluation, float(result.get(STARTED_KEY, dispatched)), now)

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
        """Tune's searcher checkpoint: the run directory's state format (data, not a pickle)."""
        with open(checkpoint_path, "wb") as stream:
            stream.write(state_bytes(self.recorder.snapshot()))
