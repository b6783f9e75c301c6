"""What a researcher reads after a search: ``summary.md``, ``best.json`` and
``best_network.json``, the plots (``nasbench.run.plots``) and drawings of the best
cells (``nasbench.run.drawings``: Graphviz ``.dot`` always; a PNG when ``dot`` is
installed)."""
from __future__ import annotations

from typing import Any, Mapping, Sequence

from nasbench.core.constraints import Constraints, is_infeasible, metric_value
from nasbench.run.best import best_record, counts_as_best, write_best
from nasbench.run.journal import point_text
from nasbench.run.pareto import hypervolume, pareto_front
from nasbench.run.drawings import draw_cells
from nasbench.run.plots import plot_history
from nasbench.run.store import HistoryRecord, RunStore
from search_spaces.spaces.base import Space


def summary_markdown(history: Sequence[HistoryRecord], top: int = 10,
                     strategy_report: Mapping[str, Any] | None = None,
                     answer: tuple[HistoryRecord, str] | None = None,
                     constraints: Constraints | None = None, front: str | None = None,
                     every_cell: Sequence[tuple[float, float]] | None = None, description: str = "") -> str:
    """The run's summary: the best candidates, early stopping, what the strategy reports
    of itself (``strategy_report``: a strategy's optional ``report()``), failures.
    ``answer``: the record a search answers with when it is not the best-ranked one, and
    why (a one-shot search's last derived cell)."""
    finished = sorted((r for r in history if r.result.ok and r.result.val_acc is not None),
                      key=lambda r: -r.result.val_acc)
    failures = [r for r in history if not r.result.ok]
    lines = ["# Search summary", "", *([f"`{description}`", ""] if description else []),
             f"{len(history)} candidates, {len(finished)} finished, {len(failures)} failed.", ""]
    if answer is not None:
        record, why = answer
        lines += [f"The search's answer (`best.json`): trial {record.candidate.trial}, `{record.candidate.key}`"
                  f"{'' if record.result.val_acc is None else f', val_acc {record.result.val_acc:.4f}'}: {why}", ""]
    if len(finished) > top:
        lines += [f"The {top} best of the {len(finished)} finished, by val_acc:", ""]
    simulated = bool(finished) and all(r.result.settings.get("evaluator") == "nasbench201" for r in finished)
    cost = "cost (s, the table's 12-epoch estimate)" if simulated else "cost (s)"
    lines += [f"| rank | trial | key | val_acc | epochs | test_acc | params | MACs | {cost} |",
              "| ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for rank, record in enumerate(finished[:top], start=1):
        result = record.result
        key = record.candidate.key.replace("|", "\\|")  # a pipe ends a table cell, even inside backticks (GFM)
        lines.append(f"| {rank} | {record.candidate.trial} | `{key}` | {result.val_acc:.4f} | "
                     f"{result.epochs_run} | "
                     f"{'' if result.test_acc is None else f'{result.test_acc:.4f}'} | "
                     f"{'' if result.params is None else f'{result.params:,}'} | "
                     f"{'' if result.macs is None else f'{result.macs:,}'} | {result.cost_seconds:.1f} |")
    lines += constraints_markdown(history, constraints or Constraints())
    lines += front_markdown(history, front, every_cell) if front else []
    lines += early_stopping_markdown(history)
    lines += strategy_markdown(strategy_report or {})
    if failures:
        lines += ["", "## Failures", ""]
        lines += [f"- trial {r.candidate.trial}: {r.result.status}: {r.result.message}" for r in failures[:top]]
    return "\n".join(lines) + "\n"


def constraints_markdown(history: Sequence[HistoryRecord], constraints: Constraints) -> list[str]:
    """A "Constraints" section: what the pick had to meet, how many candidates did, the
    pick's values (nothing for a search without constraints)."""
    if not constraints:
        return []
    finished = [r for r in history if r.result.ok]
    feasible = [r for r in finished if not is_infeasible(r.result)]
    lines = ["", "## Constraints", "", f"`{', '.join(constraints.texts)}`: {len(feasible)} of the {len(finished)} "
             f"finished candidates meet {'it' if len(constraints) == 1 else 'every one'}."]
    pick = best_record(history)
    if pick is None:
        return lines + ["No candidate meets them: there is no pick (`best.json` is not written)."]
    values = ", ".join(f"{c.metric} {metric_value(pick.result, c.metric):g}" for c in constraints.items)
    return lines + [f"The pick (`best.json`) is the best of them by val_acc: trial {pick.candidate.trial}, "
                    f"val_acc {pick.result.val_acc:.4f}, {values}."]


def front_markdown(history: Sequence[HistoryRecord], cost: str,
                   every_cell: Sequence[tuple[float, float]] | None = None) -> list[str]:
    """A multi-objective search's "Pareto front" section: the feasible finished candidates
    no other beats on both val_acc and ``cost``, their hypervolume against a reference
    point (val_acc 0; the worst ``cost`` of ``every_cell`` when the whole table is known,
    else of the candidates), and its ratio to the true front of ``every_cell``."""
    scored = [(metric_value(r.result, cost), r.result.val_acc, r) for r in history if counts_as_best(r.result)]
    scored = [(value, acc, r) for value, acc, r in scored if value is not None]
    if not scored:
        return []
    points = [(value, acc) for value, acc, _ in scored]
    worst = max(value for value, _ in (every_cell or points))
    reference = (worst, 0.0)
    area = hypervolume(points, reference)
    lines = ["", f"## Pareto front (val_acc against {cost})", "",
             f"{len(pareto_front(points))} of the {len(points)} feasible finished candidates are on the front.", "",
             f"| trial | key | val_acc | {cost} |", "| ---: | --- | ---: | ---: |"]
    for index in pareto_front(points):
        value, acc, record = scored[index]
        key = record.candidate.key.replace("|", "\\|")
        lines.append(f"| {record.candidate.trial} | `{key}` | {acc:.4f} | {value:g} |")
    where = "the table's worst" if every_cell else "the candidates' worst"
    lines += ["", f"Hypervolume {area:.6g} against the reference point ({cost} {worst:g}, {where}; val_acc 0)."]
    if every_cell:
        true_area = hypervolume(every_cell, reference)
        lines[-1] += (f" The true front of all {len(every_cell):,} cells: {true_area:.6g}; "
                      f"found / true {area / true_area:.4f}.")
    return lines


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


def write_report(store: RunStore, history: Sequence[HistoryRecord], space: Space,
                 chosen: HistoryRecord | None = None, cost: str = "macs",
                 strategy_report: Mapping[str, Any] | None = None, chosen_because: str | None = None,
                 constraints: Constraints | None = None, front: str | None = None,
                 every_cell: Sequence[tuple[float, float]] | None = None, description: str = "") -> None:
    """Write summary.md, the plots, best.json and best_network.json, and the best cells'
    drawings. ``store.about`` says what the points were evaluated in (its ``skeleton``
    and the data's ``inputs``: classes, size, channels), so ``best_network.json`` is the
    network the search evaluated and ``rebuild best.json`` builds it. ``chosen``: the
    record that is the search's answer (a one-shot search's last derived cell), default
    the best by validation accuracy. ``cost``: the result field the Pareto plot sets
    against accuracy. ``strategy_report``: what the strategy says of itself, for
    ``summary.md``, which says why ``chosen`` is the answer (``chosen_because``) when one
    is given."""
    answer = None if chosen is None or chosen_because is None else (chosen, chosen_because)
    summary = summary_markdown(history, strategy_report=strategy_report, answer=answer, constraints=constraints,
                               front=front, every_cell=every_cell, description=description)
    store.write_text("summary.md", summary)
    if not history:
        return
    plot_history(history, store.run_dir, cost, every_cell)
    best = chosen or best_record(list(history))
    if best is None:
        return
    write_best(store, best)
    skeleton, inputs = dict(store.about.get("skeleton") or {}), dict(store.about.get("inputs") or {})
    try:
        network = space.network(best.candidate.point, skeleton=skeleton, **inputs).to_dict()
    except ValueError:
        return
    store.write_json("best_network.json", network)
    drawn = draw_cells(network, store.run_dir)
    store.write_text("summary.md", summary + pick_markdown(best, point_text(space, best.candidate.point),
                                                           [path.with_suffix(".png").name for path in drawn]))


def pick_markdown(pick: HistoryRecord, cell: str, drawings: Sequence[str]) -> str:
    """The pick's section of ``summary.md``: its cell as the field writes it (DARTS'
    ``Genotype(...)``, an NB201 string) and its drawings."""
    lines = ["", "## The pick (`best.json`)", "", f"Trial {pick.candidate.trial}, `{pick.candidate.key}`:", "",
             "```", cell, "```", ""]
    lines += [f"![{name}]({name})" for name in drawings]
    return "\n".join(lines) + "\n"
