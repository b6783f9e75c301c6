"""The builder: a network genotype (plain dict, canonical form) -> ``nn.Module``.

One builder for every network, classic or searched: a stem (a chain of layers), stages of
repeated cells, optional auxiliary heads, and a head. A cell compiles its list of nodes
into modules and ``forward`` walks the same list (DARTS' ``Cell``). This file imports
torch and ``ops`` alone: ``--export net.py`` copies both into a standalone source file.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import torch
import torch.nn as nn

from .ops import FactorizedReduce, OpCatalog, default_catalog, make_activation
from .errors import NasError


class InputTooSmallError(NasError, ValueError):
    """The network's layers shrink its input to nothing (LeNet-5 on 8x8 digits)."""


def input_too_small(size: Sequence[int], error: BaseException) -> str:
    """One line for a network that cannot take ``size`` (height, width) inputs."""
    reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return (f"the network cannot take {size[0]}x{size[1]} inputs ({reason}); give it larger ones "
            f"(evaluate --resolution 32, or data.resolution=32 for a search)")


def check_input_fits(network: nn.Module, shape: Sequence[int]) -> None:
    """Run one zero image of ``shape`` (channels, height, width) through ``network``;
    ``InputTooSmallError`` in one line when its layers shrink it to nothing."""
    was_training = network.training
    network.eval()
    try:
        with torch.no_grad():
            network(torch.zeros(1, *shape))
    except RuntimeError as exc:
        raise InputTooSmallError(input_too_small(tuple(shape)[1:], exc)) from None
    finally:
        network.train(was_training)


class BuildError(NasError, ValueError):
    """A genotype cannot be built: channels do not agree, a stride cannot apply, or the
    network is larger than the builder's limits."""


MAX_LAYERS = 10**4
MAX_PARAMETERS = 10**10
# An op whose C_in x C_out x kernel area passes this is built on the meta device first, so
# that its parameters are counted before any memory is given to them.
_PROBE_ABOVE = 2**20


def count_ops(genotype: Mapping[str, Any], limit: int = MAX_LAYERS) -> tuple[int, str]:
    """How many ops the network of ``genotype`` (plain dict) holds, counted from the data
    alone, and the field that took the count to where it is (a stage's ``repeats``)."""
    def in_cell(cell: Mapping[str, Any]) -> int:
        return sum(len(node["edges"]) for node in cell["nodes"]) + 2 * (int(cell.get("inputs", 1)) == 2)
    total, field = len(genotype.get("stem", [])), "stem"
    for index, stage in enumerate(genotype.get("stages", [])):
        repeats = int(stage.get("repeats", 1))
        total += in_cell(stage.get("first_cell") or stage["cell"]) + (repeats - 1) * in_cell(stage["cell"])
        field = f"stages[{index}].repeats"
        if total > limit:
            break
    return total, field


WIDE = 4096  # wider than any zoo network declares; a wider one is counted on meta first


def declared_width(genotype: Mapping[str, Any]) -> float:
    """The widest channel count the data of ``genotype`` names (stage widths, times any
    edge's ``width`` multiplier; explicit ``channels``; head ``units``)."""
    widest = 0.0
    for layer in [*genotype.get("stem", []), *(layer for aux in genotype.get("aux_heads", [])
                                              for layer in aux.get("layers", []))]:
        if isinstance(layer.get("channels"), int):
            widest = max(widest, layer["channels"])
    for stage in genotype.get("stages", []):
        width = stage.get("width") or 1
        widest = max(widest, width)
        for cell in (stage["cell"], stage.get("first_cell") or stage["cell"]):
            for node in cell["nodes"]:
                for edge in node["edges"]:
                    widest = max(widest, edge["channels"] if isinstance(edge.get("channels"), int) else 0,
                                 width * (edge.get("width") or 1))
    for head in [genotype.get("head", {}), *(aux.get("head", {}) for aux in genotype.get("aux_heads", []))]:
        widest = max([widest, *(layer.get("units", 0) for layer in head.get("layers", []))])
    return widest


