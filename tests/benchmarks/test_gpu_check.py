"""``benchmarks/gpu_check.sh``, the one call a GPU session makes: its dry run on the CPU
prints the same report, and its plumbing (summary parsing, timeouts, the budget) holds."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchmarks.gpu_check import (DRY_PLAN, GPU_PLAN, Deadline, last_json_object, pytest_counts, run_benches,
                                  run_oneshot, run_part)

REPO_ROOT = Path(__file__).resolve().parents[2]
NETS = {"resnet", "nasnet_a", "airbench"}


@pytest.mark.parametrize("line, expected", [
    ("4 skipped, 250 deselected in 9.97s", {"skipped": 4, "deselected": 250}),
    ("==== 1 failed, 2 passed, 1 error, 3 warnings in 12.31s ====",
     {"failed": 1, "passed": 2, "errors": 1, "warnings": 3}),
    ("2 errors in 0.50s", {"errors": 2}),
    ("no tests ran in 0.12s", {}),
])
def test_pytest_summary_lines_become_counts(line, expected):
    counts = pytest_counts(f"tests/test_cuda.py ssss\nSKIPPED [2] reason\n{line}\n")
    assert counts == {**dict.fromkeys(counts, 0), **expected}
    assert {"passed", "failed", "errors", "skipped"} <= set(counts)


def test_output_without_a_summary_line_has_no_counts():
    assert pytest_counts("Traceback (most recent call last):\nImportError: no module named torch\n") is None


def test_the_last_json_line_is_the_report():
    output = 'UserWarning: deterministic\n{"a": 1}\n{not json\n{"net": "resnet"}\ntrailing words\n'
    assert last_json_object(output) == {"net": "resnet"}
    assert last_json_object("no report here") is None


def test_a_part_past_its_timeout_is_killed_with_its_children(tmp_path):
    log = tmp_path / "part.log"
    start = time.monotonic()
    run = run_part(["bash", "-c", "sleep 60 & echo $!; wait"], 1.0, dict(os.environ), log)
    assert run.timed_out and run.returncode != 0 and time.monotonic() - start < 15
    child = int(run.output.split()[0])
    deadline = time.monotonic() + 5
    while Path(f"/proc/{child}").exists() and "Z" not in Path(f"/proc/{child}/stat").read_text().split()[2]:
        assert time.monotonic() < deadline, "the part's child outlived the timeout"
        time.sleep(0.05)


def test_benchmarks_that_cannot_run_say_why(tmp_path):
    spent = run_benches(GPU_PLAN, Deadline(0), {}, tmp_path, dry=False, cuda_available=True)
    no_gpu = run_benches(GPU_PLAN, Deadline(60), {}, tmp_path, dry=False, cuda_available=False)
    assert set(spent) == set(no_gpu) == NETS
    assert all(not r["ok"] and "budget is spent" in r["skipped"] for r in spent.values())
    assert all(not r["ok"] and "no CUDA device" in r["skipped"] for r in no_gpu.values())
    for part, reason in ((run_oneshot(GPU_PLAN, Deadline(0), {}, tmp_path, False, True), "budget is spent"),
                         (run_oneshot(GPU_PLAN, Deadline(60), {}, tmp_path, False, False), "no CUDA device")):
        assert not part["ok"] and reason in part["skipped"]


def test_the_gpu_plan_fits_in_eight_minutes():
    assert GPU_PLAN.budget_s <= 8 * 60 - 20 and DRY_PLAN.device == "cpu" and GPU_PLAN.device == "cuda"
    assert {bench.net for bench in GPU_PLAN.benches} == {bench.net for bench in DRY_PLAN.benches} == NETS


def test_bad_budget_is_one_line_and_exit_2():
    run = subprocess.run([sys.executable, "benchmarks/gpu_check.py", "--budget-seconds", "0"], cwd=REPO_ROOT,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 2 and "--budget-seconds: 0.0 must be positive" in run.stderr


def test_dry_run_prints_the_full_report(tmp_path):
    out = tmp_path / "report.json"
    env = {key: value for key, value in os.environ.items() if key != "OUT"}
    run = subprocess.run(["bash", "benchmarks/gpu_check.sh", "--dry", "--out", str(out)], cwd=REPO_ROOT, env=env,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads(run.stdout)
    assert report == json.loads(out.read_text())
    assert "gpu_check: using " in run.stderr and "pytest -m cuda:" in run.stderr
    for key in ("date", "python", "torch", "device_name", "probe", "pytest", "benchmarks", "oneshot",
                "total_seconds"):
        assert report[key] is not None, key
    assert report["dry"] is True and report["ok"] is True and report["device_name"] == "cpu"
    counts = report["pytest"]["counts"]
    assert counts["skipped"] >= 3 and counts["passed"] == counts["failed"] == counts["errors"] == 0
    assert set(report["benchmarks"]) == NETS
    for net, bench in report["benchmarks"].items():
        assert bench["ok"] and bench["trainer_images_per_s"] > 0 and bench["plain_images_per_s"] > 0, net
        assert bench["ratio"] > 0 and bench["device"] == "cpu" and bench["meets_goal"] is None, net
    assert report["benchmarks"]["nasnet_a"]["goal_images_per_s"] == 30_000
    assert report["benchmarks"]["airbench"]["goal_images_per_s"] == 100_000
    oneshot = report["oneshot"]
    assert oneshot["ok"] and oneshot["device"] == "cpu" and set(oneshot["methods"]) == {"gdas"}
    assert oneshot["methods"]["gdas"]["search_seconds"] > 0 and oneshot["candidate_seconds_median"] > 0
    assert {path.name for path in (tmp_path / "report_logs").iterdir()} == {
        "probe.log", "pytest.log", "oneshot.log", *(f"bench_{net}.log" for net in NETS)}
