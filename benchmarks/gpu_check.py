"""One call that checks the GPU paths: CUDA tests, proxy throughput, one-shot search cost.

Run through ``benchmarks/gpu_check.sh``, which picks the Python whose torch sees CUDA.
Each part is a subprocess with its own timeout, so that one hang cannot eat the budget:

``probe``
    torch's version, CUDA's, the device's name.
``pytest``
    ``python -m pytest -m cuda -q``; its outcome counts are read from the summary line.
``benchmarks``
    ``benchmarks/proxy_throughput.py --json`` for resnet, nasnet_a and airbench: images/s
    of the proxy trainer and of a plain PyTorch loop, their ratio, and the proxy issue's
    goal beside it (NASNet-A N=2 F=16 ≥ 30,000 images/s and airbench ≥ 100,000 on one
    H100, bf16).
``oneshot``
    ``benchmarks/oneshot_cost.py --json`` on the device: each one-shot search's wall time
    (DARTS, GDAS, ENAS, SPOS on NAS-Bench-201, digits at 32×32) against one proxy
    candidate's training, and its derived cell's stand-alone accuracy against random cells.
    It runs last and takes what is left of the budget.

A failing part is recorded and the next one runs. The report is one JSON object, printed
last on stdout and written to ``$OUT/gpu_check.json`` (``./gpu_check.json`` when ``OUT`` is
not set, or ``--out``); each part's output is kept in a log beside it, and a summary for
people goes to stderr. ``--dry`` runs the same parts on the CPU (CUDA hidden) with tiny
sizes, in seconds; its report says ``"dry": true``. The exit code is 0 when every part
passed (goals unmet are figures, not failures), 1 otherwise.

This module uses the standard library only, so that it reports even a Python without torch.
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
GOALS_IMAGES_PER_S = {"nasnet_a": 30_000, "airbench": 100_000}
GOAL_SETTING = "one H100, bf16 (the proxy issue)"
FIGURES = ("trainer_images_per_s", "plain_images_per_s", "ratio", "trainer_median_images_per_s",
           "plain_median_images_per_s", "median_pair_ratio", "device", "batch_size", "steps",
           "repeats", "width_scale")
OUTCOMES = ("passed", "failed", "errors", "skipped", "xfailed", "xpassed", "deselected", "warnings")
TAIL_CHARS = 2000
MIN_PART_SECONDS = 5  # a benchmark given less is skipped, not started
PROBE = """
import json, torch
cuda = torch.cuda.is_available()
print(json.dumps({"torch": torch.__version__, "cuda_version": torch.version.cuda,
                  "cuda_available": cuda, "gpu_count": torch.cuda.device_count() if cuda else 0,
                  "device_name": torch.cuda.get_device_name(0) if cuda else "cpu"}))
"""


@dataclass(frozen=True)
class BenchPlan:
    """How one net is measured: sizes, and a time bound on both the measuring
    (``max_seconds``, past which no new pair of runs starts) and the process."""

    net: str
    batch_size: int
    steps: int
    repeats: int
    width_scale: float
    max_seconds: float | None
    timeout_s: float


@dataclass(frozen=True)
class OneshotPlan:
    """The one-shot cost benchmark's arguments (sizes) and its process's time bound."""

    args: tuple[str, ...]
    timeout_s: float


@dataclass(frozen=True)
class Plan:
    """Every part's sizes and timeouts, and the budget of the whole check."""

    budget_s: float
    probe_timeout_s: float
    pytest_timeout_s: float
    pytest_paths: tuple[str, ...]
    device: str
    benches: tuple[BenchPlan, ...]
    oneshot: OneshotPlan


# Batch 512 as in the goals; steps such that one run takes about a second at the
# goal's rate; past 30 s of measuring a slow net stops at the pairs it has; 75 s per process
# leaves room for importing torch, starting CUDA and the warm-up. 460 s in all, under 8 min.
GPU_PLAN = Plan(budget_s=460, probe_timeout_s=60, pytest_timeout_s=210, pytest_paths=(), device="cuda",
                benches=(BenchPlan("resnet", 512, 100, 5, 1.0, 30, 75),
                         BenchPlan("nasnet_a", 512, 50, 5, 1.0, 30, 75),
                         BenchPlan("airbench", 512, 200, 5, 1.0, 30, 75)),
                oneshot=OneshotPlan(("--epochs", "4", "--random-cells", "8", "--proxy-epochs", "4"), 150))
