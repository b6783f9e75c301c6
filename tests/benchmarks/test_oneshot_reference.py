"""The one-shot reference benchmark's tiny run: our DARTS and GDAS against the authors' code
(xautodl 1.0.0, which ``.ci/run`` installs with ``--no-deps``; skipped where it is absent):
loss, weight and architecture gradients agree within 1e-5."""
from __future__ import annotations

import json

import pytest

pytest.importorskip("xautodl")

from benchmarks.oneshot_reference import TOLERANCE, main, run  # noqa: E402


def test_darts_and_gdas_match_xautodl():
    report = run(filters=4, cells=1, batch=8, seed=0)
    assert report["within_tolerance"], report
    assert report["darts"]["arch_grad_second_minus_first"] > 100 * TOLERANCE  # the orders differ


def test_the_json_report_has_every_difference(capsys):
    assert main(["--filters", "4", "--batch", "4", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["within_tolerance"] is True and report["settings"]["xautodl"] == "1.0.0"
    for method in ("darts", "gdas"):
        differences = [v for k, v in report[method].items() if isinstance(v, float)]
        assert differences and all(0 <= v for v in differences), method
