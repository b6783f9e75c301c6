"""What a researcher reads after a search: ``summary.md``, plots, and drawings of the best
cells (Graphviz ``.dot`` always; a PNG when ``dot`` is installed)."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any, Mapping, Sequence

from nasbench.run.loop import best_record, best_summary
from nasbench.run.store import HistoryRecord, RunStore
from search_spaces.spaces.base import Space


def pareto_front(points: Sequence[tuple[float, float]]) -> list[int]:
    """Indices of the points not dominated in (lower cost, higher accuracy), by cost."""
    order = sorted(range(len(points)), key=lambda i: (points[i][0], -points[i][1]))
    front, best_accuracy = [], float("-inf")
    for index in order:
        if points[index][1] > best_accuracy:
            front.append(index)
            best_accuracy = points[index][1]
    return front


def summary_markdown(history: Sequence[HistoryRecord], top: int = 10,
                     strategy_report: Mapping[str, Any] | None = None,
                     answer: tuple[HistoryRecord, str] | None = None) -> str:
    """The run's summary: the best candidates, early stopping, what the strategy reports
    of itself (``strategy_report``: a strategy's optional ``report()``), failures.
    ``answer``: the record a search answers with when it is not the best-ranked one, and
    why (a one-shot search's last derived cell)."""
    finished = sorted((r for r in history if r.result.ok and r.result.val_acc is not None),
                      key=lambda r: -r.result.val_acc)
    failures = [r for r in history if not r.result.ok]
    lines = [f"# Search summary", "", f"{len(history)} candidates, {len(finished)} finished, "
             f"{len(failures)} failed.", ""]
    if answer is not None:
        record, why = answer
        lines += [f"The search's answer (`best.json`): trial {record.candidate.trial}, `{record.candidate.key}`"
                  f"{'' if record.result.val_acc is None else f', val_acc {record.result.val_acc:.4f}'}: {why}", ""]
    if len(finished) > top:
        lines += [f"The {top} best of the {len(finished)} finished, by val_acc:", ""]
    lines += ["| rank | trial | key | val_acc | epochs | test_acc | params | MACs | cost (s) |",
              "| ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for rank, record in enumerate(finished[:top], start=1):
        result = record.result
        key = record.candidate.key.replace("|", "\\|")  # a pipe ends a table cell, even inside backticks (GFM)
        lines.append(f"| {rank} | {record.candidate.trial} | `{key}` | {result.val_acc:.4f} | "
                     f"{result.epochs_run} | "
                     f"{'' if result.test_acc is None else f'{result.test_acc:.4f}'} | "
                     f"{'' if result.params is None else f'{result.params:,}'} | "
                     f"{'' if result.macs is None else f'{result.macs:,}'} | {result.cost_seconds:.1f} |")
    lines += early_stopping_markdown(history)
    lines += strategy_markdown(strategy_report or {})
    if failures:
        lines += ["", "## Failures", ""]
        lines += [f"- trial {r.candidate.trial}: {r.result.status}: {r.result.message}" for r in failures[:top]]
    return "\n".join(lines) + "\n"


def strategy_markdown(strategy_report: Mapping[str, Any]) -> list[str]:
    """A "Strategy" section listing what a strategy reports of itself (the predictor's rank
    correlation, local optima met, ...); nothing when it reports nothing."""
    if not strategy_report:
        return []
    lines = ["", "## Strategy", ""]
    for name, value in strategy_report.items():
        shown = "n/a" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)
        lines.append(f"- {name}: {shown}")
    return lines


def early_stopping_markdown(history: Sequence[HistoryRecord]) -> list[str]:
    """The rungs of a search whose scheduler stopped candidates early (successive halving,
    Hyperband, ASHA): per epoch count, how many candidates trained that far and how many
    were stopped there; nothing for a search without early stopping."""
    finished = [r for r in history if r.result.ok]
    stopped = [r for r in finished if r.result.settings.get("stopped_by")]
    if not stopped:
        return []
    schedulers = ", ".join(sorted({str(r.result.settings["stopped_by"]) for r in stopped}))
    full = max(r.result.epochs_run for r in finished)
    lines = ["", f"## Early stopping ({schedulers})", "",
             f"{len(stopped)} candidates stopped early, {len(finished) - len(stopped)} trained in full "
             f"({full} epochs).", "", "| epochs | trained that far | stopped there |", "| ---: | ---: | ---: |"]
    for epochs in sorted({r.result.epochs_run for r in finished}):
        reached = sum(r.result.epochs_run >= epochs for r in finished)
        there = sum(r.result.epochs_run == epochs for r in stopped)
        lines.append(f"| {epochs} | {reached} | {there} |")
    return lines


COST_LABELS = {"macs": "multiply-adds", "params": "parameters", "cost_seconds": "evaluation cost (s)",
               "train_seconds": "training time (s)", "latency_b1_ms": "latency, batch 1 (ms)",
               "latency_batch_ms": "latency, batch (ms)"}


def plot_history(history: Sequence[HistoryRecord], run_dir: Path, cost: str = "macs") -> list[Path]:
    """Best-so-far against trials and against time; accuracy against ``cost`` (an
    ``EvalResult`` field: what a multi-objective search traded accuracy for) with the front."""
    import logging

    import matplotlib

    matplotlib.use("Agg")
    logging.getLogger("matplotlib").setLevel(logging.WARNING)
    import matplotlib.pyplot as plt

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
    with_cost = [(float(getattr(r.result, cost)), float(r.result.val_acc)) for r in history
                 if r.result.ok and r.result.val_acc is not None and getattr(r.result, cost, None)]
    if with_cost:
        front = pareto_front(with_cost)
        figure, axis = plt.subplots(figsize=(5, 4))
        axis.scatter([c for c, _ in with_cost], [a for _, a in with_cost], s=12, alpha=0.6, label="candidates")
        axis.plot([with_cost[i][0] for i in front], [with_cost[i][1] for i in front], "r.-", label="Pareto front")
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
    import logging

    import matplotlib

    matplotlib.use("Agg")
    logging.getLogger("matplotlib").setLevel(logging.WARNING)
    import matplotlib.pyplot as plt

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


def cell_dot(cell: Mapping[str, Any], title: str) -> str:
    """A Graphviz drawing of one cell: inputs, nodes, edges labelled with their ops."""
    inputs = int(cell.get("inputs", 1))
    lines = [f'digraph "{title}" {{', "  rankdir=LR;", f'  label="{title}";',
             "  node [shape=box, style=rounded];"]
    for index in range(inputs):
        lines.append(f'  s{index} [label="input {index}", shape=ellipse];')
    for offset, node in enumerate(cell["nodes"]):
        state = inputs + offset
        lines.append(f'  s{state} [label="{node.get("combine", "add")}"];')
        for edge in node["edges"]:
            params = ",".join(f"{k}={v}" for k, v in sorted(edge.get("params", {}).items()) if k in ("k", "dilation"))
            label = edge["op"] + (f" {params}" if params else "")
            lines.append(f'  s{edge["input"]} -> s{state} [label="{label}"];')
    lines.append(f'  out [label="{cell.get("combine", "concat")}", shape=ellipse];')
    lines += [f"  s{state} -> out;" for state in cell["output"]]
    lines.append("}")
    return "\n".join(lines) + "\n"


def draw_cells(network: Mapping[str, Any], run_dir: Path, prefix: str = "best") -> list[Path]:
    """A ``.dot`` file per distinct cell of a network (and a PNG where ``dot`` exists)."""
    written, seen = [], set()
    for index, stage in enumerate(network["stages"]):
        cell = stage["cell"]
        signature = repr(cell)
        if signature in seen or sum(len(node["edges"]) for node in cell["nodes"]) < 2:
            continue
        seen.add(signature)
        name = stage.get("name") or f"stage{index}"
        path = run_dir / f"{prefix}_{name}.dot"
        path.write_text(cell_dot(cell, name))
        written.append(path)
        if shutil.which("dot"):
            subprocess.run(["dot", "-Tpng", str(path), "-o", str(path.with_suffix(".png"))], check=False,
                           capture_output=True, timeout=30)
    return written


def write_report(store: RunStore, history: Sequence[HistoryRecord], space: Space,
                 skeleton: Mapping[str, Any], inputs: Mapping[str, Any] | None = None,
                 chosen: HistoryRecord | None = None, cost: str = "macs",
                 strategy_report: Mapping[str, Any] | None = None, chosen_because: str | None = None) -> None:
    """Write best.json, summary.md, the plots and the best cells' drawings.
    ``best.json`` records the space, skeleton and data ``inputs`` (classes, size,
    channels) the point was evaluated with, and ``best_network.json`` is that network, so
    ``rebuild best.json`` builds what the search evaluated. ``chosen``: the record that
    is the search's answer (a one-shot search's last derived cell), default the best by
    validation accuracy. ``cost``: the result field the Pareto plot sets against accuracy.
    ``strategy_report``: what the strategy says of itself, for ``summary.md``, which says
    why ``chosen`` is the answer (``chosen_because``) when one is given."""
    answer = None if chosen is None or chosen_because is None else (chosen, chosen_because)
    store.write_text("summary.md", summary_markdown(history, strategy_report=strategy_report, answer=answer))
    if not history:
        return
    plot_history(history, store.run_dir, cost)
    best = chosen or best_record(list(history))
    if best is None:
        return
    inputs = dict(inputs or {})
    store.write_json("best.json", {**best_summary(best), "space": space.name, "skeleton": dict(skeleton),
                                   "inputs": inputs})
    try:
        network = space.network(best.candidate.point, skeleton=skeleton, **inputs).to_dict()
    except ValueError:
        return
    store.write_json("best_network.json", network)
    draw_cells(network, store.run_dir)