class ParameterBudget:
    """Parameters counted while a network is built, refused past ``limit``. A wide op is
    counted on the meta device before it is built for real."""

    def __init__(self, limit: int = MAX_PARAMETERS):
        self.limit = limit
        self.used = 0

    def charge(self, count: int, where: str = "") -> None:
        self.used += count
        if self.used > self.limit:
            prefix = f"{where}: " if where else ""
            raise BuildError(f"{prefix}the network passes the limit of {self.limit:,} parameters")

    def build(self, catalog: OpCatalog, name: str, C_in: int, C_out: int, stride: int,
              params: Mapping[str, Any]) -> nn.Module:
        """``catalog.build(...)``, charged; raises a ``BuildError`` without the field, which
        the caller prefixes."""
        if _op_scale(C_in, C_out, params) > _PROBE_ABOVE and torch.empty(0).device.type != "meta":
            with torch.device("meta"):
                probe = catalog.build(name, C_in, C_out, stride, params)
            self.charge(_parameter_count(probe))
            return catalog.build(name, C_in, C_out, stride, params)
        module = catalog.build(name, C_in, C_out, stride, params)
        self.charge(_parameter_count(module))
        return module


def _parameter_count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def _op_scale(C_in: int, C_out: int, params: Mapping[str, Any]) -> int:
    kernel = params.get("k", 7)
    area = kernel[0] * kernel[1] if isinstance(kernel, (list, tuple)) else kernel * kernel
    repeats = params.get("repeats", 1)
    return int(C_in * C_out * max(1, area) * (repeats if isinstance(repeats, int) else 1))


def drop_path(x: torch.Tensor, drop_prob: float) -> torch.Tensor:
    """Zero whole samples of a path with probability ``drop_prob`` and rescale the rest
    (Larsson et al. 2017, FractalNet; Zoph et al. 2018, NASNet ScheduledDropPath)."""
    if drop_prob <= 0.0:
        return x
    keep = 1.0 - drop_prob
    mask = torch.empty(x.shape[0], 1, 1, 1, device=x.device, dtype=x.dtype).bernoulli_(keep)
    return x * mask / keep


def _combine(tensors: list[torch.Tensor], how: str) -> torch.Tensor:
    if len(tensors) == 1:
        return tensors[0]
    if how == "concat":
        return torch.cat(tensors, dim=1)
    total = tensors[0]
    for tensor in tensors[1:]:
        total = total + tensor
    return total / len(tensors) if how == "mean" else total


def _combined_channels(channels: list[int], how: str, where: str) -> int:
    if how == "concat":
        return sum(channels)
    if len(set(channels)) != 1:
        raise BuildError(f"{where}: {how} of different channel counts {channels}")
    return channels[0]


def _resolve_channels(spec: Mapping[str, Any], C_in: int, width: int, num_classes: int,
                      keeps_channels: bool) -> int:
    if spec.get("channels") is not None:
        return num_classes if spec["channels"] == "classes" else int(spec["channels"])
    if spec.get("width") is not None:
        return max(1, int(round(float(spec["width"]) * width)))
    return C_in if keeps_channels else width


class ReLUConvBN(nn.Sequential):
    """ReLU-1×1 conv-BN that maps a cell input to the cell width (NASNet/DARTS preprocessing)."""

    def __init__(self, C_in: int, C_out: int):
        super().__init__()
        self.act = nn.ReLU(inplace=False)
        self.conv = nn.Conv2d(C_in, C_out, 1, bias=False)
        self.bn = nn.BatchNorm2d(C_out)


