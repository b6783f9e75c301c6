"""Drawings of a network's cells: a Graphviz ``.dot`` file per distinct cell, and its PNG
(drawn by Graphviz' ``dot`` where it is installed, else by matplotlib)."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any, Mapping, Sequence


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
            lines.append(f'  s{edge["input"]} -> s{state} [label="{_edge_label(edge)}"];')
    lines.append(f'  out [label="{cell.get("combine", "concat")}", shape=ellipse];')
    lines += [f"  s{state} -> out;" for state in cell["output"]]
    lines.append("}")
    return "\n".join(lines) + "\n"


def _edge_label(edge: Mapping[str, Any]) -> str:
    params = ",".join(f"{k}={v}" for k, v in sorted(edge.get("params", {}).items()) if k in ("k", "dilation"))
    return edge["op"] + (f" {params}" if params else "")


def cells_png(cells: Sequence[tuple[str, Mapping[str, Any]]], path: Path, format: str | None = None) -> Path:
    """``(title, cell)`` pairs drawn one above the other with matplotlib (no Graphviz
    needed): states left to right, each edge an arc labelled with its op, the output last
    (no pairs: a note saying there is no cell). Uses no pyplot state, so threads may draw
    at once."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    widths = [len(cell["nodes"]) + int(cell.get("inputs", 1)) + 1 for _, cell in cells] or [1]
    figure = Figure(figsize=(1.6 * max(widths) + 1, 3.2 * max(1, len(cells))))
    FigureCanvasAgg(figure)
    for row, (title, cell) in enumerate(cells):
        _draw_cell(figure.add_subplot(len(cells), 1, row + 1), cell, title)
    if not cells:
        figure.text(0.5, 0.5, "no cell with two or more edges to draw", ha="center", va="center")
    figure.savefig(path, dpi=110, bbox_inches="tight", format=format)
    return path


def _draw_cell(axes: Any, cell: Mapping[str, Any], title: str) -> None:
    from matplotlib.patches import FancyArrowPatch

    inputs = int(cell.get("inputs", 1))
    nodes = list(cell["nodes"])
    labels = [f"input {i}" for i in range(inputs)] + [str(n.get("combine", "add")) for n in nodes] + \
        [str(cell.get("combine", "concat"))]
    out = len(labels) - 1
    arcs = [(edge["input"], inputs + offset, _edge_label(edge)) for offset, node in enumerate(nodes)
            for edge in node["edges"]] + [(state, out, "") for state in cell["output"]]
    for index, label in enumerate(labels):
        axes.text(index, 0, label, ha="center", va="center", fontsize=8,
                  bbox={"boxstyle": "round", "facecolor": "#dde8f5" if index < inputs or index == out else "white"})
    for number, (start, end, label) in enumerate(arcs):
        bend = 0.25 + 0.1 * (number % 3) if end - start > 1 else 0.0
        axes.add_patch(FancyArrowPatch((start, 0.08), (end, 0.08), connectionstyle=f"arc3,rad=-{bend}",
                                       arrowstyle="-|>", mutation_scale=10, shrinkA=14, shrinkB=14, linewidth=0.8))
        if label:
            axes.text((start + end) / 2, 0.1 + bend * (end - start) / 2, label, ha="center", fontsize=6.5,
                      color="#8a2b0e")
    axes.set_xlim(-0.7, out + 0.7)
    axes.set_ylim(-0.5, 0.2 + 0.45 * max(1, len(labels) / 2))
    axes.set_title(title, fontsize=9)
    axes.axis("off")


def distinct_cells(network: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    """``(stage name, cell)`` for each distinct cell of a network with two or more edges."""
    cells, seen = [], set()
    for index, stage in enumerate(network["stages"]):
        cell = stage["cell"]
        signature = repr(cell)
        if signature in seen or sum(len(node["edges"]) for node in cell["nodes"]) < 2:
            continue
        seen.add(signature)
        cells.append((stage.get("name") or f"stage{index}", cell))
    return cells


def draw_cells(network: Mapping[str, Any], run_dir: Path, prefix: str = "best") -> list[Path]:
    """A ``.dot`` file and a PNG per distinct cell of a network (the PNG by ``dot`` where
    it is installed, else by matplotlib)."""
    written = []
    for name, cell in distinct_cells(network):
        path = run_dir / f"{prefix}_{name}.dot"
        path.write_text(cell_dot(cell, name))
        written.append(path)
        drawn = False
        if shutil.which("dot"):
            drawn = subprocess.run(["dot", "-Tpng", str(path), "-o", str(path.with_suffix(".png"))], check=False,
                                   capture_output=True, timeout=30).returncode == 0
        if not drawn:
            cells_png([(name, cell)], path.with_suffix(".png"))
    return written
