"""Search quality on NAS-Bench-201, by the paper's protocol.

Dong & Yang, "NAS-Bench-201", ICLR 2020, https://arxiv.org/abs/2001.00326, Sec. 5:
each search gets 12,000 s of simulated query cost, picks the cell with the best
12-epoch validation accuracy, and reports that cell's 200-epoch test accuracy; the
figure is the mean ± std over independent runs (run ``i`` uses seed ``i``). The anytime
plot shows the mean test accuracy of each search's incumbent (its best-validation cell so
far) against simulated seconds, the table's optimum dashed.

    python benchmarks/nb201_strategies.py --runs 100 --plot benchmarks/figures/nb201_cifar10.png
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

from nasbench.evaluators.nasbench201 import NasBench201Evaluator
from nasbench.tables.nasbench201 import DATASETS
from nasbench.run.search_loop import run_search
from nasbench.strategies import Budget, make_strategy  # noqa: E402
from search_spaces.spaces.nasbench201 import NasBench201Space  # noqa: E402

STRATEGIES: tuple[str, ...] = ("random", "evolution", "reinforce", "tpe", "local", "bananas")
PLOT_STEP_SECONDS = 100.0  # the anytime curve's resolution
# Published CIFAR-10 test accuracy (%) of the NAS-Bench-201 paper, Table 5: (mean, std).
PUBLISHED_CIFAR10 = types.MappingProxyType({"random": (93.70, 0.36), "reinforce": (93.85, 0.37)})
PUBLISHED_CIFAR10_OPTIMUM = 94.37


@functools.lru_cache(maxsize=None)
def _table(path: str | None, dataset: str) -> NasBench201Evaluator:
    """One loaded table per worker process and dataset."""
    table = NasBench201Evaluator(path, dataset)
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
    """One search: its pick's test accuracy (%), query count, the seconds it took, its
    anytime curve (``incumbent``: simulated seconds spent and the incumbent's test
    accuracy after each result) and what the strategy reports of itself (``report``)."""
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
        "incumbent": incumbent_curve(outcome.history),
        "report": getattr(strategy, "report", dict)(),
    }


def incumbent_curve(history: Sequence[Any]) -> list[tuple[float, float]]:
    """(simulated seconds spent, test accuracy (%) of the best-validation cell so far) after
    each result; ties keep the earlier cell, as the search's pick does."""
    curve, spent, best_val, best_test = [], 0.0, None, None
    for record in history:
        spent += record.result.cost_seconds
        result = record.result
        if result.ok and result.val_acc is not None and (best_val is None or result.val_acc > best_val):
            best_val, best_test = result.val_acc, 100.0 * result.test_acc
        if best_test is not None:
            curve.append((spent, best_test))
    return curve