class Cell(nn.Module):
    """A DAG of nodes; each node applies ops to earlier states and combines them."""

    def __init__(self, cell: Mapping[str, Any], C_inputs: Sequence[int], width: int, stride: int,
                 input_scales: Sequence[int], num_classes: int, catalog: OpCatalog, where: str,
                 budget: ParameterBudget | None = None):
        super().__init__()
        budget = budget or ParameterBudget()
        self.num_inputs = int(cell["inputs"])
        self.drop_prob = 0.0
        states = list(C_inputs[-self.num_inputs:])
        self.preprocess = nn.ModuleList()
        if self.num_inputs == 2:
            # Both inputs are mapped to the cell width; an input at twice the resolution of
            # the other (after a reduction cell) is reduced first (NASNet, DARTS).
            # Each map is a 1x1 conv (or two halves) and a BN: counted before it is built.
            budget.charge((states[0] + states[1] + 4) * width, f"{where}.inputs")
            scale_pp, scale_p = input_scales[-2], input_scales[-1]
            if scale_pp == scale_p:
                self.preprocess.append(ReLUConvBN(states[0], width))
            elif scale_p == 2 * scale_pp:
                self.preprocess.append(FactorizedReduce(states[0], width))
            else:
                raise BuildError(f"{where}: the two cell inputs differ in resolution by more than 2x")
            self.preprocess.append(ReLUConvBN(states[1], width))
            states = [width, width]
        self.nodes = nn.ModuleList()
        self.plan: list[tuple[list[int], str, list[bool]]] = []
        for node_index, node in enumerate(cell["nodes"]):
            edges = nn.ModuleList()
            sources: list[int] = []
            droppable: list[bool] = []
            out_channels: list[int] = []
            for edge_index, edge in enumerate(node["edges"]):
                source = int(edge["input"])
                reduce = edge.get("reduce")
                if reduce is None:
                    reduce = source < self.num_inputs
                edge_stride = stride if reduce else 1
                keeps = edge["op"] in catalog.keeps_channels
                C_out = _resolve_channels(edge, states[source], width, num_classes, keeps)
                try:
                    module = budget.build(catalog, edge["op"], states[source], C_out, edge_stride,
                                          edge.get("params", {}))
                except ValueError as exc:
                    raise BuildError(f"{where}.nodes[{node_index}].edges[{edge_index}]: {exc}") from exc
                edges.append(module)
                sources.append(source)
                droppable.append(not isinstance(module, nn.Identity))
                out_channels.append(C_out)
            combine = node.get("combine", "add")
            states.append(_combined_channels(out_channels, combine, f"{where}.nodes[{node_index}]"))
            self.nodes.append(edges)
            self.plan.append((sources, combine, droppable))
        self.output = [int(i) for i in cell["output"]]
        self.output_combine = cell.get("combine", "concat")
        self.out_channels = _combined_channels([states[i] for i in self.output], self.output_combine,
                                               f"{where}.output")

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        states = list(inputs[-self.num_inputs:])
        if self.num_inputs == 2:
            states = [self.preprocess[0](states[0]), self.preprocess[1](states[1])]
        drop = self.drop_prob if self.training else 0.0
        for edges, (sources, combine, droppable) in zip(self.nodes, self.plan):
            outputs = [edge(states[source]) for edge, source in zip(edges, sources)]
            # Drop-path drops one of several paths into a node, never a lone path: a mean
            # node is a FractalNet join (local drop-path), others drop each non-identity op.
            if drop > 0.0 and len(outputs) > 1:
                if combine == "mean":
                    outputs = _local_drop(outputs, drop)
                else:
                    outputs = [drop_path(out, drop) if can else out for out, can in zip(outputs, droppable)]
            states.append(_combine(outputs, combine))
        return _combine([states[i] for i in self.output], self.output_combine)


def _local_drop(outputs: list[torch.Tensor], drop_prob: float) -> list[torch.Tensor]:
    """FractalNet's local drop-path: drop each joined path with probability ``drop_prob``,
    keeping at least one (Larsson et al. 2017, Sec. 3.1)."""
    keep = torch.rand(len(outputs)) >= drop_prob
    if not bool(keep.any()):
        keep[torch.randint(len(outputs), (1,))] = True
    return [out for out, kept in zip(outputs, keep.tolist()) if kept]


class Layer(nn.Module):
    """One op of a stem or an auxiliary head's chain, with its own stride."""

    def __init__(self, layer: Mapping[str, Any], C_in: int, num_classes: int, catalog: OpCatalog, where: str,
                 budget: ParameterBudget | None = None):
        super().__init__()
        budget = budget or ParameterBudget()
        keeps = layer["op"] in catalog.keeps_channels
        self.out_channels = _resolve_channels(layer, C_in, C_in, num_classes, keeps)
        try:
            self.op = budget.build(catalog, layer["op"], C_in, self.out_channels, int(layer.get("stride", 1)),
                                   layer.get("params", {}))
        except ValueError as exc:
            raise BuildError(f"{where}: {exc}") from exc

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)


