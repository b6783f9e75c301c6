"""Constraints on what a candidate measured: ``edgegpu_latency<=5.0``, ``params<=1e6``.

A constraint is ``METRIC OP NUMBER`` with OP one of ``<=``, ``<``, ``>=``, ``>``; METRIC a
number of the result (``RESULT_METRICS``) or a device cost an evaluator reports in
``EvalResult.hardware`` (``edgegpu_latency``, ...). The search loop writes what each
finished candidate violates into its record (``settings["violations"]``, and
``settings["infeasible"]``, the reason, when any is violated), so the history, the pick
(the best feasible candidate), the report and every strategy read the same verdict. A
metric the candidate has no value for (the Edge TPU on some cells) violates the constraint:
nothing says it holds.

The amounts follow Optuna's ``constraints_func`` convention: positive is violated (by that
much), zero or less is met.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Collection, Sequence

from nasbench.core.errors import ConfigError
from nasbench.core.result import EvalResult

RESULT_METRICS: tuple[str, ...] = ("val_acc", "params", "macs", "latency_b1_ms", "latency_batch_ms",
                                   "train_seconds", "cost_seconds", "peak_memory_bytes")
UNMEASURED = 1e12  # the violation of a constraint on a metric the candidate has no value for
_GRAMMAR = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(<=|>=|<|>)\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*$")


class ConstraintError(ConfigError):
    """A constraint that does not parse or names a metric the search does not measure."""


def metric_value(result: EvalResult, name: str) -> float | None:
    """``name`` of ``result``: one of its numbers, else a device cost; None if it has none."""
    value = getattr(result, name, None) if name in RESULT_METRICS else result.hardware.get(name)
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


@dataclass(frozen=True)
class Constraint:
    metric: str
    op: str
    bound: float

    @property
    def text(self) -> str:
        return f"{self.metric}{self.op}{self.bound:g}"

    def violation(self, value: float | None) -> float:
        """How far ``value`` is on the wrong side (> 0 violated; a missing value: ``UNMEASURED``)."""
        if value is None:
            return UNMEASURED
        amount = value - self.bound if self.op in ("<=", "<") else self.bound - value
        if self.op in ("<", ">") and amount == 0:
            return math.ulp(self.bound) or 1e-300  # the strict bound itself is on the wrong side
        return amount


@dataclass(frozen=True)
class Constraints:
    """The constraints of one search, in the order given (``search.constraints``)."""

    items: tuple[Constraint, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.items)

    def __len__(self) -> int:
        return len(self.items)

    @property
    def texts(self) -> list[str]:
        return [c.text for c in self.items]

    def violations(self, result: EvalResult) -> list[float]:
        return [c.violation(metric_value(result, c.metric)) for c in self.items]

    def annotate(self, result: EvalResult) -> None:
        """Write the verdict into ``result.settings`` (see the module's docstring)."""
        amounts = self.violations(result)
        result.settings = {**result.settings, "violations": dict(zip(self.texts, amounts))}
        broken = [f"{c.metric} {_shown(metric_value(result, c.metric))} breaks {c.text}"
                  for c, amount in zip(self.items, amounts) if amount > 0]
        if broken:
            result.settings["infeasible"] = "; ".join(broken)
        else:
            result.settings.pop("infeasible", None)


def _shown(value: float | None) -> str:
    return "unmeasured" if value is None else f"{value:g}"


def is_infeasible(result: EvalResult) -> bool:
    """Whether the search loop found ``result`` breaking a constraint."""
    return bool(result.settings.get("infeasible"))


def parse_constraints(texts: Sequence[Any], measured: Collection[str], hints: dict[str, str] | None = None,
                      where: str = "search.constraints") -> Constraints:
    """``texts`` as constraints on the metrics in ``measured``; ``ConstraintError`` names
    the first that does not parse or names another metric (``hints``: what to add to
    measure a known metric the search does not, ``{"edgegpu_latency": "evaluator.device=edgegpu"}``)."""
    items = []
    for index, text in enumerate(texts):
        match = _GRAMMAR.match(str(text))
        if match is None:
            raise ConstraintError(f"{where}[{index}]: {text!r} is not METRIC<=NUMBER (or <, >=, >), "
                                  f"e.g. edgegpu_latency<=5.0")
        metric, op, bound = match.group(1), match.group(2), float(match.group(3))
        if metric not in measured:
            hint = (hints or {}).get(metric)
            known = f"measure it with {hint}" if hint else f"this search measures {', '.join(sorted(measured))}"
            raise ConstraintError(f"{where}[{index}]: {text!r}: {metric} is not measured; {known}")
        items.append(Constraint(metric, op, bound))
    return Constraints(tuple(items))