# The dry run collects only the CUDA tests' module (all skip without CUDA) to stay quick;
# its timeouts allow for a CPU shared with other jobs.
DRY_PLAN = Plan(budget_s=300, probe_timeout_s=60, pytest_timeout_s=120, pytest_paths=("tests/scenarios/test_cuda.py",),
                device="cpu", benches=tuple(BenchPlan(net, 8, 1, 1, 0.25, None, 90)
                                            for net in ("resnet", "nasnet_a", "airbench")),
                oneshot=OneshotPlan(("--methods", "gdas", "--epochs", "1", "--random-cells", "1", "--proxy-epochs",
                                     "1", "--resolution", "8", "--train-fraction", "0.1"), 150))


@dataclass
class PartRun:
    """What one subprocess did."""

    returncode: int | None
    seconds: float
    timed_out: bool
    output: str

    def record(self, command: list[str], ok: bool) -> dict[str, Any]:
        record = {"ok": ok, "returncode": self.returncode, "seconds": round(self.seconds, 2),
                  "timed_out": self.timed_out, "command": " ".join(command)}
        if not ok:
            record["tail"] = self.output[-TAIL_CHARS:]
        return record


class Deadline:
    """The check's overall budget: each part gets its own timeout, or what is left."""

    def __init__(self, budget_s: float) -> None:
        self.end = time.monotonic() + budget_s

    def timeout(self, part_timeout_s: float) -> float:
        return max(0.0, min(part_timeout_s, self.end - time.monotonic()))


def run_part(command: list[str], timeout_s: float, env: dict[str, str], log: Path) -> PartRun:
    """Run ``command`` in its own process group, killing the group at ``timeout_s``;
    stdout and stderr go to ``log``."""
    start = time.monotonic()
    with log.open("w") as sink:
        process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        timed_out = False
        try:
            process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            timed_out = True
            _kill_group(process)
    return PartRun(process.returncode, time.monotonic() - start, timed_out, log.read_text(errors="replace"))


def _kill_group(process: subprocess.Popen) -> None:
    """SIGTERM the process group (Ray's workers included), then SIGKILL what is left."""
    for sig, grace_s in ((signal.SIGTERM, 10), (signal.SIGKILL, 10)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=grace_s)
            return
        except subprocess.TimeoutExpired:
            continue


def last_json_object(output: str) -> dict[str, Any] | None:
    """The last line of ``output`` that parses as a JSON object (warnings may precede it)."""
    for line in reversed(output.splitlines()):
        if line.startswith("{"):
            try:
                return json.loads(line)
            except json.JSONDecodeError:
                continue
    return None


def pytest_counts(output: str) -> dict[str, int] | None:
    """Outcome counts from pytest's summary line (``2 passed, 1 skipped in 3.1s``)."""
    for line in reversed(output.splitlines()):
        if re.search(r"\bin [\d.]+s\b", line):
            found = re.findall(r"(\d+) (passed|failed|errors?|skipped|xfailed|xpassed|deselected|warnings?)\b",
                               line)
            if found or "no tests ran" in line:
                counts = dict.fromkeys(OUTCOMES, 0)
                for number, word in found:
                    counts[word if word in OUTCOMES else word + "s"] = int(number)
                return counts
    return None


def probe(plan: Plan, deadline: Deadline, env: dict[str, str], logs: Path) -> dict[str, Any]:
    command = [sys.executable, "-c", PROBE]
    run = run_part(command, deadline.timeout(plan.probe_timeout_s), env, logs / "probe.log")
    found = last_json_object(run.output) if run.returncode == 0 else None
    return {**run.record(command[:2] + ["<probe>"], found is not None), **(found or {})}


def run_pytest(plan: Plan, deadline: Deadline, env: dict[str, str], logs: Path,
               dry: bool) -> dict[str, Any]:
    # -o addopts=: not the default run's workers (-n auto), which would share one GPU
    command = [sys.executable, "-m", "pytest", "-o", "addopts=", "-m", "cuda", "-q", "-rfEs", "-p", "no:cacheprovider",
               *plan.pytest_paths]
    run = run_part(command, deadline.timeout(plan.pytest_timeout_s), env, logs / "pytest.log")
    counts = pytest_counts(run.output)
    ok = (run.returncode == 0 and counts is not None and counts["failed"] == counts["errors"] == 0
          and (dry or counts["passed"] > 0))  # on a GPU, CUDA tests that all skip are a failure
    return {**run.record(command, ok), "counts": counts}