def mean_anytime(curves: Sequence[Sequence[tuple[float, float]]], budget_seconds: float,
                 step: float = PLOT_STEP_SECONDS) -> tuple[list[float], list[float | None]]:
    """The mean incumbent test accuracy over runs every ``step`` simulated seconds (runs
    with no result yet left out; None where no run has one)."""
    grid = [step * i for i in range(1, int(budget_seconds // step) + 1)]
    means: list[float | None] = []
    for moment in grid:
        values = [next((acc for spent, acc in reversed(curve) if spent <= moment), None) for curve in curves]
        known = [value for value in values if value is not None]
        means.append(statistics.fmean(known) if known else None)
    return grid, means


def summarize(records: list[dict[str, Any]]) -> dict[str, Any]:
    accs = [r["test_acc"] for r in records if r["test_acc"] is not None]
    summary = {
        "runs": len(records),
        "mean": statistics.fmean(accs),
        "std": statistics.pstdev(accs),  # population std, as np.std in the paper's scripts
        "mean_queries": statistics.fmean(r["queries"] for r in records),
        "mean_search_seconds": statistics.fmean(r["seconds"] for r in records),
    }
    taus = [r["report"]["predictor_kendall_tau"] for r in records
            if r["report"].get("predictor_kendall_tau") is not None]
    if taus:
        summary["predictor_kendall_tau"] = statistics.fmean(taus)  # on held-out points, mean over runs
    return summary


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
    anytime: dict[str, Any] = {}
    for name in strategies:
        grid, means = mean_anytime([r["incumbent"] for r in records if r["strategy"] == name], budget_seconds)
        anytime["seconds"], anytime[name] = grid, means
    return {
        "dataset": dataset,
        "runs": runs,
        "budget_seconds": budget_seconds,
        "strategies": summary,
        "table_optimum": 100.0 * table.optimum(),
        "published_optimum": PUBLISHED_CIFAR10_OPTIMUM if dataset == "cifar10" else None,
        "wall_seconds": time.perf_counter() - started,
        "anytime": anytime,
    }


def format_report(report: dict[str, Any]) -> str:
    lines = [
        f"NAS-Bench-201 {report['dataset']}: {report['runs']} runs per strategy, "
        f"{report['budget_seconds']:.0f} s simulated budget; test accuracy (%) of the best-validation pick",
        f"{'strategy':<10} {'measured':>16} {'published':>16} {'queries':>8} {'s/search':>9} {'tau':>6}",
    ]
    for name, f in report["strategies"].items():
        published = "-" if f["published_mean"] is None else f"{f['published_mean']:.2f} ± {f['published_std']:.2f}"
        tau = f"{f['predictor_kendall_tau']:.2f}" if "predictor_kendall_tau" in f else "-"
        lines.append(
            f"{name:<10} {f['mean']:>8.2f} ± {f['std']:<5.2f} {published:>16} "
            f"{f['mean_queries']:>8.1f} {f['mean_search_seconds']:>9.2f} {tau:>6}"
        )
    published_optimum = "-" if report["published_optimum"] is None else f"{report['published_optimum']:.2f}"
    lines.append(f"{'optimum':<10} {report['table_optimum']:>8.2f} {'':<7} {published_optimum:>16}")
    lines.append(f"wall time {report['wall_seconds']:.0f} s; tau: the predictor's Kendall tau on held-out points")
    return "\n".join(lines)


class PlotUnavailableError(RuntimeError):
    """``--plot`` was asked for but matplotlib is not installed."""


def pyplot() -> Any:
    """matplotlib's pyplot on the file-only backend; ``PlotUnavailableError`` without it."""
    try:
        import matplotlib
    except ImportError:
        raise PlotUnavailableError("--plot needs matplotlib (pip install matplotlib)") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_anytime(report: dict[str, Any], path: Path) -> Path:
    """The anytime figure: mean incumbent test accuracy against simulated seconds, one
    line per strategy, the table's optimum dashed."""
    plt = pyplot()

    anytime = report["anytime"]
    figure, axes = plt.subplots(figsize=(6.4, 4.2), dpi=100)
    for name in report["strategies"]:
        points = [(t, m) for t, m in zip(anytime["seconds"], anytime[name]) if m is not None]
        axes.plot([t for t, _ in points], [m for _, m in points], label=name, linewidth=1.4)
    axes.axhline(report["table_optimum"], color="black", linestyle="--", linewidth=1.0, label="optimum")
    axes.set_xlabel("simulated seconds")
    axes.set_ylabel("test accuracy of the incumbent (%)")
    axes.set_title(f"NAS-Bench-201 {report['dataset']}: mean of {report['runs']} runs")
    low = min(m for name in report["strategies"] for m in anytime[name][len(anytime[name]) // 10:] if m is not None)
    axes.set_ylim(low - 0.2, report["table_optimum"] + 0.2)
    axes.legend(loc="lower right", fontsize="small")
    axes.grid(alpha=0.3)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)
    return path


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100, help="independent searches per strategy (seeds 0..runs-1)")
    parser.add_argument("--dataset", choices=DATASETS, default="cifar10")
    parser.add_argument("--strategies", nargs="+", choices=STRATEGIES, default=list(STRATEGIES))
    parser.add_argument("--budget-seconds", type=float, default=12_000.0, help="simulated query cost per search")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--table", default=None, help="nb201.csv (default: $NASBENCH201_CSV, else the table inside the package)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    parser.add_argument("--plot", type=Path, default=None, help="write the anytime plot (PNG) here")
    args = parser.parse_args(argv)
    if args.plot is not None:
        try:
            pyplot()  # refuse before searching, not after
        except PlotUnavailableError as exc:
            parser.exit(2, f"nb201_strategies: {exc}\n")
    report = run_benchmark(
        args.strategies, args.runs, args.dataset, args.budget_seconds, args.processes, args.table
    )
    if args.plot is not None:
        report["plot"] = str(plot_anytime(report, args.plot))
    print(json.dumps(report) if args.json else format_report(report))


if __name__ == "__main__":
    main()
