"""A name rebuilt as a network: resolved, sized, built, counted, with weights loaded.

``target_for`` turns what a user names (``nasbench.networks.resolve``) into the genotype
to build at the size asked for, with the published figures that apply; ``build_target``
and ``rebuild`` build it (``load_into``: with a torchvision/timm state_dict, which picks
the variant it belongs to, ``nasbench.networks.weights_source``); ``measure`` counts it
(``nasbench.networks.layer_table``); ``list_zoo`` lists the zoo. ``python -m
nasbench.rebuild`` (``nasbench.cli.rebuild``) prints what these return.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import torch
import torch.nn as nn

from nasbench.core.errors import UsageError, first_line
from nasbench.networks.layer_table import NetworkSummary, dims_text, summarize
from nasbench.networks.resolve import Resolved, resolve
from nasbench.networks.weights import WeightMapping, load_weights, read_state_dict
from nasbench.networks.weights_source import VariantChoice, choose_variant
from search_spaces.build import build_network
from search_spaces.genotype import NetworkGenotype
from search_spaces.zoo import Zoo, ZooEntry, zoo


@dataclass(frozen=True)
class Target:
    """What NAME resolved to (``nasbench.networks.resolve``), at the size asked for: the genotype
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
        skip_reason = (f"the figures are for {dims_text(native[0])} input, {native[1]} classes; "
                       f"rebuilt at {dims_text(genotype['input_size'])}, {genotype['num_classes']} classes")
    return Target(source, genotype, skip_reason)


def target_for(name: str, variant: str | None = None, input_size: tuple[int, int] | None = None,
               num_classes: int | None = None, registry: Zoo | None = None) -> Target:
    """What NAME stands for (``nasbench.networks.resolve``), at the size asked for."""
    return sized(resolve(name, variant, registry=zoo() if registry is None else registry), input_size, num_classes)


def load_into(target: Target, weights: str | Path | Mapping[str, torch.Tensor],
              seed: int | None = None) -> LoadedNetwork:
    """``target`` built with a torchvision/timm (or our own) state_dict loaded. Unless the
    request fixed the variant (``--variant``, or a name such as ``vgg11_bn``), a zoo entry
    is built in the variant the file's weights belong to (``nasbench.networks.weights_source``);
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


def rebuild(name: str, *, variant: str | None = None, num_classes: int | None = None,
            input_size: int | tuple[int, int] | None = None, weights: str | Path | Mapping[str, Any] | None = None,
            seed: int | None = None) -> nn.Module:
    """The network ``name`` stands for (a zoo entry or its torchvision/timm name, a
    genotype file, a published cell, a run directory) as an ``nn.Module``; with
    ``weights`` a state_dict (file or mapping) loaded into it. ``nasbench.rebuild(...)``."""
    size = (input_size, input_size) if isinstance(input_size, int) else input_size
    target = target_for(name, variant=variant, input_size=size, num_classes=num_classes)
    return build_target(target, weights=weights, seed=seed)


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
                         f"{dims_text(genotype['input_size'])}: {first_line(exc)}") from exc


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
                         f"{dims_text(genotype['input_size'])}: {first_line(exc)}") from exc


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


def natural_cell_text(source: Resolved) -> str | None:
    """The cell of a point in its space's own format (None for networks, and for points
    of a space without a text format)."""
    if not source.is_point:
        return None
    try:
        return source.cell_text()
    except UsageError:
        return None