def run_bench(bench: BenchPlan, plan: Plan, deadline: Deadline, env: dict[str, str], logs: Path,
              dry: bool) -> dict[str, Any]:
    command = [sys.executable, "benchmarks/proxy_throughput.py", "--net", bench.net, "--device", plan.device,
               "--batch-size", str(bench.batch_size), "--steps", str(bench.steps), "--repeats", str(bench.repeats),
               "--width-scale", str(bench.width_scale), "--json"]
    if bench.max_seconds is not None:
        command += ["--max-seconds", str(bench.max_seconds)]
    if dry:
        command += ["--threads", "1"]
    run = run_part(command, deadline.timeout(bench.timeout_s), env, logs / f"bench_{bench.net}.log")
    report = last_json_object(run.output) if run.returncode == 0 else None
    record = run.record(command, report is not None)
    goal = GOALS_IMAGES_PER_S.get(bench.net)
    record.update({name: (report or {}).get(name) for name in FIGURES})
    record["goal_images_per_s"] = goal
    record["goal_setting"] = GOAL_SETTING if goal else None
    record["meets_goal"] = (None if goal is None or dry or report is None
                            else report["trainer_images_per_s"] >= goal)
    return record


def run_benches(plan: Plan, deadline: Deadline, env: dict[str, str], logs: Path, dry: bool,
                cuda_available: bool) -> dict[str, dict[str, Any]]:
    """Each net's record; one that cannot run (no CUDA, no time left) says why."""
    benchmarks = {}
    for bench in plan.benches:
        if not dry and not cuda_available:
            benchmarks[bench.net] = skipped("no CUDA device (torch.cuda.is_available() is False); "
                                            "--dry checks the plumbing on the CPU")
        elif deadline.timeout(bench.timeout_s) < MIN_PART_SECONDS:
            benchmarks[bench.net] = skipped(f"the check's {plan.budget_s:g} s budget is spent")
        else:
            benchmarks[bench.net] = run_bench(bench, plan, deadline, env, logs, dry)
    return benchmarks


ONESHOT_FIGURES = ("candidate_seconds_median", "random_val_acc_median", "search_epochs", "proxy_epochs", "device")
ONESHOT_METHOD_FIGURES = ("search_seconds", "search_in_candidates", "supernet_val_acc", "standalone_val_acc",
                          "acc_minus_random_median", "cell")


def run_oneshot(plan: Plan, deadline: Deadline, env: dict[str, str], logs: Path, dry: bool,
                cuda_available: bool) -> dict[str, Any]:
    """The one-shot cost benchmark's figures; if it cannot run (no CUDA, no time left), why."""
    if not dry and not cuda_available:
        return skipped("no CUDA device (torch.cuda.is_available() is False)")
    timeout = deadline.timeout(plan.oneshot.timeout_s)
    if timeout < MIN_PART_SECONDS:
        return skipped(f"the check's {plan.budget_s:g} s budget is spent")
    command = [sys.executable, "benchmarks/oneshot_cost.py", "--device", plan.device, *plan.oneshot.args, "--json"]
    run = run_part(command, timeout, env, logs / "oneshot.log")
    report = last_json_object(run.output) if run.returncode == 0 else None
    record = run.record(command, report is not None)
    record.update({name: (report or {}).get(name) for name in ONESHOT_FIGURES})
    record["methods"] = {row["method"]: {name: row.get(name) for name in ONESHOT_METHOD_FIGURES}
                         for row in (report or {}).get("methods", [])}
    return record


def skipped(reason: str) -> dict[str, Any]:
    return {"ok": False, "skipped": reason}


