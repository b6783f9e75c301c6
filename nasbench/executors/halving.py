"""Successive halving and Hyperband on the local executor (``executor.scheduler=halving``
or ``hyperband``), a ``nasbench.run.search_loop.Scheduler`` of the one search loop.

A bracket (``nasbench.executors.brackets``) asks its candidates one by one and trains
each for the first rung's epochs; once every candidate of a rung has its validation
accuracy, the best ``1/eta`` go on to the next rung and the others are finished: their
result is the last rung's, recorded like a trial stopped by ASHA on Ray (status ``ok``,
``epochs_run`` below the full count, ``settings["stopped_by"]``, and the message says at
which epoch). A candidate that fails at any rung is finished with its failure. The
strategy is told each candidate once, when it is finished. When a bracket is done the
next one starts.

Li et al. (2018) leave open whether a promoted configuration resumes or restarts. With an
evaluator that can continue a training (one taking a ``checkpoint``, as the proxy
evaluator does; ``nasbench.evaluators.base.takes_keyword`` asks) a promoted
candidate continues: the rung that stops it saves its training state, and the next rung
loads it and trains only the missing epochs, so a candidate reaching 9 epochs through
rungs of 1, 3 and 9 trains 9 epochs, not 13, and its result equals an uninterrupted run
of 9 (bit for bit on the CPU). The states live in ``RUN_DIR/halving/`` (in memory
without a run directory) and are removed when the candidate is finished; a missing or
unreadable one is said in one log line and the candidate is trained from its seed.
Each rung's ``cost_seconds`` is what that call cost (loading the state, the new epochs,
the latency measurement if any), and the candidate's record charges their sum; its
``settings["rungs"]`` say at which epoch each rung began (``resumed_from``). Any other
evaluator (a table, a user's callable that takes ``progress`` only) is trained again
from its seed for each rung, its learning-rate schedule spanning the full epoch count
whatever the rung, so that each rung's curve is a prefix of the full run's; its record
then charges every rung's training.

Resume: the scheduler's state (the bracket, its candidates and every rung's result so
far) is saved with the strategy's after each evaluation, so a search killed mid-bracket
continues the same bracket: what is due is recomputed from those results, and only the
candidates ``history.jsonl`` lacks are recorded; a promoted candidate still continues
from the training state its last rung left in ``RUN_DIR/halving/``. Should the state
file be lost, the rebuilt run starts a new bracket with the candidates left pending
(their training states are removed).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from nasbench.run.search_loop import Job, SearchRecorder
from nasbench.executors.brackets import Bracket, bracket, bracket_plan
from nasbench.executors.rung_states import MemoryRungStates, RungCheckpoint, RungStates, rung_states
from nasbench.core.result import EvalResult
from nasbench.run.store import HistoryRecord, RunStoreError, candidate_from_dict, candidate_to_dict
from nasbench.core.candidate import Candidate


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
    trainer's own count (a run of that many needs no stop). ``resume``: the evaluator
    continues a promoted candidate's training from the state its last rung left."""

    def __init__(self, kind: str, eta: int, min_epochs: int, max_epochs: int, full_epochs: int,
                 resume: bool = False) -> None:
        bracket_plan(kind, 0, min_epochs, max_epochs, eta)  # refuse an unknown kind now
        self.kind, self.eta, self.min_epochs, self.max_epochs = kind, eta, min_epochs, max_epochs
        self.full_epochs = full_epochs
        self.index = 0
        self.size = self._planned_size()
        self.members: list[Candidate] = []
        self.observations: dict[int, list[dict[str, Any]]] = {}
        self.finished: set[int] = set()
        self.resume = resume
        self.states: RungStates = MemoryRungStates()

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
            last = standing.rung == self.plan().rungs - 1
            if standing.todo:
                return self._job(standing.todo[0], epochs, last)
            if standing.needs_candidates:
                if self.members and recorder.spent(in_flight=len(self.holds())):
                    self.size = len(self.members)  # the trials budget is spoken for: a smaller bracket
                    continue
                candidate = recorder.ask()
                self.members.append(candidate)
                return self._job(candidate, epochs, last)
            self.index += 1
            self.size, self.members, self.observations = self._planned_size(), [], {}

    def _job(self, candidate: Candidate, epochs: int, last: bool) -> Job:
        checkpoint = None
        if self.resume:
            trained = [o["epochs"] for o in self.observations.get(candidate.trial, [])
                       if o["epochs"] < epochs and o["result"]["status"] == "ok"]
            checkpoint = RungCheckpoint(self.states, candidate.trial, max(trained, default=0), keep=not last)
        return Job(candidate, None if epochs >= self.full_epochs else epochs, checkpoint)

    def job_done(self, job: Job, record: HistoryRecord) -> list[HistoryRecord]:
        """Note ``record`` (one rung's evaluation); return the candidates finished now."""
        epochs = self.full_epochs if job.epochs is None else job.epochs
        self.observations.setdefault(job.candidate.trial, []).append(
            {"epochs": min(epochs, self.max_epochs), "result": record.result.to_dict(), "started": record.started,
             "finished": record.finished})
        if self.resume:
            self.states.discard(job.candidate.trial, keep=min(epochs, self.max_epochs))  # the older rungs'
        return self.due()

    def due(self) -> list[HistoryRecord]:
        """The finished candidates not yet recorded, by trial."""
        standing, records = self.standing(), []
        by_trial = {c.trial: c for c in self.members}
        for trial in sorted(set(standing.finished) - self.finished):
            rung, why = standing.finished[trial]
            records.append(self._record(by_trial[trial], rung, why))
            self.finished.add(trial)
            if self.resume:
                self.states.discard(trial)
        return records

    def _record(self, candidate: Candidate, rung: int, why: str) -> HistoryRecord:
        observations = self.observations[candidate.trial]
        result = EvalResult.from_dict(dict(observations[-1]["result"]))
        result.cost_seconds = sum(float(o["result"]["cost_seconds"]) for o in observations)
        rungs = [{"epochs": o["epochs"], "val_acc": o["result"]["val_acc"]} for o in observations]
        for rung_settings, observation in zip(rungs, observations):
            resumed_from = (observation["result"].get("settings") or {}).get("resumed_from_epoch")
            if resumed_from is not None:
                rung_settings["resumed_from"] = resumed_from
        settings: dict[str, Any] = {"rungs": rungs, "bracket": self.index}
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

    def load_state_dict(self, state: dict[str, Any] | None, recorded: set[int], store: Any = None) -> None:
        """Continue from ``state`` (None: a new run, or a state lost and rebuilt); the
        trials in ``recorded`` are in ``history.jsonl`` already; the training states live
        in ``store``'s run directory if it has one."""
        if self.resume:
            self.states = rung_states(store)
        if state is None:
            self.states.tidy(set())
            return
        settings = (state.get("kind"), state.get("eta"), state.get("min_epochs"), state.get("max_epochs"))
        if settings != (self.kind, self.eta, self.min_epochs, self.max_epochs):
            raise RunStoreError(f"resume: the saved scheduler state is for {settings}, not "
                                f"{(self.kind, self.eta, self.min_epochs, self.max_epochs)}; was the config changed?")
        self.index, self.size = int(state["index"]), int(state["size"])
        self.members = [candidate_from_dict(c) for c in state["members"]]
        self.observations = {int(trial): list(items) for trial, items in state["observations"].items()}
        self.finished = {c.trial for c in self.members} & recorded
        self.states.tidy(self.holds())
