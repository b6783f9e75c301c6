"""``python -m nasbench.rebuild NAME``: rebuild a zoo network (or a genotype file), print
its layer table and check it against the figures published for it.

The work is in importable functions: ``resolve`` (a name or a file -> a validated
genotype with its figures), ``nasbench.summary`` (the table and the checks),
``nasbench.export`` and ``nasbench.weights``.
"""
from __future__ import annotations

import argparse
import difflib
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import torch
import torch.nn as nn

from search_spaces.build import BuildError, build_network
from search_spaces.genotype import GenotypeError, NetworkGenotype
from search_spaces.ops import OpError
from search_spaces.zoo import ZooEntry, ZooError, zoo

from .errors import UsageError
from .export import FORMATS, export_network
from .summary import NetworkSummary, check_figures, format_table, summarize, summary_to_dict
from .weights import load_weights

PROG = "rebuild"
DESCRIPTION = """\
Rebuild a classic network from its genotype, print its layer table (output shape,
activation memory, parameters and multiply-adds of every layer, then the totals) and
check its counts against the figures published for it."""
EPILOG = f"""\
NAME is a zoo name (see --list) or the path of a genotype JSON file. A file whose
genotype equals a zoo entry's (its name says which) is checked against that entry's
figures. MACs are counted by torch.utils.flop_counter (multiply-adds = FLOPs / 2).

--export PATH writes by extension:
{chr(10).join(f'  {ext:5} {what}' for ext, what in FORMATS.items())}
--weights PATH loads a torchvision/timm state_dict, pairing tensors in registration order.

exit status: 0 when every figure check passes (or none applies), 1 when a figure check
fails, 2 on a usage error (unknown network or variant, malformed genotype file, a
network that cannot be built at the requested size, weights that do not fit)."""


@dataclass(frozen=True)
class Target:
    """What NAME resolved to: a validated genotype (plain dict) and the figures that apply."""

    name: str
    variant: str | None
    genotype: dict[str, Any]
    entry: ZooEntry | None = None
    skip_reason: str = ""

    @property
    def figures(self) -> tuple[Any, ...]:
        return self.entry.figures_for(self.variant) if self.entry is not None else ()


def resolve(name: str, variant: str | None = None, input_size: tuple[int, int] | None = None,
            num_classes: int | None = None, registry: Mapping[str, ZooEntry] | None = None) -> Target:
    """A zoo name or a genotype file -> ``Target``. ``input_size``/``num_classes``
    override the genotype's; figure checks are then skipped, since the figures describe
    the network at its own size."""
    registry = zoo() if registry is None else registry
    if name in registry:
        entry = registry[name]
        variant = variant or entry.default_variant
        genotype = _validated(entry.genotype(variant))
    elif name.endswith(".json") or "/" in name or Path(name).is_file():
        if variant is not None:
            raise UsageError("--variant applies to zoo names, not to a genotype file")
        if not Path(name).is_file():
            raise UsageError(f"no such file {name!r}")
        try:
            genotype = NetworkGenotype.load(name).to_dict()
        except GenotypeError as exc:
            raise UsageError(f"{name}: {exc}") from exc
        entry, variant = _matching_entry(genotype, registry)
    else:
        close = difflib.get_close_matches(name, list(registry), n=3, cutoff=0.6)
        hint = f"; did you mean {', '.join(close)}?" if close else "; see --list"
        raise UsageError(f"unknown network {name!r}{hint}")
    native = (tuple(genotype["input_size"]), genotype["num_classes"])
    if input_size is not None:
        genotype["input_size"] = list(input_size)
    if num_classes is not None:
        genotype["num_classes"] = num_classes
    genotype = _validated(genotype)
    skip_reason = ""
    if (tuple(genotype["input_size"]), genotype["num_classes"]) != native:
        skip_reason = (f"the figures are for {_size(native[0])} input, {native[1]} classes; "
                       f"rebuilt at {_size(genotype['input_size'])}, {genotype['num_classes']} classes")
    display = entry.name if entry is not None else (genotype.get("name") or Path(name).stem)
    return Target(display, variant, genotype, entry, skip_reason)


