"""Drawings of a network's cells: a Graphviz ``.dot`` file per distinct cell, and its PNG
where Graphviz' ``dot`` is installed."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any, Mapping


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
