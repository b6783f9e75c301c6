"""What runs inside a Tune trial: evaluate one candidate and report to Tune.

Kept free of torch and of the driver's modules (this file imports only the result and
candidate records): a Tune actor imports what the trainable refers to, and a table
lookup should not pay for importing torch in every new actor.

What a trial reports (``trial_payload``): ``val_acc`` and ``epochs_run`` for Tune's
schedulers, the whole ``EvalResult`` as a JSON string (Tune flattens nested dicts; a
string passes through untouched), whether it is the final result or a per-epoch one,
and when the evaluation started.
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict
from typing import Any, Callable

from nasbench.core.result import EvalResult, safe_evaluate
from nasbench.core.candidate import Candidate

METRIC = "val_acc"
TIME_ATTR = "epochs_run"
RESULT_KEY = "nasbench_result"
FINAL_KEY = "nasbench_final"
STARTED_KEY = "nasbench_started"
CANDIDATE_KEY = "candidate"


def candidate_config(candidate: Candidate) -> dict[str, Any]:
    """The Tune config of a trial: the candidate as plain data."""
    return {CANDIDATE_KEY: asdict(candidate)}


def config_candidate(config: dict[str, Any]) -> Candidate:
    return Candidate(**config[CANDIDATE_KEY])


def trial_payload(result: EvalResult, started: float, final: bool) -> dict[str, Any]:
    """What a trial reports to Tune. A failure reports ``val_acc`` 0.0: Tune's schedulers
    need a number, and ``history.jsonl`` keeps the truth (status, message, None)."""
    return {
        METRIC: float(result.val_acc) if result.ok and result.val_acc is not None else 0.0,
        TIME_ATTR: int(result.epochs_run),
        RESULT_KEY: json.dumps(result.to_dict()),
        FINAL_KEY: final,
        STARTED_KEY: started,
    }


def make_trainable(evaluate: Callable[..., EvalResult], report_until: int | None) -> Callable[[dict[str, Any]], None]:
    """The Tune function trainable of a search: evaluate the config's candidate, report.

    With ``report_until`` (ASHA), every epoch before it is reported as it ends; the last
    epoch is left to the final report, which carries what only a finished run measures
    (ASHA stops any trial that reports ``max_t`` epochs, before it could send it).
    ``evaluate`` lives in the function's closure, so an actor that Tune reuses for trial
    after trial keeps what the evaluator has loaded (the data set, the table).
    """

    def run_trial(config: dict[str, Any]) -> None:
        from ray import tune

        candidate = config_candidate(config)
        started, clock = time.time(), time.perf_counter()
        if report_until is None:
            result = safe_evaluate(evaluate, candidate)
        else:
            curve: list[float] = []

            def progress(epoch: int, val_acc: float, train_loss: float) -> None:
                curve.append(val_acc)
                if epoch < report_until:
                    partial = EvalResult(status="ok", val_acc=val_acc, val_curve=list(curve), train_loss=train_loss,
                                         cost_seconds=time.perf_counter() - clock, seed=candidate.seed,
                                         epochs_run=epoch)
                    tune.report(trial_payload(partial, started, final=False))

            result = safe_evaluate(lambda c: evaluate(c, progress=progress), candidate)
        tune.report(trial_payload(result, started, final=True))

    return run_trial
