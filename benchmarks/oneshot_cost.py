"""What a one-shot search costs and what its cell is worth, against training candidates.

On the digits upscaled to ``--resolution`` (32), for each one-shot method (DARTS, GDAS,
ENAS, SPOS) on NAS-Bench-201, one run in the same process, side by side:

- the wall time of the whole search (``python -m nasbench.search +space=nasbench201
  search=METHOD`` with ``--epochs`` epochs), and that time in units of one proxy
  candidate's training (the proxy evaluator, same data: the median training time of the
  random cells below), i.e. how many candidates a sample-based search could have trained
  in the same time; both in wall time and in the process's CPU time (the fairer figure
  on a machine shared with other jobs; run with ``OMP_NUM_THREADS=1``);
- the stand-alone proxy accuracy of the method's derived cell (trained from scratch by the
  same proxy evaluator, same seed) against the median of ``--random-cells`` (20) random
  NAS-Bench-201 cells trained the same way, and its rank among them.

What it does not show: the search quality of a method at its published scale (epochs,
data, network width are cut to minutes on a CPU), nor variance over seeds (one seed per
method; ``--seed`` to repeat). Run from the repository root:

    python benchmarks/oneshot_cost.py --json
    python benchmarks/oneshot_cost.py --epochs 2 --random-cells 4 --train-fraction 0.2   # a quick look
"""
from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from nasbench.config.compose import compose_overrides
from nasbench.config.parts import make_parts
from nasbench.config.schema import validate
from nasbench.cli.search import run_from_config

METHODS = ("darts", "gdas", "enas", "spos")


def composed(overrides: list[str]):
    """The search config with ``overrides``, composed and validated as the command line does."""
    return validate(compose_overrides(overrides))


def common_overrides(args: argparse.Namespace) -> list[str]:
    return ["+space=nasbench201", f"data.resolution={args.resolution}", f"data.train_fraction={args.train_fraction}",
            f"seed={args.seed}", "progress=false", f"trainer.device={args.device}",
            f"trainer.epochs={args.proxy_epochs}"]


def run_search(method: str, args: argparse.Namespace, run_dir: Path) -> dict[str, Any]:
    """One one-shot search: its wall time, derived cell and last epoch's figures."""
    cfg = composed([*common_overrides(args), f"search={method}", f"search.params.epochs={args.epochs}",
                    f"budget.trials={args.epochs}", f"search.params.device={args.device}"])
    started, cpu_started = time.perf_counter(), time.process_time()
    outcome = run_from_config(cfg, run_dir)
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    if outcome.best is None:
        raise RuntimeError(f"search={method} derived no cell")
    settings = outcome.best.result.settings
    return {"method": method, "search_seconds": seconds, "search_cpu_seconds": cpu_seconds,
            "epochs": len(outcome.history),
            "cell": outcome.best.candidate.point, "supernet_val_acc": outcome.best.result.val_acc,
            "entropy": settings.get("entropy"), "skip_connections": settings.get("skip_connections")}


def train_cell(evaluator: Any, point: str, seed: int) -> dict[str, Any]:
    """The proxy evaluator's stand-alone training of ``point`` (wall time around the call)."""
    started, cpu_started = time.perf_counter(), time.process_time()
    result = evaluator.evaluate(point, seed)
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    if result.status != "ok":
        raise RuntimeError(f"proxy training of {point} failed: {result.status} {result.message}")
    return {"cell": point, "val_acc": result.val_acc, "seconds": seconds, "cpu_seconds": cpu_seconds}