def _validated(data: Mapping[str, Any]) -> dict[str, Any]:
    """The plain-dict form the builder takes: validated, parameters at their defaults
    dropped, nodes in their given order (not ``canonical()``, which may renumber nodes and
    so rename parameters)."""
    return NetworkGenotype.from_dict(data).to_dict()


def _matching_entry(genotype: Mapping[str, Any], registry: Mapping[str, ZooEntry]) -> tuple[ZooEntry | None, str | None]:
    """The zoo entry and variant a genotype file was exported from, if its graph is theirs."""
    base, _, variant = str(genotype.get("name", "")).partition(":")
    entry = registry.get(base)
    if entry is None:
        return None, None
    variant = variant or entry.default_variant
    if variant not in entry.variants:
        return None, None
    if NetworkGenotype.from_dict(entry.genotype(variant)).key() != NetworkGenotype.from_dict(genotype).key():
        return None, None
    return entry, variant


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


def build(genotype: Mapping[str, Any], meta: bool = False) -> nn.Module:
    """Build a genotype; ``meta``: on the meta device, shapes without storage."""
    try:
        if meta:
            with torch.device("meta"):
                return build_network(genotype)
        return build_network(genotype)
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
    """One record per zoo entry whose name contains ``pattern``: variants, the default
    variant's parameters (and multiply-adds with ``with_macs``), the paper."""
    registry = zoo() if registry is None else registry
    records = []
    for name, entry in registry.items():
        if pattern and pattern not in name:
            continue
        genotype = NetworkGenotype.from_dict(entry.genotype()).to_dict()
        record: dict[str, Any] = {"name": name, "family": entry.family, "variant": entry.default_variant,
                                  "other_variants": [v for v in entry.variants if v != entry.default_variant]}
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
    header.append("source")
    lines = [header]
    for record in records:
        line = [record["name"], record["variant"], ", ".join(record["other_variants"]) or "-", f"{record['params']:,}"]
        if "macs" in record:
            line.append(f"{record['macs'] / 1e9:.3f}")
        line.append(_short_citation(record["paper"]))
        lines.append(line)
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    numeric = {3, 4} if "GMACs" in header else {3}
    return "\n".join("  ".join(cell.rjust(w) if i in numeric else cell.ljust(w)
                               for i, (cell, w) in enumerate(zip(line, widths))).rstrip() for line in lines)


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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = make_parser().parse_args(argv)
    try:
        return run(args)
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
    target = resolve(args.name, args.variant, input_size, args.num_classes)
    summary = measure(target.genotype)
    checks = check_figures(summary, target.figures, target.skip_reason)
    notes: dict[str, Any] = {}
    network = None
    if args.weights:
        network = build(target.genotype)
        mapping = load_weights(network, args.weights)
        notes["weights"] = {"path": args.weights, "loaded": len(mapping.pairs), "kept": list(mapping.kept),
                            "ignored": list(mapping.ignored)}
    if args.export:
        if network is None and Path(args.export).suffix.lower() in (".pt", ".pt2"):
            network = build(target.genotype)
        notes["export"] = {"path": args.export, "format": export_network(args.export, target.genotype, network)}
    if args.json:
        print(json.dumps(_json_record(target, summary, checks, notes)))
    else:
        print(_report(target, summary, checks, notes))
    return 1 if any(check.passed is False for check in checks) else 0


def _json_record(target: Target, summary: NetworkSummary, checks: Sequence[Any],
                 notes: Mapping[str, Any]) -> dict[str, Any]:
    totals = summary_to_dict(summary)
    record = {"name": target.name, "variant": target.variant, "input_size": list(target.genotype["input_size"]),
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
    if "weights" in notes:
        weights = notes["weights"]
        line = f"weights: {weights['loaded']} tensors loaded from {weights['path']}"
        if weights["kept"]:
            line += f"; {len(weights['kept'])} kept as built (none in the file)"
        if weights["ignored"]:
            line += f"; {len(weights['ignored'])} in the file unused"
        lines.append(line)
    if "export" in notes:
        lines.append(f"exported: {notes['export']['path']} ({notes['export']['format']})")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
