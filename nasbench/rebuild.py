"""``python -m nasbench.rebuild NAME``: rebuild a zoo network (or a genotype file), print
its layer table and check it against the figures published for it.

The work is in importable functions: ``nasbench.resolve`` (a name or a file -> the
network it stands for, with its figures), ``sized`` and ``load_network`` here,
``nasbench.summary`` (the table and the checks), ``nasbench.export`` and
``nasbench.weights`` / ``nasbench.weights_source``.
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import torch
import torch.nn as nn

from search_spaces.build import BuildError, build_network
from search_spaces.formats import FORMATS as CELL_FORMATS
from search_spaces.genotype import GenotypeError, NetworkGenotype
from search_spaces.ops import OpError
from search_spaces.zoo import Zoo, ZooEntry, ZooError, zoo

from .callable_module import make_callable
from .errors import UsageError, stdout_closed
from .export import FORMATS, export_network, write_export
from .resolve import Resolved, resolve
from .summary import NetworkSummary, check_figures, format_table, summarize, summary_to_dict
from .weights import WeightMapping, load_weights, read_state_dict
from .weights_source import VariantChoice, choose_variant

PROG = "rebuild"
DESCRIPTION = """\
Rebuild a classic network from its genotype, print its layer table (output shape,
activation memory, parameters and multiply-adds of every layer, then the totals) and
check its counts against the figures published for it."""
EPILOG = f"""\
NAME is a zoo name, a torchvision/timm name of one of its variants (wide_resnet50_2,
vgg11_bn, legacy_seresnet50; torchvision.resnet50 names the library), a genotype JSON
file, or a cell (a published cell, a search run directory, a point file; a DARTS
Genotype(...) or NB201 string, typed or in a file, FILE:NAME picking one genotype of a
genotypes.py) in its space's default skeleton (nasbench.transfer sets the skeleton). A file whose genotype equals a
zoo entry's (its name says which) is checked against that entry's figures. MACs are
counted by torch.utils.flop_counter (multiply-adds = FLOPs / 2).

--export PATH writes by extension:
{chr(10).join(f'  {ext:5} {what}' for ext, what in FORMATS.items())}
--format darts|nb201 prints the cell alone in that format (a DARTS Genotype(...) for a
two-input cell, an NB201 string for a NAS-Bench-201 cell).
--weights PATH loads a torchvision/timm state_dict, pairing tensors in registration order.
Without --variant, the file's key names say whose model it holds (torchvision's
resnet50, timm's legacy_seresnet50, ...) and that model's variant is built; a --variant
the file contradicts is refused.

exit status: 0 when every figure check passes (or none applies), 1 when a figure check
fails, 2 on a usage error (unknown network or variant, malformed genotype file, a
network that cannot be built at the requested size, weights that do not fit or that
belong to another variant)."""


@dataclass(frozen=True)
class Target:
    """What NAME resolved to (``nasbench.resolve``), at the size asked for: the genotype
    to build and the figures that apply (``skip_reason`` says why they do not)."""

    source: Resolved
    genotype: dict[str, Any]
    skip_reason: str = ""

    @property
    def name(self) -> str:
        return self.source.name

    @property
    def variant(self) -> str | None:
        return self.source.variant

    @property
    def entry(self) -> ZooEntry | None:
        return self.source.entry

    @property
    def figures(self) -> tuple[Any, ...]:
        return self.source.figures


@dataclass(frozen=True)
class LoadedNetwork:
    """A rebuilt network with a weights file loaded, the variant chosen for the file and
    how its tensors were paired."""

    target: Target
    network: nn.Module
    mapping: WeightMapping
    choice: VariantChoice | None


def sized(source: Resolved, input_size: tuple[int, int] | None = None, num_classes: int | None = None) -> Target:
    """``source`` rebuilt at another input size or class count; the figure checks are then
    skipped, since the figures describe the network at its own size. A cell is stacked in
    its space's default skeleton."""
    genotype = source.network(num_classes=num_classes, input_size=input_size)
    if source.genotype is None:
        return Target(source, genotype)
    native = (tuple(source.genotype["input_size"]), source.genotype["num_classes"])
    skip_reason = ""
    if (tuple(genotype["input_size"]), genotype["num_classes"]) != native:
        skip_reason = (f"the figures are for {_size(native[0])} input, {native[1]} classes; "
                       f"rebuilt at {_size(genotype['input_size'])}, {genotype['num_classes']} classes")
    return Target(source, genotype, skip_reason)


