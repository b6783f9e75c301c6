"""``python -m nasbench.transfer SOURCE``: stack a searched (or published) cell into a
full-scale network, print its layer table and check it against the published figures.

A cell found on a small proxy network is transferred by changing only the skeleton
around it (Zoph et al. 2018, "Learning Transferable Architectures for Scalable Image
Recognition", https://arxiv.org/abs/1707.07012, Sec. 2 and 4.2): more cells per stage
(N), more filters (F), and for ImageNet a stem that reduces the image
(``search_spaces.skeletons``). The networks are those of the cell's paper (its evaluation
setting: a published cell's own, DARTS's for a DARTS-format cell, else its space's);
``--stem`` and ``--aux-position`` override theirs. SOURCE is one of

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
from search_spaces.skeletons import (AUX_POSITIONS, EVALUATION_SETTINGS, IMAGENET_PRESETS, SKELETONS, STEMS,
                                     SkeletonError, SkeletonPreset, resolve_preset, setting_of_space)
from search_spaces.spaces.base import SpaceError
from search_spaces.spaces.cell_spaces import cell_space_names
from search_spaces.zoo.registry import Figures

from .errors import UsageError, stdout_closed
from .export import FORMATS, export_network
from .rebuild import build, measure, natural_cell_text, print_cell
from .resolve import POINT_ORIGINS, Resolved, SpacesTaken, resolve
from .summary import FigureCheck, NetworkSummary, check_figures, format_table, summary_to_dict

PROG = "transfer"

@dataclass(frozen=True)
class SkeletonSettings:
    """The network around the cell. ``None`` means the default: the value of the cell's
    evaluation setting's network for ``target`` and ``preset`` (``setting``: None picks
    the cell's own, see ``evaluation_setting``; ``search_spaces.skeletons``)."""

    target: str = "imagenet"
    preset: str = "mobile"
    cells: int | None = None
    filters: int | None = None
    aux: bool = False
    num_classes: int | None = None
    input_size: int | None = None
    input_channels: int = 3
    stem: str | None = None
    aux_position: str | None = None
    setting: str | None = None

    def setting_for(self, cell: Resolved) -> str:
        """Whose networks ``cell`` is built in: ``setting``, else its paper's or its
        search's (``evaluation_setting``), else its space's."""
        return self.setting or evaluation_setting(cell) or setting_of_space(cell.space or "")

    def paper_network(self, cell: Resolved) -> SkeletonPreset:
        """The setting's network for ``target`` and ``preset``, as the paper built it."""
        try:
            return resolve_preset(cell.space or "", self.target, setting=self.setting_for(cell), preset=self.preset)
        except SkeletonError as exc:
            raise UsageError(_as_option(str(exc))) from None

    def resolved(self, cell: Resolved) -> "SkeletonSettings":
        """These settings with every default filled in for ``cell``."""
        network = self.paper_network(cell)
        chosen = {"cells": network.N, "filters": network.F, "num_classes": network.num_classes,
                  "input_size": network.input_size, "stem": network.stem, "aux_position": network.aux_position}
        return replace(self, setting=self.setting_for(cell),
                       **{key: value if getattr(self, key) is None else getattr(self, key)
                          for key, value in chosen.items()})

    def describe(self) -> str:
        text = f"{self.target}" + (f" ({self.preset})" if self.target == "imagenet" else "")
        return (f"{self.setting} {text}, {self.stem} stem, N={self.cells}, F={self.filters}, {self.num_classes} "
                f"classes, {self.input_size}x{self.input_size}"
                + (f", auxiliary head after the {self.aux_position} cells" if self.aux else ""))


def _as_option(message: str) -> str:
    """A skeleton error spelt with the CLI option it names (``preset: ...`` -> ``--preset: ...``)."""
    name, colon, rest = message.partition(":")
    option = {"skeleton": "target", "aux_position": "aux-position"}.get(name, name)
    known = option in ("target", "preset", "setting", "stem", "aux-position")
    return f"--{option}:{rest}" if colon and known else message


