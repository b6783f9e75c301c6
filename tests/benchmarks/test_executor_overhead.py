"""The executor overhead benchmark's tiny run: a few short trials locally and on Ray, every
trial finished, every figure there (the script once died on a key it parsed as hex)."""
from __future__ import annotations

import json

import pytest

from benchmarks.executor_overhead import SleepEvaluation, main
from nasbench.core.candidate import Candidate


def test_any_space_key_gets_a_score_in_0_1():
    score = SleepEvaluation(0.0)(Candidate(0, "p", "|none~0|+|skip_connect~0|none~1|+|none~0|none~1|none~2|", 0))
    assert score.ok and 0.0 <= score.val_acc < 1.0


def test_a_tiny_run_reports_its_overheads(ray_session, capsys):
    assert main(["--trials", "4", "--sleep", "0.05", "--json"]) == 0
    figures = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert figures["trials"] == 4 and figures["failed_trials"] == 0
    for key in ("local_overhead_per_trial_s", "ray_overhead_per_trial_s", "ray_steady_overhead_per_trial_s",
                "throughput_ratio_ray_to_local", "steady_throughput_ratio_ray_to_local"):
        assert isinstance(figures[key], float), key
    assert figures["local_wall_s"] >= figures["local_ideal_s"] == pytest.approx(0.2)
    assert figures["ray_wall_s"] >= figures["ray_ideal_s"] == pytest.approx(0.1)