def target_for(name: str, variant: str | None = None, input_size: tuple[int, int] | None = None,
               num_classes: int | None = None, registry: Zoo | None = None) -> Target:
    """What NAME stands for (``nasbench.resolve``), at the size asked for."""
    return sized(resolve(name, variant, registry=zoo() if registry is None else registry), input_size, num_classes)


def load_into(target: Target, weights: str | Path | Mapping[str, torch.Tensor],
              seed: int | None = None) -> LoadedNetwork:
    """``target`` built with a torchvision/timm (or our own) state_dict loaded. Unless the
    request fixed the variant (``--variant``, or a name such as ``vgg11_bn``), a zoo entry
    is built in the variant the file's weights belong to (``nasbench.weights_source``);
    a fixed variant the file contradicts is a ``WeightsVariantError``."""
    state = dict(weights) if isinstance(weights, Mapping) else read_state_dict(weights)
    source, choice = target.source, None
    if source.origin == "zoo" and source.entry is not None:
        size, classes = tuple(target.genotype["input_size"]), target.genotype["num_classes"]
        choice = choose_variant(source.entry, state, source.fixed_variant,
                                lambda variant: sized(source.with_variant(variant), size, classes).genotype)
        if choice.variant != source.variant:
            target = sized(source.with_variant(choice.variant), size, classes)
    network = build(target.genotype, seed=seed)
    return LoadedNetwork(target, network, load_weights(network, state), choice)


def load_network(name: str, weights: str | Path | Mapping[str, torch.Tensor], variant: str | None = None,
                 input_size: tuple[int, int] | None = None, num_classes: int | None = None,
                 registry: Zoo | None = None) -> LoadedNetwork:
    """NAME rebuilt with a weights file loaded, as ``rebuild NAME --weights FILE`` does."""
    return load_into(target_for(name, variant, input_size, num_classes, registry), weights)


def build_target(target: Target, weights: str | Path | Mapping[str, torch.Tensor] | None = None,
                 seed: int | None = None) -> nn.Module:
    """The network of ``target`` (initial weights from ``seed``), with ``weights`` loaded
    as ``load_into`` does when given."""
    if weights is not None:
        return load_into(target, weights, seed).network
    return build(target.genotype, seed=seed)


def _size(size: Sequence[int]) -> str:
    return "x".join(str(n) for n in size)


def parse_input_size(text: str) -> tuple[int, int]:
    """``224`` or ``160x200`` (height x width)."""
    parts = text.lower().replace(",", "x").split("x")
    try:
        values = [int(part) for part in parts]
    except ValueError:
        values = []
    if len(values) not in (1, 2) or any(v < 1 for v in values):
        raise UsageError(f"--input-size: expected a positive integer or HxW (224, 160x200), got {text!r}")
    return (values[0], values[-1])


def build(genotype: Mapping[str, Any], meta: bool = False, seed: int | None = None) -> nn.Module:
    """Build a genotype (initial weights from ``seed`` when given); ``meta``: on the meta
    device, shapes without storage."""
    try:
        if meta:
            with torch.device("meta"):
                return build_network(genotype)
        return build_network(genotype, seed=seed)
    except RuntimeError as exc:  # an auxiliary head or flatten head probed at a size that does not fit
        raise UsageError(f"{genotype.get('name') or 'the network'} cannot be built at input "
                         f"{_size(genotype['input_size'])}: {_first_line(exc)}") from exc


def measure(genotype: Mapping[str, Any]) -> NetworkSummary:
    """The summary of a genotype, counted on the meta device; where that fails (an op
    without a meta kernel, or an input too small), it is done again on the CPU, which
    either succeeds or gives the error to report."""
    try:
        with torch.device("meta"):
            network = build_network(genotype)
        return summarize(network)
    except (RuntimeError, NotImplementedError):
        pass
    network = build(genotype)
    try:
        return summarize(network)
    except RuntimeError as exc:
        raise UsageError(f"{genotype.get('name') or 'the network'} cannot run at input "
                         f"{_size(genotype['input_size'])}: {_first_line(exc)}") from exc


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


# --- the zoo listing ----------------------------------------------------------------------

