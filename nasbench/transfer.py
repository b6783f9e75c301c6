"""``python -m nasbench.transfer SOURCE``: stack a searched (or published) cell into a
full-scale network, print its layer table and check it against the published figures.

A cell found on a small proxy network is transferred by changing only the skeleton
around it (Zoph et al. 2018, "Learning Transferable Architectures for Scalable Image
Recognition", https://arxiv.org/abs/1707.07012, Sec. 2 and 4.2): more cells per stage
(N), more filters (F), and for ImageNet NASNet's stem of two reduction cells
(``search_spaces.skeletons``). SOURCE is one of

- a run directory of ``nasbench.search`` (``config.yaml`` names the space, ``best.json``
  holds the best point);
- a JSON file holding a point (``{"normal": [...], "reduce": [...]}``), optionally
  wrapped as ``{"space": ..., "point": ...}`` (``best.json`` and history rows are such
  wrappings);
- a published cell (``nasnet_a``, ``amoeba_a``, ``darts_v2``, ``enas``), built with its
  release's concatenation (``PublishedCell.implementation_output``), which is what the
  papers counted.

SOURCE is resolved by ``nasbench.resolve`` (``load_cell`` restricts it to cells). The
work is in importable functions (``load_cell``, ``transfer_genotype``, ``figure_checks``);
the table and the checks are ``nasbench.summary``'s, the counting is
``nasbench.rebuild.measure`` (on the meta device), the export ``nasbench.export``.
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Mapping, Sequence

from search_spaces.build import BuildError
from search_spaces.formats import FORMATS as CELL_FORMATS
from search_spaces.genotype import GenotypeError
from search_spaces.ops import OpError
from search_spaces.published import PUBLISHED
from search_spaces.skeletons import IMAGENET_PRESETS, SKELETONS, SkeletonError
from search_spaces.spaces.base import SpaceError
from search_spaces.spaces.cell_spaces import cell_space_names
from search_spaces.zoo.registry import Figures

from .errors import UsageError, stdout_closed
from .export import FORMATS, export_network
from .rebuild import build, measure, natural_cell_text, print_cell
from .resolve import POINT_ORIGINS, Resolved, SpacesTaken, resolve
from .summary import FigureCheck, NetworkSummary, check_figures, format_table, summary_to_dict

PROG = "transfer"

# Cells per stage and filters of the CIFAR network each paper trained its cell in
# (used when --cells/--filters are not given): NASNet-A (6 @ 768) is N=6, F=32;
# AmoebaNet-A and DARTS use N=6, F=36; ENAS's final network (cifar10_micro_final.sh:
# 15 layers, 36 filters) N=5, F=36.
CIFAR_DEFAULTS: Mapping[str, tuple[int, int]] = {"nasnet_a": (6, 32), "amoeba_a": (6, 36), "darts_v2": (6, 36),
                                                "enas": (5, 36)}
SPACE_CIFAR_DEFAULTS: Mapping[str, tuple[int, int]] = {"nasnet": (6, 32), "amoeba": (6, 36), "darts": (6, 36)}


@dataclass(frozen=True)
class PublishedNetwork:
    """A published cell in one published skeleton, with the paper's figures. The figures
    count the network without its auxiliary head (``counts_aux=False``)."""

    cell: str
    target: str
    N: int
    F: int
    figures: tuple[Figures, ...]
    preset: str | None = None
    num_classes: int = 10
    input_size: int = 32

    @property
    def label(self) -> str:
        return self.figures[0].source


# NOTE: AmoebaNet-A (N=6, F=36: 3.2M; ImageNet N=4, F=50: 5.1M, 555M) is not checked:
# our conv_1x7_7x1 is the paper's plain 1×7-7×1 pair, not the release's bottleneck
# (see search_spaces.spaces.cell_spaces), which adds ~0.33M/0.6M parameters. ENAS's
# 4.6M comes from ENAS's own skeleton and ops, which differ from NASNet's; NASNet-A
# (7 @ 2304)'s 27.6M does not follow from N=7, F=96 in any skeleton we know (32.4M here).
PUBLISHED_NETWORKS: tuple[PublishedNetwork, ...] = (
    PublishedNetwork("nasnet_a", "imagenet", 4, 44, (
        Figures("NASNet-A (4 @ 1056), Zoph et al. 2018, Table 2", params=5_300_000, params_tolerance=0.02,
                macs=564e6, macs_tolerance=0.03, counts_aux=False),), preset="mobile", num_classes=1000,
                     input_size=224),
    PublishedNetwork("nasnet_a", "imagenet", 6, 168, (
        Figures("NASNet-A (6 @ 4032), Zoph et al. 2018, Table 2", params=88_900_000, params_tolerance=0.02,
                macs=23.8e9, macs_tolerance=0.03, counts_aux=False),), preset="large", num_classes=1000,
                     input_size=331),
    PublishedNetwork("nasnet_a", "cifar", 6, 32, (
        Figures("NASNet-A (6 @ 768), Zoph et al. 2018, Table 1", params=3_300_000, params_tolerance=0.03,
                counts_aux=False),)),
    PublishedNetwork("darts_v2", "cifar", 6, 36, (
        Figures("DARTS (second order), 20 cells, 36 channels, Liu et al. 2019, Table 1", params=3_300_000,
                params_tolerance=0.03, counts_aux=False),)),
)


@dataclass(frozen=True)
class SkeletonSettings:
    """The network around the cell. ``None`` means the default: for ``cifar`` the cell's
    paper's N and F (``CIFAR_DEFAULTS``), 10 classes, 32×32; for ``imagenet`` the
    preset's (``search_spaces.skeletons.IMAGENET_PRESETS``), 1000 classes."""

    target: str = "imagenet"
    preset: str = "mobile"
    cells: int | None = None
    filters: int | None = None
    aux: bool = False
    num_classes: int | None = None
    input_size: int | None = None
    input_channels: int = 3

    def resolved(self, cell: Resolved) -> "SkeletonSettings":
        """These settings with every default filled in for ``cell``."""
        if self.target not in SKELETONS:
            raise UsageError(f"--target: {self.target!r} is not one of {', '.join(SKELETONS)}")
        if self.target == "cifar":
            N, F = CIFAR_DEFAULTS.get(published_name(cell) or "", SPACE_CIFAR_DEFAULTS.get(cell.space or "", (6, 36)))
            classes, size = 10, 32
        else:
            if self.preset not in IMAGENET_PRESETS:
                raise UsageError(f"--preset: {self.preset!r} is not one of {', '.join(IMAGENET_PRESETS)}")
            preset = IMAGENET_PRESETS[self.preset]
            N, F, classes, size = preset.N, preset.F, 1000, preset.input_size
        return replace(self, cells=N if self.cells is None else self.cells,
                       filters=F if self.filters is None else self.filters,
                       num_classes=classes if self.num_classes is None else self.num_classes,
                       input_size=size if self.input_size is None else self.input_size)

    def describe(self) -> str:
        text = f"{self.target}" + (f" ({self.preset})" if self.target == "imagenet" else "")
        return (f"{text}, N={self.cells}, F={self.filters}, {self.num_classes} classes, "
                f"{self.input_size}x{self.input_size}" + (", auxiliary head" if self.aux else ""))