class Head(nn.Module):
    """Pooling, flatten, fully connected layers, and the classifier."""

    def __init__(self, head: Mapping[str, Any], C_in: int, spatial: tuple[int, int], num_classes: int,
                 budget: ParameterBudget | None = None, where: str = "head"):
        super().__init__()
        budget = budget or ParameterBudget()
        pool = head.get("pool", "avg")
        size = int(head.get("pool_size", 1))
        if pool == "avg":
            self.pool: nn.Module = nn.AdaptiveAvgPool2d(size)
        elif pool == "max":
            self.pool = nn.AdaptiveMaxPool2d(size)
        else:
            self.pool = nn.Identity()
        features = C_in * size * size if pool in ("avg", "max") else C_in * spatial[0] * spatial[1]
        self.flatten = nn.Flatten()
        layers: list[nn.Module] = []
        for index, layer in enumerate(head.get("layers", [])):
            kind = layer["kind"]
            if kind == "fc":
                budget.charge((features + 1) * int(layer["units"]), f"{where}.layers[{index}].units")
                layers.append(nn.Linear(features, int(layer["units"])))
                features = int(layer["units"])
            elif kind == "dropout":
                layers.append(nn.Dropout(float(layer["p"])))
            else:
                layers.append(make_activation(layer["fn"]))
        if head.get("classifier", True):
            budget.charge((features + 1) * num_classes, f"{where}.classifier")
            layers.append(nn.Linear(features, num_classes))
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(self.flatten(self.pool(x)))


class AuxHead(nn.Module):
    """An auxiliary classifier on an intermediate stage, used in training only
    (Szegedy et al. 2015, GoogLeNet, Sec. 5)."""

    def __init__(self, aux: Mapping[str, Any], C_in: int, spatial: tuple[int, int], num_classes: int,
                 catalog: OpCatalog, where: str, budget: ParameterBudget | None = None):
        super().__init__()
        budget = budget or ParameterBudget()
        chain = []
        channels = C_in
        for index, layer in enumerate(aux.get("layers", [])):
            module = Layer(layer, channels, num_classes, catalog, f"{where}.layers[{index}]", budget)
            chain.append(module)
            channels = module.out_channels
        self.layers = nn.Sequential(*chain)
        out_spatial = _spatial_after(self.layers, C_in, spatial) if aux["head"].get("pool") == "none" else spatial
        self.head = Head(aux["head"], channels, out_spatial, num_classes, budget, f"{where}.head")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.layers(x))


def _spatial_after(module: nn.Module, channels: int, spatial: tuple[int, int]) -> tuple[int, int]:
    """The spatial size a module outputs, found by running it once on zeros."""
    was_training = module.training
    module.eval()
    with torch.no_grad():
        out = module(torch.zeros(1, channels, *spatial))
    module.train(was_training)
    return (int(out.shape[-2]), int(out.shape[-1]))


