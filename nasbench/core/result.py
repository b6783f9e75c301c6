"""The record an evaluator returns for one candidate: plain, JSON-serialisable data."""
from __future__ import annotations

import dataclasses
import math
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable, Literal

Status = Literal["ok", "diverged", "oom", "error"]
STATUSES: tuple[str, ...] = ("ok", "diverged", "oom", "error")


@dataclass
class EvalResult:
    """What one evaluation of a candidate produced.

    ``val_acc`` is the search signal (fraction in [0, 1]); ``test_acc`` is filled only by
    evaluators that know it (the NAS-Bench-201 table) and is for final reports, never for
    selection. ``cost_seconds`` is the evaluation's charge to the search budget: wall time
    for the proxy trainer, the table's simulated training time for a lookup. ``hardware``:
    costs on devices other than the one that evaluated (``edgegpu_latency`` in ms,
    ``edgegpu_energy`` in mJ, ...: HW-NAS-Bench's, by the NB201 evaluator's
    ``evaluator.device``); a value the source lacks is None, never 0.
    """

    status: Status
    val_acc: float | None = None
    val_curve: list[float] = field(default_factory=list)
    train_loss: float | None = None
    test_acc: float | None = None
    params: int | None = None
    macs: int | None = None
    latency_b1_ms: float | None = None
    latency_batch_ms: float | None = None
    train_seconds: float | None = None
    cost_seconds: float = 0.0
    peak_memory_bytes: int | None = None
    hardware: dict[str, float | None] = field(default_factory=dict)  # device costs: edgegpu_latency (ms), ...
    device: str = "cpu"
    seed: int | None = None
    epochs_run: int = 0
    settings: dict[str, Any] = field(default_factory=dict)
    message: str = ""

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status: {self.status!r} is not one of {', '.join(STATUSES)}")

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_dict(self) -> dict[str, Any]:
        record = dataclasses.asdict(self)
        # JSON has no NaN/inf: store them as None so every history line parses.
        for key, value in record.items():
            if isinstance(value, float) and not math.isfinite(value):
                record[key] = None
        return record

    @classmethod
    def from_dict(cls, record: dict[str, Any]) -> "EvalResult":
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in record.items() if k in known})


def safe_evaluate(evaluate: Callable[[Any], EvalResult], candidate: Any) -> EvalResult:
    """Run ``evaluate(candidate)``; an exception becomes a failed result with its one-line
    reason and where it was raised, never a lost search. (Here, not in the driver, so that
    Ray trials can use it without importing torch.)"""
    try:
        result = evaluate(candidate)
        if not isinstance(result, EvalResult):
            raise TypeError(f"the evaluator returned {type(result).__name__}, not an EvalResult")
        return result
    except Exception as exc:  # noqa: BLE001 - failure is a result
        message = f"{type(exc).__name__}: {exc}".splitlines()[0]
        tail = traceback.extract_tb(exc.__traceback__)[-1:]
        where = f" (at {tail[0].filename}:{tail[0].lineno})" if tail else ""
        return EvalResult(status="error", message=message + where, seed=getattr(candidate, "seed", None))
