"""Per-trial overhead of the Ray executor against the local driver, in one run.

Both run the same search (random search over the NAS-Bench-201 cell space) whose every
evaluation sleeps a known time, so that the ideal wall time is known exactly:
``trials * sleep`` for the local driver, ``trials * sleep / concurrent`` for Ray with
``concurrent`` trials at once. Overhead per trial is ``(wall - ideal) / trials``; the
throughput ratio (Ray's trials per second over the local driver's) would be
``concurrent`` with no overhead. Ray is started and Tune imported (and timed) before the Ray
search, as a Hydra sweep does once per process; the search's wall time includes Tune's start-up, its
actor start-up and its experiment bookkeeping, and everything our searcher writes.

A search's fixed start-up (Tune's set-up and the first actors' Python start and imports,
paid once per search) is also reported apart from the steady state: ``startup_s`` runs
from the call to the first evaluation's start, and the steady overhead per trial is
``(span - ideal) / trials`` where ``span`` runs from the first evaluation's start to the
last one's record (both read from ``history.jsonl``).

Run from the repository root (with the package installed, or ``PYTHONPATH=.``):

    python benchmarks/executor_overhead.py                       # 40 trials of 0.5 s, 2 at once
    python benchmarks/executor_overhead.py --trials 80 --sleep 0.2 --json
"""
from __future__ import annotations

import argparse
import hashlib
import importlib
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from nasbench.run.search_loop import run_search
from nasbench.core.ray_cluster import ensure_ray
from nasbench.executors.ray_executor import RayExecutor, RayExecutorConfig
from nasbench.core.result import EvalResult
from nasbench.run.store import HistoryRecord, RunStore
from nasbench.core.candidate import Candidate
from nasbench.core.budget import Budget
from nasbench.strategies.random_search import RandomSearch
from search_spaces.spaces.nasbench201 import NasBench201Space


class SleepEvaluation:
    """An evaluation that takes ``seconds`` of wall time and scores a candidate by a hash
    of its key (any space's key: an NB201 string is not hexadecimal)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def __call__(self, candidate: Candidate) -> EvalResult:
        time.sleep(self.seconds)
        score = int(hashlib.sha256(candidate.key.encode()).hexdigest()[:6], 16) / 16**6
        return EvalResult(status="ok", val_acc=score, cost_seconds=self.seconds, seed=candidate.seed, epochs_run=1)


class BenchmarkError(RuntimeError):
    """The two searches did not evaluate what the comparison needs."""


def executor_config(concurrent: int, reuse_actors: bool) -> RayExecutorConfig:
    return RayExecutorConfig(max_concurrent_trials=concurrent, reuse_actors=reuse_actors)


def span(history: list[HistoryRecord]) -> float:
    """Seconds from the first evaluation's start to the last result's record."""
    return max(r.finished for r in history) - min(r.started for r in history)


def measure(trials: int, sleep: float, concurrent: int, reuse_actors: bool, workdir: Path) -> dict[str, Any]:
    space, budget, evaluate = NasBench201Space(), Budget(trials=trials), SleepEvaluation(sleep)

    start = time.perf_counter()
    local = run_search(RandomSearch(space, seed=0), evaluate, budget, RunStore(workdir / "local"), progress=False)
    local_wall = time.perf_counter() - start

    start = time.perf_counter()
    ensure_ray(num_cpus=concurrent)
    importlib.import_module("ray.tune")  # like ray.init, paid once per process (a sweep pays it once)
    ray_init = time.perf_counter() - start
    start, ray_called = time.perf_counter(), time.time()
    remote = RayExecutor(executor_config(concurrent, reuse_actors)).run(RandomSearch(space, seed=0), evaluate, budget,
                                                                        RunStore(workdir / "ray"), progress=False)
    ray_wall = time.perf_counter() - start
    failed = {name: [r for r in outcome.history if not r.result.ok] for name, outcome in (("local", local),
                                                                                        ("ray", remote))}
    for name, records in failed.items():
        if records:
            raise BenchmarkError(f"{len(records)} of the {name} search's trials failed; the first: "
                                 f"{records[0].result.message}")
    if not len(local.history) == len(remote.history) == trials:
        raise BenchmarkError(f"{trials} trials asked; local ran {len(local.history)}, ray {len(remote.history)}")
    if {r.candidate.key for r in local.history} != {r.candidate.key for r in remote.history}:
        raise BenchmarkError("the local and the Ray search evaluated different candidates")

    local_ideal, ray_ideal = trials * sleep, trials * sleep / concurrent
    local_span, ray_span = span(local.history), span(remote.history)
    return {
        "trials": trials, "failed_trials": 0, "sleep_s": sleep, "concurrent": concurrent, "reuse_actors": reuse_actors,
        "local_wall_s": round(local_wall, 3), "local_ideal_s": local_ideal,
        "local_trials_per_s": round(trials / local_wall, 3),
        "local_overhead_per_trial_s": round((local_wall - local_ideal) / trials, 4),
        "ray_init_s": round(ray_init, 3), "ray_wall_s": round(ray_wall, 3), "ray_ideal_s": ray_ideal,
        "ray_trials_per_s": round(trials / ray_wall, 3),
        "ray_overhead_per_trial_s": round((ray_wall - ray_ideal) / trials, 4),
        "throughput_ratio_ray_to_local": round(local_wall / ray_wall, 3),
        "ray_startup_s": round(min(r.started for r in remote.history) - ray_called, 3),
        "ray_steady_span_s": round(ray_span, 3),
        "ray_steady_overhead_per_trial_s": round((ray_span - ray_ideal) / trials, 4),
        "steady_throughput_ratio_ray_to_local": round(local_span / ray_span, 3),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--sleep", type=float, default=0.5, help="seconds each evaluation takes")
    parser.add_argument("--concurrent", type=int, default=2, help="Ray trials at once (and Ray's CPUs)")
    parser.add_argument("--no-reuse-actors", action="store_true", help="a new Tune actor per trial")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="executor-overhead-") as workdir:
        try:
            figures = measure(args.trials, args.sleep, args.concurrent, not args.no_reuse_actors, Path(workdir))
        except BenchmarkError as exc:
            print(f"executor_overhead: {exc}", file=sys.stderr)
            return 1
    if args.json:
        print(json.dumps(figures))
    else:
        width = max(map(len, figures))
        for name, value in figures.items():
            print(f"{name:<{width}}  {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