# --- the source -----------------------------------------------------------------------------

CELLS = SpacesTaken(cell_space_names(), "cell-network skeleton")


def load_cell(source: str | Path, space: str | None = None) -> Resolved:
    """A published cell name, a search run directory or a point JSON file, resolved by
    ``nasbench.resolve`` to a point of a cell space; ``space`` names the space of a bare
    point file (by default the first cell space the point belongs to)."""
    return resolve(source, space=space, origins=POINT_ORIGINS, spaces=CELLS)


def published_name(cell: Resolved) -> str | None:
    """The published cell's name, None for a searched one."""
    return cell.name if cell.origin == "published" else None


# --- the network ----------------------------------------------------------------------------

def transfer_genotype(cell: Resolved, settings: SkeletonSettings, name: str | None = None) -> dict[str, Any]:
    """The network genotype (validated plain dict) of ``cell`` in the skeleton ``settings``
    describe (defaults filled in by ``SkeletonSettings.resolved``)."""
    settings = settings.resolved(cell)
    label = name or f"{cell.name}-{settings.target}" + (f"-{settings.preset}" if settings.target == "imagenet" else "")
    skeleton = {"name": settings.target, "cells_per_stage": settings.cells, "filters": settings.filters,
                "aux_head": settings.aux, "preset": settings.preset}
    genotype = cell.network(num_classes=settings.num_classes, input_size=settings.input_size,
                            input_channels=settings.input_channels, skeleton=skeleton)
    return {**genotype, "name": label}