def measure(args: argparse.Namespace) -> dict[str, Any]:
    parts = make_parts(composed([*common_overrides(args), "search=random"]), None)
    space, evaluator = parts.space, parts.evaluator
    rng = random.Random(args.seed)
    randoms = [train_cell(evaluator, space.sample(rng), args.seed) for _ in range(args.random_cells)]
    candidate_seconds = statistics.median(r["seconds"] for r in randoms)
    candidate_cpu_seconds = statistics.median(r["cpu_seconds"] for r in randoms)
    random_accs = sorted(r["val_acc"] for r in randoms)
    median_acc = statistics.median(random_accs)
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for method in args.methods:
            row = run_search(method, args, Path(scratch) / method)
            trained = train_cell(evaluator, row["cell"], args.seed)
            row.update({"standalone_val_acc": trained["val_acc"], "standalone_seconds": trained["seconds"],
                        "search_in_candidates": row["search_seconds"] / candidate_seconds,
                        "search_in_candidates_cpu": row["search_cpu_seconds"] / candidate_cpu_seconds,
                        "acc_minus_random_median": trained["val_acc"] - median_acc,
                        "random_cells_below": sum(acc < trained["val_acc"] for acc in random_accs)})
            rows.append(row)
            print(f"# {method}: {row['search_seconds']:.1f} s search, cell {row['cell']} "
                  f"stand-alone {trained['val_acc']:.4f}", file=sys.stderr, flush=True)
    return {"device": args.device, "torch_threads": torch.get_num_threads(), "resolution": args.resolution,
            "train_fraction": args.train_fraction, "search_epochs": args.epochs, "proxy_epochs": args.proxy_epochs,
            "seed": args.seed, "candidate_seconds_median": candidate_seconds,
            "candidate_cpu_seconds_median": candidate_cpu_seconds,
            "candidate_seconds_min": min(r["seconds"] for r in randoms),
            "random_cells": len(randoms), "random_val_acc_median": median_acc,
            "random_val_acc_min": random_accs[0], "random_val_acc_max": random_accs[-1],
            "methods": rows, "random": randoms}


def table(report: dict[str, Any]) -> str:
    lines = [f"one proxy candidate: {report['candidate_seconds_median']:.1f} s wall, "
             f"{report['candidate_cpu_seconds_median']:.1f} s CPU (medians of {report['random_cells']}); "
             f"random cells' stand-alone val acc: median {report['random_val_acc_median']:.4f} "
             f"(min {report['random_val_acc_min']:.4f}, max {report['random_val_acc_max']:.4f})",
             f"{'method':<6} {'search s':>9} {'x cand.':>8} {'CPU s':>7} {'x cand.':>8} {'supernet':>9} {'alone':>7} "
             f"{'- median':>9} {'> random':>9}  cell"]
    for row in report["methods"]:
        lines.append(f"{row['method']:<6} {row['search_seconds']:>9.1f} {row['search_in_candidates']:>8.1f} "
                     f"{row['search_cpu_seconds']:>7.1f} {row['search_in_candidates_cpu']:>8.1f} "
                     f"{row['supernet_val_acc']:>9.4f} {row['standalone_val_acc']:>7.4f} "
                     f"{row['acc_minus_random_median']:>+9.4f} "
                     f"{row['random_cells_below']:>5}/{report['random_cells']:<3}"
                     f"  {row['cell']}")
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    parser.add_argument("--epochs", type=int, default=4, help="epochs of each one-shot search (default 4)")
    parser.add_argument("--random-cells", type=int, default=20, help="random cells trained for the median (20)")
    parser.add_argument("--proxy-epochs", type=int, default=4, help="proxy training epochs per cell (trainer, 4)")
    parser.add_argument("--resolution", type=int, default=32, help="digits upscaled to this size (32)")
    parser.add_argument("--train-fraction", type=float, default=1.0, help="share of the training split (1.0)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or auto (default cpu)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print the report as one JSON object")
    args = parser.parse_args(argv)
    for name in ("epochs", "random_cells", "proxy_epochs", "resolution"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')}: expected a positive integer, got {getattr(args, name)}")
    if not 0 < args.train_fraction <= 1:
        parser.error(f"--train-fraction: expected a number in (0, 1], got {args.train_fraction}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    report = measure(args)
    print(table(report), file=sys.stderr if args.json else sys.stdout)
    if args.json:
        print(json.dumps(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
