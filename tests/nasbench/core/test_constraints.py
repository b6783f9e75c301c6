"""Constraints on what a candidate measured: the grammar, the amounts (Optuna's sign), a
missing value as a violation, and the verdict written into the result."""
from __future__ import annotations

import pytest

from nasbench.core.constraints import UNMEASURED, ConstraintError, is_infeasible, parse_constraints
from nasbench.core.result import EvalResult

MEASURED = ("val_acc", "params", "edgegpu_latency", "edgetpu_latency")


def test_each_operator_and_the_amounts_sign():
    constraints = parse_constraints(["edgegpu_latency<=5", "params < 1e6", "val_acc>=0.9", "params>10"], MEASURED)
    result = EvalResult(status="ok", val_acc=0.95, params=1_000_000, hardware={"edgegpu_latency": 4.0})
    low, strict, at_least, more = constraints.violations(result)
    assert low == -1.0 and strict > 0 and at_least == pytest.approx(-0.05) and more < 0
    assert constraints.texts == ["edgegpu_latency<=5", "params<1e+06", "val_acc>=0.9", "params>10"]


def test_a_missing_value_breaks_its_constraint_and_the_verdict_lands_in_the_result():
    constraints = parse_constraints(["edgetpu_latency<=1", "edgegpu_latency<=5"], MEASURED)
    result = EvalResult(status="ok", val_acc=0.9, hardware={"edgetpu_latency": None, "edgegpu_latency": 4.0})
    constraints.annotate(result)
    assert result.settings["violations"] == {"edgetpu_latency<=1": UNMEASURED, "edgegpu_latency<=5": -1.0}
    assert result.settings["infeasible"] == "edgetpu_latency unmeasured breaks edgetpu_latency<=1"
    assert is_infeasible(result)
    result.hardware["edgetpu_latency"] = 0.5
    constraints.annotate(result)
    assert not is_infeasible(result) and "infeasible" not in result.settings


@pytest.mark.parametrize("text, message", [
    ("edgegpu_latency=5", "is not METRIC<=NUMBER"),
    ("latency<=five", "is not METRIC<=NUMBER"),
    ("test_acc>=0.9", "test_acc is not measured; this search measures"),
])
def test_a_bad_constraint_is_one_line_naming_it(text, message):
    with pytest.raises(ConstraintError, match=message) as raised:
        parse_constraints(["params<=1e6", text], MEASURED)
    assert str(raised.value).startswith("search.constraints[1]: ") and "\n" not in str(raised.value)