def part_env(dry: bool) -> dict[str, str]:
    """The parts' environment: the repository importable, a Ray of their own, and in a
    dry run no CUDA device visible."""
    env = {key: value for key, value in os.environ.items() if key != "RAY_ADDRESS"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    if dry:
        env["CUDA_VISIBLE_DEVICES"] = ""
    return env


def check(plan: Plan, dry: bool, logs: Path) -> dict[str, Any]:
    """Run every part and return the report."""
    start, deadline, env = time.monotonic(), Deadline(plan.budget_s), part_env(dry)
    report: dict[str, Any] = {"dry": dry, "ok": False,
                              "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                              "python": sys.executable}
    found = probe(plan, deadline, env, logs)
    report.update({name: found.get(name) for name in ("torch", "cuda_version", "cuda_available",
                                                      "gpu_count", "device_name")})
    report["probe"] = found
    report["pytest"] = run_pytest(plan, deadline, env, logs, dry)
    report["benchmarks"] = benchmarks = run_benches(plan, deadline, env, logs, dry,
                                                    bool(found.get("cuda_available")))
    report["oneshot"] = run_oneshot(plan, deadline, env, logs, dry, bool(found.get("cuda_available")))
    report["ok"] = bool(found["ok"] and report["pytest"]["ok"] and all(b["ok"] for b in benchmarks.values())
                        and report["oneshot"]["ok"])
    report["budget_seconds"] = plan.budget_s
    report["total_seconds"] = round(time.monotonic() - start, 2)
    report["logs"] = str(logs)
    return report


def summary(report: dict[str, Any]) -> str:
    """The report in a few lines for people, goals beside the figures."""
    lines = [f"gpu_check{' (dry)' if report['dry'] else ''}: {report['device_name']}, torch {report['torch']}, "
             f"{report['total_seconds']} s, {'ok' if report['ok'] else 'FAILED'}"]
    pytest = report["pytest"]
    counts = ", ".join(f"{n} {k}" for k, n in (pytest["counts"] or {}).items() if n) or "no summary line"
    lines.append(f"  pytest -m cuda: {counts}{'' if pytest['ok'] else ' (FAILED)'}")
    for net, bench in report["benchmarks"].items():
        if bench.get("trainer_images_per_s") is None:
            lines.append(f"  {net}: no figures ({bench.get('skipped') or 'failed; see ' + net + ' log'})")
            continue
        verdict = {True: "met", False: "not met", None: "not comparable"}[bench["meets_goal"]]
        goal = (f", goal >= {bench['goal_images_per_s']:,} on {bench['goal_setting']}: {verdict}"
                if bench["goal_images_per_s"] else "")
        lines.append(f"  {net}: trainer {bench['trainer_images_per_s']:,.0f} img/s, plain "
                     f"{bench['plain_images_per_s']:,.0f} img/s, ratio {bench['ratio']:.3f}{goal}")
    oneshot = report["oneshot"]
    if not oneshot.get("methods"):
        lines.append(f"  oneshot: no figures ({oneshot.get('skipped') or 'failed; see oneshot log'})")
    for method, row in (oneshot.get("methods") or {}).items():
        lines.append(f"  oneshot {method}: search {row['search_seconds']:.1f} s = {row['search_in_candidates']:.1f} "
                     f"candidates of {oneshot['candidate_seconds_median']:.1f} s; derived cell alone "
                     f"{row['standalone_val_acc']:.4f} (random median {oneshot['random_val_acc_median']:.4f})")
    return "\n".join(lines)


def default_out() -> Path:
    out_dir = os.environ.get("OUT")
    return Path(out_dir) / "gpu_check.json" if out_dir else Path("gpu_check.json")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dry", action="store_true", help="the same parts on the CPU with tiny sizes")
    parser.add_argument("--out", type=Path, default=None,
                        help="where the JSON report goes (default: $OUT/gpu_check.json, else ./gpu_check.json)")
    parser.add_argument("--budget-seconds", type=float, default=None,
                        help=f"the whole check's time budget (default {GPU_PLAN.budget_s:g}, "
                             f"dry {DRY_PLAN.budget_s:g})")
    args = parser.parse_args(argv)
    if args.budget_seconds is not None and args.budget_seconds <= 0:
        parser.error(f"--budget-seconds: {args.budget_seconds} must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    plan = DRY_PLAN if args.dry else GPU_PLAN
    if args.budget_seconds is not None:
        plan = dataclasses.replace(plan, budget_s=args.budget_seconds)
    out = args.out if args.out is not None else default_out()
    logs = out.parent / f"{out.stem}_logs"
    logs.mkdir(parents=True, exist_ok=True)
    report = check(plan, args.dry, logs)
    text = json.dumps(report, indent=2)
    out.write_text(text + "\n")
    print(summary(report), file=sys.stderr)
    print(text)
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