class Network(nn.Module):
    """Stem -> stages of cells -> head; auxiliary heads after chosen stages in training."""

    def __init__(self, genotype: Mapping[str, Any], num_classes: int | None = None,
                 catalog: OpCatalog | None = None, max_parameters: int = MAX_PARAMETERS,
                 max_layers: int = MAX_LAYERS):
        super().__init__()
        catalog = catalog or default_catalog()
        layers, field = count_ops(genotype, max_layers)
        if layers > max_layers:
            raise BuildError(f"{field}: the network passes the limit of {max_layers:,} ops")
        budget = ParameterBudget(max_parameters)
        self.num_classes = int(num_classes if num_classes is not None else genotype["num_classes"])
        size = genotype["input_size"]
        self.input_size = (int(size[0]), int(size[1])) if isinstance(size, (list, tuple)) else (int(size), int(size))
        self.input_channels = int(genotype.get("input_channels", 3))
        channels = self.input_channels
        stem = []
        for index, layer in enumerate(genotype.get("stem", [])):
            module = Layer(layer, channels, self.num_classes, catalog, f"stem[{index}]", budget)
            stem.append(module)
            channels = module.out_channels
        self.stem = nn.Sequential(*stem)
        C_states, scales = [channels, channels], [1, 1]
        self.stages = nn.ModuleList()
        stage_channels: list[int] = []
        for stage_index, stage in enumerate(genotype.get("stages", [])):
            cells = nn.ModuleList()
            width = int(stage["width"]) if stage.get("width") is not None else C_states[-1]
            for repeat in range(int(stage.get("repeats", 1))):
                spec = stage["first_cell"] if repeat == 0 and stage.get("first_cell") else stage["cell"]
                stride = int(stage.get("stride", 1)) if repeat == 0 else 1
                where = f"stages[{stage_index}].{'first_cell' if spec is stage.get('first_cell') else 'cell'}"
                cell = Cell(spec, C_states, width, stride, scales, self.num_classes, catalog, where, budget)
                cells.append(cell)
                C_states = [C_states[-1], cell.out_channels]
                scales = [scales[-1], scales[-1] * stride]
            self.stages.append(cells)
            stage_channels.append(C_states[-1])
        self.out_channels = C_states[-1]
        aux_specs = list(genotype.get("aux_heads", []))
        self.aux_after = [int(aux["after_stage"]) for aux in aux_specs]
        needs_spatial = bool(aux_specs) or genotype["head"].get("pool") == "none"
        spatial = self._stage_spatial() if needs_spatial else []
        self.aux_heads = nn.ModuleList(
            AuxHead(aux, stage_channels[aux["after_stage"]], spatial[aux["after_stage"]], self.num_classes,
                    catalog, f"aux_heads[{index}]", budget)
            for index, aux in enumerate(aux_specs))
        final_spatial = spatial[-1] if spatial else self.input_size
        self.head = Head(genotype["head"], self.out_channels, final_spatial, self.num_classes, budget)

    def _stage_spatial(self) -> list[tuple[int, int]]:
        was_training = self.training
        self.eval()
        sizes = []
        try:
            with torch.no_grad():
                x = self.stem(torch.zeros(1, self.input_channels, *self.input_size))
                prev_prev, prev = x, x
                for cells in self.stages:
                    for cell in cells:
                        prev_prev, prev = prev, cell(prev_prev, prev)
                    sizes.append((int(prev.shape[-2]), int(prev.shape[-1])))
        except RuntimeError as exc:  # torch's own words for an image the layers shrink to nothing
            raise InputTooSmallError(input_too_small(self.input_size, exc)) from None
        finally:
            self.train(was_training)
        return sizes

    def set_drop_path(self, drop_prob: float) -> None:
        """Set the drop-path probability of every cell (the trainer schedules it)."""
        for cells in self.stages:
            for cell in cells:
                cell.drop_prob = float(drop_prob)

    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, list[torch.Tensor]]:
        x = self.stem(x)
        prev_prev, prev = x, x
        aux_outputs = []
        for stage_index, cells in enumerate(self.stages):
            for cell in cells:
                prev_prev, prev = prev, cell(prev_prev, prev)
            if self.training:
                for aux_index, after in enumerate(self.aux_after):
                    if after == stage_index:
                        aux_outputs.append(self.aux_heads[aux_index](prev))
        logits = self.head(prev)
        if self.training and self.aux_after:
            return logits, aux_outputs
        return logits


def build_network(genotype: Mapping[str, Any], num_classes: int | None = None,
                  catalog: OpCatalog | None = None, seed: int | None = None,
                  max_parameters: int = MAX_PARAMETERS, max_layers: int = MAX_LAYERS) -> Network:
    """Build an ``nn.Module`` from a network genotype in its plain-dict form; with a
    ``seed`` the initial weights are drawn from it (and the global RNG is left as it was).
    A network of more than ``max_layers`` ops or ``max_parameters`` parameters is refused
    before it is allocated: a network declaring widths past ``WIDE`` is first built on the
    meta device, where its parameters are counted without storage."""
    if declared_width(genotype) > WIDE and torch.empty(0).device.type != "meta":
        with torch.device("meta"):
            Network(genotype, num_classes, catalog, max_parameters, max_layers)
    if seed is None:
        return Network(genotype, num_classes, catalog, max_parameters, max_layers)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return Network(genotype, num_classes, catalog, max_parameters, max_layers)
