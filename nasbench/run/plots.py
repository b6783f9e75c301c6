"""The run's plots: best-so-far against trials and cost, accuracy against cost with the
Pareto front (``pareto.png``), and a one-shot search's curves per epoch (``oneshot.png``).
matplotlib is imported (Agg, no screen) only when a plot is drawn."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Mapping, Sequence

from nasbench.core.constraints import metric_value
from nasbench.run.pareto import pareto_front
from nasbench.run.store import HistoryRecord


def _pyplot() -> Any:
    """matplotlib's pyplot on the Agg backend (no screen), its debug logging quiet."""
    import matplotlib

    matplotlib.use("Agg")
    logging.getLogger("matplotlib").setLevel(logging.WARNING)
    import matplotlib.pyplot as plt

    return plt


COST_LABELS = {"macs": "multiply-adds", "params": "parameters", "cost_seconds": "evaluation cost (s)",
               "train_seconds": "training time (s)", "latency_b1_ms": "latency, batch 1 (ms)",
               "latency_batch_ms": "latency, batch (ms)"}


def plot_history(history: Sequence[HistoryRecord], run_dir: Path, cost: str = "macs",
                 every_cell: Sequence[tuple[float, float]] | None = None) -> list[Path]:
    """Best-so-far against trials and against time; accuracy against ``cost`` (a result
    metric: what a multi-objective search traded accuracy for) with the found front, and
    the true front of ``every_cell`` (``(cost, val_acc)`` of every cell a table knows)."""
    plt = _pyplot()

    written = []
    accuracies = [r.result.val_acc if r.result.ok and r.result.val_acc is not None else None for r in history]
    best, best_so_far = float("nan"), []
    for accuracy in accuracies:
        if accuracy is not None and not accuracy <= best:
            best = accuracy
        best_so_far.append(best)
    elapsed, total = [], 0.0
    for record in history:
        total += record.result.cost_seconds
        elapsed.append(total)
    figure, axes = plt.subplots(1, 2, figsize=(10, 4))
    axes[0].plot(range(1, len(history) + 1), best_so_far, drawstyle="steps-post")
    axes[0].set(xlabel="trials", ylabel="best validation accuracy", title="best so far")
    axes[1].plot(elapsed, best_so_far, drawstyle="steps-post")
    axes[1].set(xlabel="evaluation cost (s)", ylabel="best validation accuracy", title="best so far")
    figure.tight_layout()
    figure.savefig(run_dir / "best_so_far.png", dpi=100)
    plt.close(figure)
    written.append(run_dir / "best_so_far.png")
    with_cost = [(metric_value(r.result, cost), float(r.result.val_acc)) for r in history
                 if r.result.ok and r.result.val_acc is not None and metric_value(r.result, cost)]
    if with_cost:
        front = pareto_front(with_cost)
        figure, axis = plt.subplots(figsize=(5, 4))
        axis.scatter([c for c, _ in with_cost], [a for _, a in with_cost], s=12, alpha=0.6, label="candidates")
        axis.plot([with_cost[i][0] for i in front], [with_cost[i][1] for i in front], "r.-", label="Pareto front")
        if every_cell:
            true = pareto_front(every_cell)
            axis.plot([every_cell[i][0] for i in true], [every_cell[i][1] for i in true], "--", color="gray",
                      drawstyle="steps-post", label="true front (every cell)")
        axis.set(xscale="log", xlabel=COST_LABELS.get(cost, cost), ylabel="validation accuracy",
                 title="accuracy vs cost")
        axis.legend()
        figure.tight_layout()
        figure.savefig(run_dir / "pareto.png", dpi=100)
        plt.close(figure)
        written.append(run_dir / "pareto.png")
    return written


ONESHOT_CURVES = (("val_acc", "supernet validation accuracy"), ("train_acc", "supernet training accuracy"),
                  ("entropy", "architecture entropy (nats)"), ("skip_connections", "skip connections, normal cell"))


def plot_oneshot(epochs: Sequence[Mapping[str, Any]], run_dir: Path) -> Path | None:
    """``oneshot.png``: per epoch of a one-shot search, the supernet's accuracies, the
    architecture entropy and the derived normal cell's skip connections (those recorded)."""
    plt = _pyplot()

    curves = [(key, label) for key, label in ONESHOT_CURVES if any(e.get(key) is not None for e in epochs)]
    if not epochs or not curves:
        return None
    figure, axes = plt.subplots(1, len(curves), figsize=(3.2 * len(curves), 3), squeeze=False)
    for axis, (key, label) in zip(axes[0], curves):
        axis.plot(range(1, len(epochs) + 1), [e.get(key) for e in epochs], marker=".")
        axis.set(xlabel="epoch", title=label)
    figure.tight_layout()
    path = run_dir / "oneshot.png"
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path
