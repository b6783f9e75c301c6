"""``python -m nasbench.rebuild NAME``: rebuild a zoo network (or a genotype file), print
its layer table and check it against the figures published for it.

Argument parsing and printing only: the work is ``nasbench.networks.rebuild`` (a name ->
the network, sized, with its figures and weights), ``nasbench.networks.layer_table`` (the
table and the checks) and ``nasbench.networks.export``.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, Mapping, Sequence

from nasbench.cli.command import run_command
from nasbench.core.errors import UsageError
from nasbench.networks.export import FORMATS, export_network, write_export
from nasbench.networks.layer_table import NetworkSummary, check_figures, dims_text, format_table, summary_to_dict
from nasbench.networks.rebuild import Target, build, list_zoo, load_network, measure, natural_cell_text, target_for
from nasbench.networks.resolve import Resolved, resolve
from search_spaces.formats import FORMATS as CELL_FORMATS
from search_spaces.zoo import zoo

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
    return run_command(PROG, lambda: run(args))


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
    title += f"\ninput {dims_text(summary.input_shape)}, {target.genotype['num_classes']} classes"
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
