"""The hardware-aware NB201 benchmark's tiny run: every constrained pick meets the budget,
the front figures are there."""
from __future__ import annotations

import json

import pytest

from benchmarks.nb201_hardware import main


def test_a_tiny_run_reports_feasible_picks_and_the_fronts(capsys, tmp_path):
    assert main(["--runs", "2", "--budget-seconds", "1500", "--constrained", "random", "local",
                 "--pareto", "random", "pareto_local", "--processes", "1", "--json", "--plot", str(tmp_path / "f.png")]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["feasible_cells"] == 7813 and report["cells"] == 15625
    for name in ("random", "local"):
        figures = report["constrained"][name]
        assert figures["all_picks_feasible"] and figures["mean"] <= report["constrained_optimum"]
    for name in ("random", "pareto_local"):
        assert 0 < report["pareto"][name]["hypervolume_ratio_mean"] <= 1
    assert (tmp_path / "f.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(report["anytime"]["seconds"]) == 6 and report["anytime"]["pareto"]["random"][-1] == pytest.approx(
        report["pareto"]["random"]["hypervolume_ratio_mean"])
