"""Successive halving and Hyperband on the local executor (``executor.scheduler=halving``
or ``hyperband``), a ``nasbench.driver.Scheduler`` of the one search loop.

A bracket (``nasbench.executors.brackets``) asks its candidates one by one and trains
each for the first rung's epochs; once every candidate of a rung has its validation
accuracy, the best ``1/eta`` go on to the next rung and the others are finished: their
result is the last rung's, recorded like a trial stopped by ASHA on Ray (status ``ok``,
``epochs_run`` below the full count, ``settings["stopped_by"]``, and the message says at
which epoch). A candidate that fails at any rung is finished with its failure. The
strategy is told each candidate once, when it is finished. When a bracket is done the
next one starts.

NOTE: Li et al. (2018) leave open whether a promoted configuration resumes or restarts;
the proxy trainer keeps no checkpoint between calls, so a promoted candidate is trained
again from its seed for the next rung's epochs. Its learning-rate schedule spans the
full epoch count whatever the rung, so each rung's curve is a prefix of the full run's,
and its record charges the search every rung's training (``cost_seconds`` is their sum).

Resume: the scheduler's state (the bracket, its candidates and every rung's result so
far) is saved with the strategy's after each evaluation, so a search killed mid-bracket
continues the same bracket: what is due is recomputed from those results, and only the
candidates ``history.jsonl`` lacks are recorded. Should the state file be lost, the
rebuilt run starts a new bracket with the candidates left pending.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from nasbench.driver import Job, SearchRecorder
from nasbench.executors.brackets import Bracket, bracket, bracket_plan
from nasbench.result import EvalResult
from nasbench.run_store import HistoryRecord, RunStoreError, candidate_from_dict, candidate_to_dict
from nasbench.strategies.base import Candidate


@dataclass
class Standing:
    """Where a bracket is: its finished candidates (trial -> (rung, why)), the candidates
    that still need the rung ``rung`` trained, and whether that rung needs more candidates."""

    finished: dict[int, tuple[int, str]] = field(default_factory=dict)
    rung: int = 0
    todo: list[Candidate] = field(default_factory=list)
    needs_candidates: bool = False

    @property
    def done(self) -> bool:
        return not self.todo and not self.needs_candidates


class SuccessiveHalving:
    """Successive halving (``kind="halving"``) or Hyperband (``"hyperband"``) over a
    trainer's epochs, from ``min_epochs`` to ``max_epochs``; ``full_epochs`` is the
    trainer's own count (a run of that many needs no stop)."""

    def __init__(self, kind: str, eta: int, min_epochs: int, max_epochs: int, full_epochs: int) -> None:
        bracket_plan(kind, 0, min_epochs, max_epochs, eta)  # refuse an unknown kind now
        self.kind, self.eta, self.min_epochs, self.max_epochs = kind, eta, min_epochs, max_epochs
        self.full_epochs = full_epochs
        self.index = 0
        self.size = self._planned_size()
        self.members: list[Candidate] = []
        self.observations: dict[int, list[dict[str, Any]]] = {}
        self.finished: set[int] = set()

    # -- the bracket ---------------------------------------------------------------------
    def _planned_size(self) -> int:
        return bracket_plan(self.kind, self.index, self.min_epochs, self.max_epochs, self.eta)[1]

    def plan(self) -> Bracket:
        s, _ = bracket_plan(self.kind, self.index, self.min_epochs, self.max_epochs, self.eta)
        return bracket(s, self.size, self.min_epochs, self.max_epochs, self.eta)

    def _result_at(self, trial: int, epochs: int) -> dict[str, Any] | None:
        for observation in self.observations.get(trial, []):
            if observation["epochs"] == epochs:
                return observation["result"]
        return None

    def standing(self) -> Standing:
        """What the results so far decide (a pure function of the saved state)."""
        plan, standing, alive = self.plan(), Standing(), list(self.members)
        for rung, (size, epochs) in enumerate(zip(plan.sizes, plan.epochs)):
            results = {c.trial: self._result_at(c.trial, epochs) for c in alive}
            failed = [c for c in alive if results[c.trial] is not None and results[c.trial]["status"] != "ok"]
            standing.finished.update({c.trial: (rung, "failed") for c in failed})
            standing.rung = rung
            standing.todo = [c for c in alive if results[c.trial] is None]
            standing.needs_candidates = rung == 0 and len(self.members) < size
            if standing.todo or standing.needs_candidates:
                return standing
            ranked = sorted((c for c in alive if c not in failed),
                            key=lambda c: (-float(results[c.trial]["val_acc"] or 0.0), c.trial))
            if rung == plan.rungs - 1:
                standing.finished.update({c.trial: (rung, "completed") for c in ranked})
                return standing
            keep = plan.sizes[rung + 1]
            standing.finished.update({c.trial: (rung, "stopped") for c in ranked[keep:]})
            alive = ranked[:keep]
        return standing

    # -- the driver's Scheduler protocol ------------------------------------------------------
    def next_job(self, recorder: SearchRecorder) -> Job:
        """The next evaluation: a candidate of the current rung, a new candidate for the
        first rung (asked through ``recorder``), or the first of the next bracket."""
        while True:
            standing = self.standing()
            epochs = self.plan().epochs[standing.rung]
            if standing.todo:
                return self._job(standing.todo[0], epochs)
            if standing.needs_candidates:
                if self.members and recorder.spent(in_flight=len(self.holds())):
                    self.size = len(self.members)  # the trials budget is spoken for: a smaller bracket
                    continue
                candidate = recorder.ask()
                self.members.append(candidate)
                return self._job(candidate, epochs)
            self.index += 1
            self.size, self.members, self.observations = self._planned_size(), [], {}

    def _job(self, candidate: Candidate, epochs: int) -> Job:
        return Job(candidate, None if epochs >= self.full_epochs else epochs)

    def job_done(self, job: Job, record: HistoryRecord) -> list[HistoryRecord]:
        """Note ``record`` (one rung's evaluation); return the candidates finished now."""
        epochs = self.full_epochs if job.epochs is None else job.epochs
        self.observations.setdefault(job.candidate.trial, []).append(
            {"epochs": min(epochs, self.max_epochs), "result": record.result.to_dict(), "started": record.started,
             "finished": record.finished})
        return self.due()

    def due(self) -> list[HistoryRecord]:
        """The finished candidates not yet recorded, by trial."""
        standing, records = self.standing(), []
        by_trial = {c.trial: c for c in self.members}
        for trial in sorted(set(standing.finished) - self.finished):
            rung, why = standing.finished[trial]
            records.append(self._record(by_trial[trial], rung, why))
            self.finished.add(trial)
        return records

    def _record(self, candidate: Candidate, rung: int, why: str) -> HistoryRecord:
        observations = self.observations[candidate.trial]
        result = EvalResult.from_dict(dict(observations[-1]["result"]))
        result.cost_seconds = sum(float(o["result"]["cost_seconds"]) for o in observations)
        settings: dict[str, Any] = {"rungs": [{"epochs": o["epochs"], "val_acc": o["result"]["val_acc"]}
                                              for o in observations], "bracket": self.index}
        if why == "stopped":
            settings["stopped_by"] = self.kind
            result.message = (f"stopped early by {self.kind} after epoch {result.epochs_run} of "
                              f"{self.max_epochs} (rung {rung + 1} of {self.plan().rungs}, bracket {self.index})")
        elif why == "completed" and result.message.startswith("stopped by the progress callback"):
            result.message = ""  # max_epochs below the trainer's: the last rung is this search's full run
        result.settings = {**result.settings, **settings}
        return HistoryRecord(candidate, result, observations[0]["started"], time.time())

    def unrecorded_seconds(self) -> float:
        """What the evaluations of candidates not yet recorded cost (charged to the budget)."""
        return sum(float(observation["result"]["cost_seconds"])
                   for trial in self.holds() for observation in self.observations.get(trial, []))

    def holds(self) -> set[int]:
        """The trials of this bracket that are asked and not yet recorded."""
        return {c.trial for c in self.members} - self.finished

    # -- state -----------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "eta": self.eta, "min_epochs": self.min_epochs, "max_epochs": self.max_epochs,
                "index": self.index, "size": self.size, "members": [candidate_to_dict(c) for c in self.members],
                "observations": {trial: list(items) for trial, items in self.observations.items()}}

    def load_state_dict(self, state: dict[str, Any] | None, recorded: set[int]) -> None:
        """Continue from ``state`` (None: a new run, or a state lost and rebuilt); the
        trials in ``recorded`` are in ``history.jsonl`` already."""
        if state is None:
            return
        settings = (state.get("kind"), state.get("eta"), state.get("min_epochs"), state.get("max_epochs"))
        if settings != (self.kind, self.eta, self.min_epochs, self.max_epochs):
            raise RunStoreError(f"resume: the saved scheduler state is for {settings}, not "
                                f"{(self.kind, self.eta, self.min_epochs, self.max_epochs)}; was the config changed?")
        self.index, self.size = int(state["index"]), int(state["size"])
        self.members = [candidate_from_dict(c) for c in state["members"]]
        self.observations = {int(trial): list(items) for trial, items in state["observations"].items()}
        self.finished = {c.trial for c in self.members} & recorded