def published_networks(cell: Resolved, settings: SkeletonSettings) -> tuple[list[PublishedNetwork], str]:
    """The published networks of this cell in this skeleton, and why their figures do not
    apply ("" when they do: same N, F, classes and input size)."""
    settings = settings.resolved(cell)
    if published_name(cell) is None:
        return [], ""
    candidates = [net for net in PUBLISHED_NETWORKS if net.cell == published_name(cell)
                  and net.target == settings.target
                  and (settings.target != "imagenet" or net.preset == settings.preset)]
    exact = [net for net in candidates if (net.N, net.F, net.num_classes, net.input_size, settings.input_channels)
             == (settings.cells, settings.filters, settings.num_classes, settings.input_size, 3)]
    if exact or not candidates:
        return exact, ""
    wanted = "; ".join(f"{net.label}: N={net.N}, F={net.F}, {net.num_classes} classes, "
                       f"{net.input_size}x{net.input_size}" for net in candidates)
    return candidates, f"the figures are for {wanted}"


def figure_checks(cell: Resolved, settings: SkeletonSettings, summary: NetworkSummary) -> list[FigureCheck]:
    """The published figures that apply to this transfer, checked (or skipped, with the reason)."""
    networks, skip_reason = published_networks(cell, settings)
    return check_figures(summary, [figure for net in networks for figure in net.figures], skip_reason)


def check_record(check: FigureCheck) -> dict[str, Any]:
    """A check as JSON, with its difference (absolute and relative)."""
    return {**check.to_dict(), "difference": check.measured - check.expected,
            "relative_difference": check.deviation}


# --- the command ----------------------------------------------------------------------------

DESCRIPTION = """\
Transfer a cell to a full-scale network (NASNet's ImageNet skeleton, or the CIFAR one with
more cells and filters), print the network's layer table and totals, and check them
against the published figures where the cell and the skeleton are a paper's."""
EPILOG = f"""\
SOURCE is a nasbench.search run directory (config.yaml + best.json), a point JSON file
({{"normal": [...], "reduce": [...]}}, or {{"space": ..., "point": ...}}), or a published
cell: {', '.join(PUBLISHED)}. Published cells are built with their release's
concatenation, as the papers counted them.

Defaults: --target imagenet --preset mobile (NASNet's N=4, F=44, 224x224, 1000 classes;
large: N=6, F=168, 331x331); --target cifar uses the cell's paper's N and F (NASNet-A
6 @ 768: N=6, F=32; DARTS: N=6, F=36), 10 classes, 32x32.

Figures checked (parameters without the auxiliary head):
{chr(10).join(f'  {net.cell} --target {net.target}' + (f' --preset {net.preset}' if net.preset else '')
              + f': {net.label}' for net in PUBLISHED_NETWORKS)}

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
    parser.add_argument("--num-classes", type=int, metavar="N", help="classes of the classifier")
    parser.add_argument("--input-size", type=int, metavar="N", help="input side in pixels")
    parser.add_argument("--space", choices=cell_space_names(), help="the space of a bare point file")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    parser.add_argument("--export", metavar="PATH", help="write the network: .json genotype, .pt TorchScript, "
                                                         ".pt2 torch.export program, .py standalone source; "
                                                         ".txt the cell (DARTS Genotype or NB201 string)")
    parser.add_argument("--format", choices=CELL_FORMATS, help="print the cell alone: darts (Genotype(...)) "
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
                            input_size=args.input_size)


def main(argv: Sequence[str] | None = None) -> int:
    args = make_parser().parse_args(argv)
    try:
        return run(args)
    except BrokenPipeError:
        return stdout_closed()
    except (UsageError, GenotypeError, BuildError, OpError, SkeletonError, SpaceError) as exc:
        print(f"{PROG}: {_first_line(exc)}", file=sys.stderr)
        return 2


def run(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    cell = load_cell(args.source, args.space)
    if args.format:
        return print_cell(cell, args.format, args.json)
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
        "preset": settings.preset if settings.target == "imagenet" else None, "cells": settings.cells,
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


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


if __name__ == "__main__":
    raise SystemExit(main())
