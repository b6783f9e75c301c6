"""``python -m nasbench.transfer SOURCE``: stack a searched (or published) cell into a
full-scale network, print its layer table and check it against the published figures.

SOURCE is a run directory of ``nasbench.search``, a point JSON file (optionally wrapped as
``{"space": ..., "point": ...}``), a published cell, or a cell in the field's formats.
Argument parsing and printing only: the work is ``nasbench.networks.transfer`` (the
network around the cell, the figures), the counting ``nasbench.networks.rebuild.measure``
(on the meta device), the export ``nasbench.networks.export``.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, Mapping, Sequence

from nasbench.cli.rebuild import print_cell
from nasbench.cli.command import run_command
from nasbench.core.errors import UsageError
from nasbench.networks.export import FORMATS, export_network
from nasbench.networks.layer_table import FigureCheck, NetworkSummary, format_table, summary_to_dict
from nasbench.networks.rebuild import build, measure, natural_cell_text
from nasbench.networks.resolve import Resolved
from nasbench.networks.transfer import SkeletonSettings, figure_checks, load_cell, transfer_genotype
from search_spaces.formats import FORMATS as CELL_FORMATS
from search_spaces.published import PUBLISHED
from search_spaces.skeletons import (AUX_POSITIONS, EVALUATION_SETTINGS, IMAGENET_PRESETS, SKELETONS, STEMS,
                                     SkeletonPreset)
from search_spaces.spaces import cell_space_names


PROG = "transfer"


def check_record(check: FigureCheck) -> dict[str, Any]:
    """A check as JSON, with its difference (absolute and relative)."""
    return {**check.to_dict(), "difference": check.measured - check.expected,
            "relative_difference": check.deviation}


def _network_line(network: SkeletonPreset) -> str:
    return (f"N={network.N}, F={network.F}, {network.stem} stem, {network.input_size}x{network.input_size}, "
            f"aux head after the {network.aux_position} cells")


DESCRIPTION = """\
Transfer a cell to a full-scale network (its paper's ImageNet or CIFAR network), print the
network's layer table and totals, and check them against the published figures where the
cell and the network are a paper's."""


EPILOG = f"""\
SOURCE is a nasbench.search run directory (config.yaml + best.json), a point JSON file
({{"normal": [...], "reduce": [...]}}, or {{"space": ..., "point": ...}}), or a published
cell: {', '.join(PUBLISHED)}. Published cells are built with their release's
concatenation, as the papers counted them.

Defaults: --target imagenet --preset mobile, in the networks of the cell's paper (a
published cell's own, DARTS's for a DARTS Genotype, else its space's):
{chr(10).join(f'  {name:7} {key:7} ' + _network_line(network) for name, setting in EVALUATION_SETTINGS.items()
              for key, network in setting.presets.items())}

Figures checked (parameters without the auxiliary head):
{chr(10).join(f'  {name} --target ' + ('cifar' if key == 'cifar' else f'imagenet --preset {key}')
              + f': {figure.source}' for name, cell in PUBLISHED.items() for key, figures in cell.figures.items()
              for figure in figures)}

--export PATH writes by extension:
{chr(10).join(f'  {ext:5} {what}' for ext, what in FORMATS.items())}
--format darts|nb201 prints the cell alone in that format.

SOURCE may also be a cell in the field's formats, typed or in a file: DARTS'
Genotype(...) (FILE:NAME picks one genotype of a genotypes.py) or its _asdict() JSON,
or an NB201 string.

exit status: 0 when every figure check passes (or none applies), 1 when one fails,
2 on a usage error (unknown cell, a run directory without best.json, a malformed file)."""


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description=DESCRIPTION, epilog=EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", metavar="SOURCE", help="a run directory, a point JSON file or a published cell")
    parser.add_argument("--target", choices=SKELETONS, default="imagenet", help="the skeleton (default imagenet)")
    parser.add_argument("--preset", choices=tuple(IMAGENET_PRESETS), help="ImageNet preset (default mobile)")
    parser.add_argument("--cells", type=int, metavar="N", help="normal cells per stage")
    parser.add_argument("--filters", type=int, metavar="F", help="filters of the first stage")
    parser.add_argument("--aux", action=argparse.BooleanOptionalAction, default=False,
                        help="add the auxiliary head (default: no)")
    parser.add_argument("--aux-position", choices=AUX_POSITIONS,
                        help="the auxiliary head after the normal cells before the second reduction, or after the "
                             "second reduction cell (default: the paper's)")
    parser.add_argument("--stem", choices=STEMS, help="conv (CIFAR's 3x3 conv), nasnet (conv + two reduction "
                                                      "cells) or darts (three 3x3/2 convs) (default: the paper's)")
    parser.add_argument("--num-classes", type=int, metavar="N", help="classes of the classifier")
    parser.add_argument("--input-size", type=int, metavar="N", help="input side in pixels")
    parser.add_argument("--space", choices=cell_space_names(), help="the space of a bare point file")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    parser.add_argument("--export", metavar="PATH", help="write the network: .json genotype, .pt TorchScript, "
                                                         ".pt2 torch.export program, .py standalone source; "
                                                         ".txt the cell (DARTS Genotype or NB201 string)")
    parser.add_argument("--format", choices=CELL_FORMATS,
                        help="print the cell alone (with --export: write it there): darts (Genotype(...)) "
                             "or nb201 (arch string)")
    return parser


def settings_from_args(args: argparse.Namespace) -> SkeletonSettings:
    """``SkeletonSettings`` from the parsed options, refusing nonsense with one line."""
    for option in ("cells", "filters", "num_classes", "input_size"):
        value = getattr(args, option)
        if value is not None and value < 1:
            raise UsageError(f"--{option.replace('_', '-')}: expected a positive integer, got {value}")
    if args.preset is not None and args.target != "imagenet":
        raise UsageError("--preset applies to --target imagenet")
    return SkeletonSettings(target=args.target, preset=args.preset or "mobile", cells=args.cells,
                            filters=args.filters, aux=args.aux, num_classes=args.num_classes,
                            input_size=args.input_size, stem=args.stem, aux_position=args.aux_position)


def main(argv: Sequence[str] | None = None) -> int:
    args = make_parser().parse_args(argv)
    return run_command(PROG, lambda: run(args))


def run(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    cell = load_cell(args.source, args.space)
    if args.format:
        return print_cell(cell, args.format, args.json, args.export)
    settings = settings.resolved(cell)
    genotype = transfer_genotype(cell, settings)
    summary = measure(genotype)
    checks = figure_checks(cell, settings, summary)
    notes: dict[str, Any] = {}
    if args.export:
        network = build(genotype) if Path(args.export).suffix.lower() in (".pt", ".pt2") else None
        text = cell.cell_text() if Path(args.export).suffix.lower() == ".txt" else None
        notes["export"] = {"path": args.export, "format": export_network(args.export, genotype, network, text)}
    text = natural_cell_text(cell)
    if text is not None:
        notes["cell"] = text
    if args.json:
        print(json.dumps(transfer_record(cell, settings, genotype, summary, checks, notes)))
    else:
        print(transfer_report(cell, settings, summary, checks, notes))
    return 1 if any(check.passed is False for check in checks) else 0


def transfer_record(cell: Resolved, settings: SkeletonSettings, genotype: Mapping[str, Any],
                    summary: NetworkSummary, checks: Sequence[FigureCheck],
                    notes: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The JSON record of a transfer: the source, the skeleton, the totals, the checks."""
    totals = summary_to_dict(summary)
    record: dict[str, Any] = {
        "name": genotype["name"], "source": cell.to_dict(), "target": settings.target,
        "preset": settings.preset if settings.target == "imagenet" else None, "setting": settings.setting,
        "stem": settings.stem, "aux_position": settings.aux_position, "cells": settings.cells,
        "filters": settings.filters, "aux": settings.aux, "num_classes": settings.num_classes,
        "input_size": list(genotype["input_size"]), "params": summary.params, "macs": summary.macs,
        "activations": summary.activations, "figures": [check_record(check) for check in checks],
        "pass": None if not checks or all(c.passed is None for c in checks) else
        all(c.passed is not False for c in checks)}
    record.update({key: totals[key] for key in ("params_without_aux", "aux_params", "activation_bytes",
                                                "output_shape")})
    record.update(notes or {})
    return record


def transfer_report(cell: Resolved, settings: SkeletonSettings, summary: NetworkSummary,
                    checks: Sequence[FigureCheck], notes: Mapping[str, Any] | None = None) -> str:
    origin = {"published": "published cell", "run": f"best cell of {cell.location}",
              "file": f"cell of {cell.location}", "text": f"{cell.format} cell"}[cell.origin]
    title = f"{cell.name} ({origin}, {cell.space} space) -> {settings.describe()}"
    lines = [format_table(summary, title)]
    lines += [check.line() for check in checks] or ["check: no published figures for this cell in this skeleton"]
    if notes and "cell" in notes:
        lines.append(f"cell: {notes['cell']}")
    if notes and "export" in notes:
        lines.append(f"exported: {notes['export']['path']} ({notes['export']['format']})")
    return "\n".join(lines)
