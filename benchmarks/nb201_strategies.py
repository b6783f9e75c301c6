"""Search quality on NAS-Bench-201, by the paper's protocol.

Dong & Yang, "NAS-Bench-201", ICLR 2020, https://arxiv.org/abs/2001.00326, Sec. 5:
each search gets 12,000 s of simulated query cost, picks the cell with the best
12-epoch validation accuracy, and reports that cell's 200-epoch test accuracy; the
figure is the mean ± std over independent runs (run ``i`` uses seed ``i``).

    python benchmarks/nb201_strategies.py --runs 100
    python benchmarks/nb201_strategies.py --runs 20 --dataset cifar100 --json
"""
from __future__ import annotations

import argparse
import functools
import json
import multiprocessing
import statistics
import sys
import time
import types
from pathlib import Path
from typing import Any, Sequence

if __package__ in (None, ""):  # run as a script: make the checkout importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nasbench.evaluators.nasbench201 import DATASETS, NasBench201Table  # noqa: E402
from nasbench.driver import run_search  # noqa: E402
from nasbench.strategies import Budget, make_strategy  # noqa: E402
from search_spaces.spaces.nasbench201 import NasBench201Space  # noqa: E402

STRATEGIES: tuple[str, ...] = ("random", "evolution", "reinforce", "tpe")
# Published CIFAR-10 test accuracy (%) of the NAS-Bench-201 paper, Table 5: (mean, std).
PUBLISHED_CIFAR10 = types.MappingProxyType({"random": (93.70, 0.36), "reinforce": (93.85, 0.37)})
PUBLISHED_CIFAR10_OPTIMUM = 94.37


@functools.lru_cache(maxsize=None)
def _table(path: str | None, dataset: str) -> NasBench201Table:
    """One loaded table per worker process and dataset."""
    table = NasBench201Table(path, dataset)
    len(table)  # load now, not inside the first timed search
    return table


def _init_worker() -> None:
    import optuna
    import torch

    torch.set_num_threads(1)  # two searches on two cores, not two fighting over both
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    # The first optimizer built in a process imports torch._dynamo (seconds): pay it here,
    # not inside the first timed REINFORCE search.
    torch.optim.Adam([torch.zeros(1, requires_grad=True)])


def search_once(task: tuple[str, int, str | None, str, float]) -> dict[str, Any]:
    """One search: its pick's test accuracy (%), query count and the seconds it took."""
    name, run, path, dataset, budget_seconds = task
    table = _table(path, dataset)
    started = time.perf_counter()
    strategy = make_strategy(name, NasBench201Space(), seed=run)
    outcome = run_search(strategy, table, Budget(seconds=budget_seconds), progress=False)  # the loop users run
    best = outcome.best
    return {
        "strategy": name,
        "run": run,
        "test_acc": None if best is None else 100.0 * best.result.test_acc,
        "queries": len(outcome.history),
        "seconds": time.perf_counter() - started,
    }


def summarize(records: list[dict[str, Any]]) -> dict[str, Any]:
    accs = [r["test_acc"] for r in records if r["test_acc"] is not None]
    return {
        "runs": len(records),
        "mean": statistics.fmean(accs),
        "std": statistics.pstdev(accs),  # population std, as np.std in the paper's scripts
        "mean_queries": statistics.fmean(r["queries"] for r in records),
        "mean_search_seconds": statistics.fmean(r["seconds"] for r in records),
    }


def run_benchmark(
    strategies: Sequence[str],
    runs: int,
    dataset: str = "cifar10",
    budget_seconds: float = 12_000.0,
    processes: int = 2,
    path: str | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Every strategy ``runs`` times; the summary per strategy and the table optimum."""
    table = _table(path, dataset)
    tasks = [(name, run, path, dataset, budget_seconds) for name in strategies for run in range(runs)]
    records: list[dict[str, Any]] = []
    started = time.perf_counter()
    with multiprocessing.Pool(processes, initializer=_init_worker) as pool:
        for record in pool.imap_unordered(search_once, tasks):
            records.append(record)
            if progress:
                print(
                    f"\r{len(records)}/{len(tasks)} searches, {time.perf_counter() - started:.0f} s",
                    end="",
                    file=sys.stderr,
                    flush=True,
                )
    if progress:
        print(file=sys.stderr)
    summary = {name: summarize([r for r in records if r["strategy"] == name]) for name in strategies}
    for name, figures in summary.items():
        published = PUBLISHED_CIFAR10.get(name) if dataset == "cifar10" else None
        figures["published_mean"], figures["published_std"] = published or (None, None)
    return {
        "dataset": dataset,
        "runs": runs,
        "budget_seconds": budget_seconds,
        "strategies": summary,
        "table_optimum": 100.0 * table.optimum(),
        "published_optimum": PUBLISHED_CIFAR10_OPTIMUM if dataset == "cifar10" else None,
        "wall_seconds": time.perf_counter() - started,
    }


def format_report(report: dict[str, Any]) -> str:
    lines = [
        f"NAS-Bench-201 {report['dataset']}: {report['runs']} runs per strategy, "
        f"{report['budget_seconds']:.0f} s simulated budget; test accuracy (%) of the best-validation pick",
        f"{'strategy':<10} {'measured':>16} {'published':>16} {'queries':>8} {'s/search':>9}",
    ]
    for name, f in report["strategies"].items():
        published = "-" if f["published_mean"] is None else f"{f['published_mean']:.2f} ± {f['published_std']:.2f}"
        lines.append(
            f"{name:<10} {f['mean']:>8.2f} ± {f['std']:<5.2f} {published:>16} "
            f"{f['mean_queries']:>8.1f} {f['mean_search_seconds']:>9.2f}"
        )
    published_optimum = "-" if report["published_optimum"] is None else f"{report['published_optimum']:.2f}"
    lines.append(f"{'optimum':<10} {report['table_optimum']:>8.2f} {'':<7} {published_optimum:>16}")
    lines.append(f"wall time {report['wall_seconds']:.0f} s")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100, help="independent searches per strategy (seeds 0..runs-1)")
    parser.add_argument("--dataset", choices=DATASETS, default="cifar10")
    parser.add_argument("--strategies", nargs="+", choices=STRATEGIES, default=list(STRATEGIES))
    parser.add_argument("--budget-seconds", type=float, default=12_000.0, help="simulated query cost per search")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--table", default=None, help="nb201.csv (default: $NASBENCH201_CSV or ../shared/data)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    args = parser.parse_args(argv)
    report = run_benchmark(
        args.strategies, args.runs, args.dataset, args.budget_seconds, args.processes, args.table
    )
    print(json.dumps(report) if args.json else format_report(report))


if __name__ == "__main__":
    main()