def list_zoo(pattern: str = "", with_macs: bool = False,
             registry: Mapping[str, ZooEntry] | None = None) -> list[dict[str, Any]]:
    """One record per zoo entry whose name contains ``pattern``: variants, the
    torchvision/timm names of its variants (``foreign_names``), the default variant's
    parameters (and multiply-adds with ``with_macs``), the paper."""
    registry = zoo() if registry is None else registry
    records = []
    for name, entry in registry.items():
        if pattern and pattern not in name:
            continue
        genotype = NetworkGenotype.from_dict(entry.genotype()).to_dict()
        record: dict[str, Any] = {"name": name, "family": entry.family, "variant": entry.default_variant,
                                  "other_variants": [v for v in entry.variants if v != entry.default_variant],
                                  "foreign_names": [{"name": foreign.name, "variant": foreign.variant,
                                                     "libraries": list(foreign.libraries)}
                                                    for foreign in entry.foreign_names]}
        if with_macs:
            summary = measure(genotype)
            record.update(params=summary.params, macs=summary.macs)
        else:
            record["params"] = sum(p.numel() for p in build(genotype, meta=True).parameters())
        record["paper"] = entry.paper
        records.append(record)
    return records


def format_listing(records: Sequence[Mapping[str, Any]]) -> str:
    header = ["name", "variant", "other variants", "params"] + (["GMACs"] if records and "macs" in records[0] else [])
    header += ["source", "torchvision/timm names (=variant)"]
    lines = [header]
    for record in records:
        line = [record["name"], record["variant"], ", ".join(record["other_variants"]) or "-", f"{record['params']:,}"]
        if "macs" in record:
            line.append(f"{record['macs'] / 1e9:.3f}")
        line += [_short_citation(record["paper"]), _foreign_names(record)]
        lines.append(line)
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    numeric = {3, 4} if "GMACs" in header else {3}
    return "\n".join("  ".join(cell.rjust(w) if i in numeric else cell.ljust(w)
                               for i, (cell, w) in enumerate(zip(line, widths))).rstrip() for line in lines)


def _foreign_names(record: Mapping[str, Any]) -> str:
    """'vgg11=paper, vgg11_bn=bn'; the variant is left out where the entry has only one."""
    several = bool(record["other_variants"])
    return ", ".join(foreign["name"] + (f"={foreign['variant']}" if several else "")
                     for foreign in record["foreign_names"]) or "-"


def _short_citation(paper: str) -> str:
    """'Deep Residual Learning ... (He et al. 2016), https://...' -> 'He et al. 2016'."""
    title = paper.split(", http")[0]
    if title.endswith(")") and "(" in title:
        return title[title.rindex("(") + 1:-1]
    return title


# --- the command ------------------------------------------------------------------------

