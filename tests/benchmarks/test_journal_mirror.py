"""The journal mirror benchmark's tiny run: both searches finish, the dashboard reads and
rebuilds every trial, every figure is there."""
from __future__ import annotations

import json

from benchmarks.journal_mirror import main


def test_a_tiny_run_reports_the_mirrors_cost(capsys):
    assert main(["--trials", "5", "--rounds", "1", "--json"]) == 0
    figures = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert figures["trials"] == 5
    for key in ("plain_ms_per_trial", "mirrored_ms_per_trial", "mirror_ms_per_trial", "ratio_mirrored_to_plain",
                "dashboard_read_s", "rebuild_s"):
        assert isinstance(figures[key], (int, float)), key
    assert figures["mirrored_ms_per_trial"] > 0 and figures["plain_ms_per_trial"] > 0