# --- the source -----------------------------------------------------------------------------

CELLS = SpacesTaken(cell_space_names(), "cell-network skeleton",
                    "python -m nasbench.rebuild SOURCE builds it in its own space's network")


def load_cell(source: str | Path, space: str | None = None) -> Resolved:
    """A published cell name, a search run directory or a point JSON file, resolved by
    ``nasbench.resolve`` to a point of a cell space; ``space`` names the space of a bare
    point file (by default the first cell space the point belongs to)."""
    return resolve(source, space=space, origins=POINT_ORIGINS, spaces=CELLS)


def published_name(cell: Resolved) -> str | None:
    """The published cell's name, None for a searched one."""
    return cell.name if cell.origin == "published" else None


def evaluation_setting(cell: Resolved) -> str | None:
    """Whose networks ``cell`` is built in: its paper's (``Resolved.paper_setting``: a
    published cell's own, DARTS's for a DARTS-format cell), a search's recorded one, else
    None (its space's, ``search_spaces.skeletons.SPACE_SETTINGS``)."""
    return cell.paper_setting or (cell.skeleton or {}).get("setting")


# --- the network ----------------------------------------------------------------------------

def transfer_genotype(cell: Resolved, settings: SkeletonSettings, name: str | None = None) -> dict[str, Any]:
    """The network genotype (validated plain dict) of ``cell`` in the skeleton ``settings``
    describe (defaults filled in by ``SkeletonSettings.resolved``)."""
    settings = settings.resolved(cell)
    label = name or f"{cell.name}-{settings.target}" + (f"-{settings.preset}" if settings.target == "imagenet" else "")
    skeleton = {"name": settings.target, "cells_per_stage": settings.cells, "filters": settings.filters,
                "aux_head": settings.aux, "preset": settings.preset, "setting": settings.setting,
                "stem": settings.stem, "aux_position": settings.aux_position}
    genotype = cell.network(num_classes=settings.num_classes, input_size=settings.input_size,
                            input_channels=settings.input_channels, skeleton=skeleton)
    return {**genotype, "name": label}


def published_figures(cell: Resolved, settings: SkeletonSettings) -> tuple[list[Figures], str]:
    """The published figures of this cell in this skeleton, and why they do not apply
    ("" when they do: the paper's network, unchanged)."""
    name = published_name(cell)
    if name is None:
        return [], ""
    settings = settings.resolved(cell)
    key = "cifar" if settings.target == "cifar" else settings.preset
    figures = list(PUBLISHED[name].figures_for(key)) if settings.setting == PUBLISHED[name].setting else []
    if not figures:
        return [], ""
    network = settings.paper_network(cell)
    wanted = (network.N, network.F, network.stem, network.num_classes, network.input_size, 3)
    given = (settings.cells, settings.filters, settings.stem, settings.num_classes, settings.input_size,
             settings.input_channels)
    if given == wanted:
        return figures, ""
    return figures, (f"the figures are for the {settings.setting} {key} network: N={network.N}, F={network.F}, "
                     f"{network.stem} stem, {network.num_classes} classes, {network.input_size}x{network.input_size}")


def figure_checks(cell: Resolved, settings: SkeletonSettings, summary: NetworkSummary) -> list[FigureCheck]:
    """The published figures that apply to this transfer, checked (or skipped, with the reason)."""
    figures, skip_reason = published_figures(cell, settings)
    return check_figures(summary, figures, skip_reason)


def check_record(check: FigureCheck) -> dict[str, Any]:
    """A check as JSON, with its difference (absolute and relative)."""
    return {**check.to_dict(), "difference": check.measured - check.expected,
            "relative_difference": check.deviation}


# --- the command ----------------------------------------------------------------------------

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


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


if __name__ == "__main__":
    raise SystemExit(main())