def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, description=DESCRIPTION, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("name", nargs="?", metavar="NAME",
                        help="a zoo name or a genotype JSON file (with --list: a filter on names)")
    parser.add_argument("--list", action="store_true", help="list the zoo: variants, parameters, source")
    parser.add_argument("--macs", action="store_true", help="with --list: count multiply-adds too (slower)")
    parser.add_argument("--variant", help="a variant of the zoo entry (default: its first)")
    parser.add_argument("--input-size", metavar="N|HxW", help="rebuild at another input size (skips the checks)")
    parser.add_argument("--num-classes", type=int, metavar="N", help="rebuild with N classes (skips the checks)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    parser.add_argument("--export", metavar="PATH", help="write the network: .json genotype, .pt TorchScript, "
                                                         ".pt2 torch.export program, .py standalone PyTorch source")
    parser.add_argument("--weights", metavar="PATH", help="load a torchvision/timm state_dict (.pth/.pt) "
                                                          "into the rebuilt network (before --export .pt)")
    parser.add_argument("--format", choices=CELL_FORMATS,
                        help="print the cell alone (with --export: write it there): darts (Genotype(...)) "
                             "or nb201 (arch string)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = make_parser().parse_args(argv)
    try:
        return run(args)
    except BrokenPipeError:
        return stdout_closed()
    except (UsageError, GenotypeError, BuildError, OpError, ZooError) as exc:
        print(f"{PROG}: {_first_line(exc)}", file=sys.stderr)
        return 2


def run(args: argparse.Namespace) -> int:
    if args.list:
        records = list_zoo(args.name or "", with_macs=args.macs)
        print(json.dumps({"networks": records}) if args.json else format_listing(records))
        return 0
    if not args.name:
        raise UsageError("give a NAME (a zoo name or a genotype JSON file), or --list")
    if args.num_classes is not None and args.num_classes < 1:
        raise UsageError(f"--num-classes: expected a positive integer, got {args.num_classes}")
    input_size = parse_input_size(args.input_size) if args.input_size else None
    if args.format:
        return print_cell(resolve(args.name, args.variant), args.format, args.json, args.export)
    notes: dict[str, Any] = {}
    network = None
    if args.weights:
        loaded = load_network(args.name, args.weights, args.variant, input_size, args.num_classes, zoo())
        target, network, mapping = loaded.target, loaded.network, loaded.mapping
        notes["weights"] = {"path": args.weights, "loaded": len(mapping.pairs), "kept": list(mapping.kept),
                            "ignored": list(mapping.ignored)}
        if loaded.choice is not None:
            recognised = loaded.choice.recognised
            notes["weights"].update(variant=loaded.choice.variant, line=loaded.choice.line(target.name),
                                    recognised=recognised.name if recognised else None)
    else:
        target = target_for(args.name, args.variant, input_size, args.num_classes, zoo())
    summary = measure(target.genotype)
    checks = check_figures(summary, target.figures, target.skip_reason)
    if args.export:
        if network is None and Path(args.export).suffix.lower() in (".pt", ".pt2"):
            network = build(target.genotype)
        text = target.source.cell_text() if Path(args.export).suffix.lower() == ".txt" else None
        notes["export"] = {"path": args.export, "format": export_network(args.export, target.genotype, network,
                                                                         cell_text=text)}
    text = natural_cell_text(target.source)
    if text is not None:
        notes["cell"] = text
    if args.json:
        print(json.dumps(_json_record(target, summary, checks, notes)))
    else:
        print(_report(target, summary, checks, notes))
    return 1 if any(check.passed is False for check in checks) else 0


def print_cell(source: Resolved, format: str, as_json: bool = False, export: str | None = None) -> int:
    """``--format``: print the cell ``source`` stands for in ``format`` (alone, or as a
    JSON record), or with ``export`` write it to that file; a network or a cell without
    that form is a ``ResolveError``."""
    text = source.cell_text(format)
    record = {"name": source.name, "origin": source.origin, "space": source.space, "format": format, "cell": text}
    if export:
        write_export(Path(export), text + "\n")
        record["export"] = export
    print(json.dumps(record) if as_json else f"exported: {export} ({format} cell)" if export else text)
    return 0


def natural_cell_text(source: Resolved) -> str | None:
    """The cell of a point in its space's own format (None for networks, and for points
    of a space without a text format)."""
    if not source.is_point:
        return None
    try:
        return source.cell_text()
    except UsageError:
        return None


def _json_record(target: Target, summary: NetworkSummary, checks: Sequence[Any],
                 notes: Mapping[str, Any]) -> dict[str, Any]:
    totals = summary_to_dict(summary)
    record = {"name": target.name, "variant": target.variant, "origin": target.source.origin,
              "input_size": list(target.genotype["input_size"]),
              "num_classes": target.genotype["num_classes"], "params": summary.params, "macs": summary.macs,
              "activations": summary.activations,
              "figures": [check.to_dict() for check in checks]}
    record.update({key: totals[key] for key in ("params_without_aux", "activation_bytes", "output_shape")})
    record.update(notes)
    return record


def _report(target: Target, summary: NetworkSummary, checks: Sequence[Any], notes: Mapping[str, Any]) -> str:
    title = target.name + (f" (variant {target.variant})" if target.variant else "")
    if target.entry is not None:
        title += f": {target.entry.paper}"
    title += f"\ninput {_size(summary.input_shape)}, {target.genotype['num_classes']} classes"
    lines = [format_table(summary, title)]
    lines += [check.line() for check in checks] or ["check: no published figures registered for this network"]
    if "cell" in notes:
        lines.append(f"cell: {notes['cell']}")
    if "weights" in notes:
        weights = notes["weights"]
        if "line" in weights:
            lines.append(weights["line"])
        line = f"weights: {weights['loaded']} tensors loaded from {weights['path']}"
        if weights["kept"]:
            line += f"; {len(weights['kept'])} kept as built (none in the file)"
        if weights["ignored"]:
            line += f"; {len(weights['ignored'])} in the file unused"
        lines.append(line)
    if "export" in notes:
        lines.append(f"exported: {notes['export']['path']} ({notes['export']['format']})")
    return "\n".join(lines)


make_callable(__name__, "rebuild")  # nasbench.rebuild(...) is the API function (nasbench.api.rebuild)

if __name__ == "__main__":
    raise SystemExit(main())
