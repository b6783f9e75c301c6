"""The successive-halving benchmark's tiny run: two schedulers side by side on the digits,
each in a process of its own, nothing failed, the early stops counted."""
from __future__ import annotations

import json

from benchmarks.halving_digits import main, table


def test_a_tiny_run_reports_each_scheduler(capsys):
    assert main(["--seconds", "2", "--epochs", "2", "--eta", "2", "--filters", "2", "--train-fraction", "0.05",
                 "--schedulers", "none", "halving", "--json"]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["settings"]["epochs"] == 2
    rows = {row["scheduler"]: row for row in report["runs"]}
    assert set(rows) == {"none", "halving"}
    for row in rows.values():
        assert row["failed"] == 0 and row["full_training"] + row["stopped_early"] <= row["finished"]
    # Halving records a candidate only once its rung closes: on a busy machine 2 s may close none.
    assert rows["none"]["finished"] >= 1 and rows["none"]["charged_seconds"] > 0
    assert rows["none"]["stopped_early"] == 0 and rows["none"]["full_training"] == rows["none"]["finished"]
    assert "halving" in table(report["runs"]).splitlines()[0]
