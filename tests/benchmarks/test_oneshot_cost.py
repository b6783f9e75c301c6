"""The one-shot cost benchmark: its refusals, its table, and a tiny run (GDAS; with SPOS too, slow)."""
from __future__ import annotations

import json
import re

import pytest

from benchmarks.oneshot_cost import main, parse_args, table
from search_spaces.spaces import make_space


@pytest.mark.parametrize("argv, message", [
    (["--epochs", "0"], "--epochs: expected a positive integer, got 0"),
    (["--train-fraction", "1.5"], r"--train-fraction: expected a number in \(0, 1\], got 1.5"),
    (["--methods", "pdarts"], "invalid choice: 'pdarts'"),
])
def test_bad_flags_are_one_line_and_exit_2(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        parse_args(argv)
    assert exit_info.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert re.search(message, error), error


def test_the_table_puts_each_method_beside_the_random_cells():
    row = {"method": "spos", "search_seconds": 30.0, "search_in_candidates": 3.0, "search_cpu_seconds": 20.0,
           "search_in_candidates_cpu": 4.0, "supernet_val_acc": 0.9,
           "standalone_val_acc": 0.95, "acc_minus_random_median": 0.05, "random_cells_below": 15, "cell": "|x~0|"}
    text = table({"candidate_seconds_median": 10.0, "candidate_cpu_seconds_median": 5.0, "random_cells": 20,
                  "random_val_acc_median": 0.9, "random_val_acc_min": 0.1, "random_val_acc_max": 0.99,
                  "methods": [row]})
    assert "one proxy candidate: 10.0 s wall, 5.0 s CPU (medians of 20)" in text
    assert text.splitlines()[-1].split()[:9] == ["spos", "30.0", "3.0", "20.0", "4.0", "0.9000", "0.9500", "+0.0500",
                                                 "15/20"]


@pytest.mark.parametrize("methods", [["gdas"], pytest.param(["gdas", "spos"], marks=pytest.mark.slow)])
def test_a_tiny_run_reports_every_figure(methods, capsys):
    assert main(["--methods", *methods, "--epochs", "1", "--random-cells", "2", "--proxy-epochs", "1",
                 "--resolution", "8", "--train-fraction", "0.05", "--json"]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert [row["method"] for row in report["methods"]] == methods and report["random_cells"] == 2
    for row in report["methods"]:
        assert make_space("nasbench201").contains(row["cell"])
        assert row["search_in_candidates"] == pytest.approx(row["search_seconds"] / report["candidate_seconds_median"])
        assert 0 < row["search_cpu_seconds"] and row["search_in_candidates_cpu"] > 0
        assert 0 <= row["random_cells_below"] <= 2
