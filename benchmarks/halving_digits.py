"""Successive halving on digits: at the same wall time, what reaches full training.

The same search (space, strategy, seed, skeleton, proxy trainer on the embedded digits)
runs with the same ``budget.seconds`` of training wall time once per scheduler: every
candidate in full (``executor.scheduler=null``), successive halving and Hyperband (Li et
al., JMLR 2018, ``nasbench.executors.halving``). The runs go side by side, one process
each with one torch thread, so that a machine shared with other jobs slows them alike.
For each it prints how many candidates finished (stopped early or in full), how many
reached full training, the best validation accuracy among those trained in full, and
what the search charged.

Run from the repository root (with the package installed, or ``PYTHONPATH=.``):

    python benchmarks/halving_digits.py --seconds 900 --epochs 4 --eta 2 --train-fraction 0.5
    python benchmarks/halving_digits.py --seconds 60 --json
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import time
from typing import Any

SCHEDULERS: tuple[str, ...] = ("none", "halving", "hyperband")


def run_one(scheduler: str, args: dict[str, Any]) -> dict[str, Any]:
    """One search under ``scheduler`` ("none": every candidate in full); its counts."""
    import torch

    import nasbench

    torch.set_num_threads(1)
    overrides = [f"trainer.epochs={args['epochs']}", f"executor.eta={args['eta']}",
                 f"space.skeleton.filters={args['filters']}", f"data.train_fraction={args['train_fraction']}",
                 "+trainer.measure_latency=false"]
    if scheduler != "none":
        overrides.append(f"executor.scheduler={scheduler}")
    started = time.perf_counter()
    outcome = nasbench.search(args["space"], strategy=args["strategy"], seconds=args["seconds"],
                              seed=args["seed"], overrides=overrides)
    wall = time.perf_counter() - started
    finished = [r for r in outcome.history if r.result.ok]
    full = [r for r in finished if r.result.epochs_run == args["epochs"]]
    best = max((r.result.val_acc for r in full), default=None)
    return {"scheduler": scheduler, "finished": len(outcome.history), "full_training": len(full),
            "stopped_early": sum(bool(r.result.settings.get("stopped_by")) for r in finished),
            "failed": len(outcome.history) - len(finished), "best_full_val_acc": best,
            "charged_seconds": round(sum(r.result.cost_seconds for r in outcome.history), 1),
            "wall_seconds": round(wall, 1)}


def table(rows: list[dict[str, Any]]) -> str:
    """The runs side by side, one column per scheduler."""
    keys = ("finished", "full_training", "stopped_early", "failed", "best_full_val_acc", "charged_seconds",
            "wall_seconds")
    width = max(len(key) for key in keys) + 2
    lines = ["".ljust(width) + "".join(str(row["scheduler"]).rjust(12) for row in rows)]
    for key in keys:
        cells = ["-" if row[key] is None else (f"{row[key]:.4f}" if isinstance(row[key], float) and key.startswith(
            "best") else str(row[key])) for row in rows]
        lines.append(key.ljust(width) + "".join(cell.rjust(12) for cell in cells))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=240.0, help="training wall time of each search")
    parser.add_argument("--epochs", type=int, default=9, help="epochs of a full proxy training")
    parser.add_argument("--eta", type=int, default=3)
    parser.add_argument("--space", default="nasnet")
    parser.add_argument("--strategy", default="random")
    parser.add_argument("--filters", type=int, default=4, help="F of the proxy network")
    parser.add_argument("--train-fraction", type=float, default=1.0, help="fraction of the training split kept")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--schedulers", nargs="+", default=list(SCHEDULERS), choices=SCHEDULERS)
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    args = vars(parser.parse_args(argv))
    context = multiprocessing.get_context("spawn")
    with context.Pool(len(args["schedulers"])) as pool:
        rows = pool.starmap(run_one, [(scheduler, args) for scheduler in args["schedulers"]])
    settings = {key: args[key] for key in ("seconds", "epochs", "eta", "space", "strategy", "filters", "train_fraction",
                                           "seed")}
    print(json.dumps({"settings": settings, "runs": rows}) if args["json"] else
          f"{settings}\n{table(rows)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
