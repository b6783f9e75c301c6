"""The NB201 strategies benchmark: one search's record, the incumbent's anytime curve and
its mean over runs, the plot, and the one-line refusal of --plot without matplotlib."""
from __future__ import annotations

import json
import sys
from types import SimpleNamespace

import pytest

from benchmarks.nb201_strategies import incumbent_curve, main, mean_anytime, plot_anytime, search_once
from nasbench.core.result import EvalResult


def record(val_acc: float | None, test_acc: float, cost: float) -> SimpleNamespace:
    status = "ok" if val_acc is not None else "error"
    return SimpleNamespace(result=EvalResult(status=status, val_acc=val_acc, test_acc=test_acc, cost_seconds=cost))


def test_the_incumbent_is_the_best_validation_cell_so_far():
    history = [record(None, 0.0, 5.0), record(0.5, 0.90, 10.0), record(0.4, 0.99, 10.0), record(0.5, 0.95, 10.0),
               record(0.6, 0.92, 10.0)]
    assert incumbent_curve(history) == [(15.0, 90.0), (25.0, 90.0), (35.0, 90.0), (45.0, 92.0)]


def test_mean_anytime_leaves_out_runs_with_no_result_yet():
    grid, means = mean_anytime([[(50.0, 90.0), (150.0, 94.0)], [(120.0, 92.0)]], budget_seconds=200.0)
    assert grid == [100.0, 200.0]
    assert means == [90.0, 93.0]
    assert mean_anytime([[(150.0, 94.0)]], budget_seconds=100.0) == ([100.0], [None])


def test_one_search_reports_its_pick_curve_and_strategy_figures():
    found = search_once(("local", 0, None, "cifar10", 1500.0))
    assert found["queries"] >= 10 and found["incumbent"][-1][1] == found["test_acc"]
    assert set(found["report"]) == {"moves", "restarts"}


def test_the_plot_has_a_line_per_strategy_and_the_optimum(tmp_path):
    report = {"dataset": "cifar10", "runs": 2, "table_optimum": 94.37, "strategies": {"a": {}, "b": {}},
              "anytime": {"seconds": [100.0, 200.0], "a": [None, 93.0], "b": [92.0, 94.0]}}
    path = plot_anytime(report, tmp_path / "figures" / "anytime.png")
    assert path.read_bytes().startswith(b"\x89PNG")


def test_plot_without_matplotlib_is_one_line_and_exit_2(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now raises ImportError
    with pytest.raises(SystemExit) as leaving:
        main(["--runs", "1", "--plot", "anywhere.png"])
    assert leaving.value.code == 2
    assert capsys.readouterr().err == "nb201_strategies: --plot needs matplotlib (pip install matplotlib)\n"


def test_a_tiny_run_reports_every_strategy(capsys):
    main(["--runs", "2", "--strategies", "random", "evolution", "--budget-seconds", "1500", "--processes", "1",
          "--json"])
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert set(report["strategies"]) == {"random", "evolution"} and report["runs"] == 2
    for name, figures in report["strategies"].items():
        assert 0 < figures["mean"] <= report["table_optimum"] and figures["mean_queries"] >= 10, name
