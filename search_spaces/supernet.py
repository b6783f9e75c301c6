"""A weight-sharing supernet for a cell space: every searched edge is a mixed op.

The supernet is an ordinary network genotype built by the one builder
(``search_spaces.build``): the space's own skeleton around a *supercell* whose edges
are the op ``mixed``, added to the op catalog for this network only. A mixed op holds
one module per candidate op of the space, each built from the catalog exactly as the
space's own networks build it (DARTS' mixed op, Liu et al. 2019, "DARTS:
Differentiable Architecture Search", https://arxiv.org/abs/1806.09055, Sec. 2.1).

One forward pass computes, per cell kind and per supercell edge (``Paths``):

- ``weights`` alone: the weighted sum of every candidate but the zero op (DARTS);
- ``weights`` and one ``active`` op per edge: that op times its weight, plus the other
  weights (zero in value, a gradient path: GDAS' straight-through hard sample, Dong &
  Yang 2019, "Searching for A Robust Neural Architecture in Four GPU Hours",
  https://arxiv.org/abs/1910.04465, Sec. 3.2);
- ``active`` alone: the listed ops of each edge, summed; an edge with none is not
  computed (single-path methods: SPOS, ENAS, a subnet).

A point's subnet (``paths_of``) with the supernet's weights (``subnet_state_dict``) is
the space's own network of that point (``subnet_genotype``) and computes the same
function. Layouts: NAS-Bench-201 (one cell kind, every edge of the 4-node DAG) and
two-input cell spaces (normal and reduction supercells, node ``i`` with an edge from
each earlier state), including a user's ``TwoInputCellSpace`` with its own op list.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import torch
import torch.nn as nn

from .build import Network, _combine, build_network
from .genotype import NetworkGenotype
from .ops import OpCatalog, Zero, default_catalog
from .spaces.base import Space
from .spaces.cell_spaces import TwoInputCellSpace
from .spaces.nasbench201 import EDGES as NB201_EDGES
from .spaces.nasbench201 import OPS as NB201_OPS
from .spaces.nasbench201 import NasBench201Space, format_arch, parse_arch
from .spaces.nasbench201_network import OP_EDGES as NB201_OP_EDGES
from .errors import NasError

MIXED = "mixed"
SKIP_OPS = ("skip", "identity")  # the catalog ops that count as skip connections


class SupernetError(NasError, ValueError):
    """A space has no supernet layout, or paths or architecture weights do not fit it."""


@dataclass(frozen=True)
class Paths:
    """What each supercell edge computes in one forward pass (see the module docstring):
    ``weights``: kind -> [edges, ops] tensor; ``active``: kind -> per edge the op indices."""

    weights: Mapping[str, torch.Tensor] | None = None
    active: Mapping[str, Sequence[Sequence[int]]] | None = None


class MixedOp(nn.Module):
    """One supercell edge: a module per candidate op, mixed as ``Paths`` says."""

    def __init__(self, candidates: Sequence[nn.Module]):
        super().__init__()
        self.candidates = nn.ModuleList(candidates)
        self.is_zero = tuple(isinstance(module, Zero) for module in candidates)

    def forward(self, x: torch.Tensor, weights: torch.Tensor | None = None,
                active: Sequence[int] | None = None) -> torch.Tensor | None:
        if active is None:
            if weights is None:
                raise SupernetError("a mixed op needs weights, active ops, or both")
            terms = [weight * op(x) for weight, op, zero in zip(weights, self.candidates, self.is_zero) if not zero]
            return sum(terms[1:], terms[0]) if terms else None
        if weights is None:
            outputs = [self.candidates[index](x) for index in active]
            return sum(outputs[1:], outputs[0]) if outputs else None
        if len(active) != 1:
            raise SupernetError(f"a hard-sampled edge takes one op, got {list(active)}")
        index = int(active[0])
        others = torch.cat([weights[:index], weights[index + 1:]]).sum()
        return weights[index] * self.candidates[index](x) + others


@dataclass(frozen=True)
class CandidateOp:
    """A candidate op of a space as the catalog builds it."""

    name: str
    op: str
    params: Mapping[str, Any] = field(default_factory=dict)


def _catalog_with_mixed(candidates: Sequence[CandidateOp], base: OpCatalog) -> OpCatalog:
    def mixed(C_in: int, C_out: int, stride: int, projection: str = "factorized") -> nn.Module:
        modules = []
        for candidate in candidates:
            params = dict(candidate.params)
            if candidate.op == "skip":
                params["projection"] = projection
            modules.append(base.build(candidate.op, C_in, C_out, stride, params))
        return MixedOp(modules)
    return base.with_op(MIXED, mixed)


class Nb201Layout:
    """NAS-Bench-201 (Dong & Yang 2020): one cell kind; the supercell is the 4-node DAG
    with every op on every edge, and every point is a subnet of it."""

    kinds = ("cell",)

    def __init__(self, space: NasBench201Space):
        self.space = space
        self.op_names: tuple[str, ...] = NB201_OPS
        self.candidates = tuple(CandidateOp(op, NB201_OP_EDGES[op](0)["op"], NB201_OP_EDGES[op](0).get("params", {}))
                                for op in NB201_OPS)
        self.edges = {"cell": tuple((target, source) for source, target in NB201_EDGES)}

    def skeleton(self, skeleton: Mapping[str, Any]) -> dict[str, Any]:
        return dict(skeleton)

    def network(self, skeleton: Mapping[str, Any], inputs: Mapping[str, int]) -> tuple[dict[str, Any], list[str | None]]:
        """The supernet genotype and each stage's cell kind (None: not searched). A stage
        is searched where the networks of two points differ."""
        first = self.space.network(format_arch(["nor_conv_3x3"] * len(NB201_EDGES)), skeleton=skeleton,
                                   **inputs).to_dict()
        second = self.space.network(format_arch(["nor_conv_1x1"] * len(NB201_EDGES)), skeleton=skeleton,
                                    **inputs).to_dict()
        kinds: list[str | None] = []
        for stage, other in zip(first["stages"], second["stages"]):
            searched = stage["cell"] != other["cell"]
            kinds.append("cell" if searched else None)
            if searched:
                stage["cell"] = _mixed_cell(stage["cell"], {})
        return first, kinds

    def paths_of(self, point: Any) -> dict[str, list[tuple[int, ...]]]:
        return {"cell": [(NB201_OPS.index(op),) for _, _, op in parse_arch(point)]}

    def point_of(self, choices: Mapping[str, Sequence[Sequence[int]]]) -> str:
        return format_arch([NB201_OPS[ops[0]] for ops in choices["cell"]])

    def derive(self, weights: Mapping[str, torch.Tensor]) -> str:
        """The op of highest weight on each edge (NAS-Bench-201's DARTS and GDAS, ``none``
        included, as in the authors' ``genotype()``)."""
        return format_arch([NB201_OPS[int(row.argmax())] for row in weights["cell"]])

    def standalone_edges(self, point: Any, kind: str) -> list[list[tuple[int, int]]]:
        """For each node of the point's cell, each edge's (supercell edge within the node, op index)."""
        nodes: list[list[tuple[int, int]]] = [[], [], []]
        for source, target, op in parse_arch(point):
            nodes[target - 1].append((source, NB201_OPS.index(op)))
        return nodes


class TwoInputLayout:
    """A two-input cell space (NASNet, AmoebaNet, DARTS, or a user's): a normal and a
    reduction supercell; node ``i`` has a mixed edge from each state 0..i+1.

    NOTE: the supercell concatenates every node (DARTS' rule). For a space whose cells
    concatenate their unused states (NASNet, AmoebaNet) the output width would change
    with the point, and the next cell's input map could not be shared, so a subnet's
    standalone network fixes ``skeleton.output`` to every node too (``skeleton``).
    """

    kinds = ("normal", "reduce")

    def __init__(self, space: TwoInputCellSpace):
        self.space = space
        self.op_names = space.op_names
        self.candidates = tuple(CandidateOp(op, space.ops[op]["op"], dict(space.ops[op]["params"]))
                                for op in space.op_names)
        self.blocks = space.blocks
        edges = tuple((node, source) for node in range(self.blocks) for source in range(node + 2))
        self.edges = {kind: edges for kind in self.kinds}
        self.zero_ops = {index for index, c in enumerate(self.candidates) if c.op == "zero"}

    def skeleton(self, skeleton: Mapping[str, Any]) -> dict[str, Any]:
        settings = dict(skeleton)
        if self.space.output != "all_nodes":
            every_node = list(range(2, 2 + self.blocks))
            settings["output"] = {"normal": every_node, "reduce": every_node}
        return settings

    def network(self, skeleton: Mapping[str, Any], inputs: Mapping[str, int]) -> tuple[dict[str, Any], list[str | None]]:
        """The space's skeleton around supercells: every stage of a cell network holds a
        searched cell, a reduction cell where the stage strides."""
        reference = self.space.decode([0] * len(self.space.decisions()))
        genotype = self.space.network(reference, skeleton=self.skeleton(skeleton), **inputs).to_dict()
        kinds: list[str | None] = []
        for stage in genotype["stages"]:
            kind = "reduce" if int(stage.get("stride", 1)) == 2 else "normal"
            kinds.append(kind)
            # An odd width cannot be halved by FactorizedReduce (skeletons.cell_network).
            projection = "factorized" if int(stage["width"]) % 2 == 0 else "conv_bn"
            stage["cell"] = self._supercell(projection)
            stage["first_cell"] = None
        return genotype, kinds

    def _supercell(self, projection: str) -> dict[str, Any]:
        nodes = [{"edges": [{"op": MIXED, "input": source, "params": {"projection": projection}}
                            for source in range(node + 2)], "combine": "add"} for node in range(self.blocks)]
        return {"inputs": 2, "nodes": nodes, "output": list(range(2, 2 + self.blocks)), "combine": "concat"}

    def paths_of(self, point: Any) -> dict[str, list[tuple[int, ...]]]:
        checked = self.space.check(point)
        paths = {}
        for kind in self.kinds:
            chosen: list[list[int]] = [[] for _ in self.edges[kind]]
            for node, (op_a, in_a, op_b, in_b) in enumerate(checked[kind]):
                offset = node * (node + 3) // 2  # edges of the nodes before: 2 + 3 + ... + (node + 1)
                chosen[offset + in_a].append(self.op_names.index(op_a))
                chosen[offset + in_b].append(self.op_names.index(op_b))
            paths[kind] = [tuple(ops) for ops in chosen]
        return paths

    def derive(self, weights: Mapping[str, torch.Tensor]) -> dict[str, list[list[Any]]]:
        """DARTS' derivation (Sec. 2.4): per node the two incoming edges of highest
        weight on an op other than ``none``, each with that op."""
        point = {}
        for kind in self.kinds:
            rows = weights[kind]
            keep = [index for index in range(len(self.op_names)) if index not in self.zero_ops]
            blocks, start = [], 0
            for node in range(self.blocks):
                strengths = [(float(rows[start + s, keep].max()), s) for s in range(node + 2)]
                best = sorted(range(node + 2), key=lambda s: -strengths[s][0])[:2]
                block: list[Any] = []
                for source in best:
                    op = keep[int(rows[start + source, keep].argmax())]
                    block += [self.op_names[op], source]
                blocks.append(block)
                start += node + 2
            point[kind] = blocks
        return point

    def standalone_edges(self, point: Any, kind: str) -> list[list[tuple[int, int]]]:
        checked = self.space.check(point)[kind]
        return [[(in_a, self.op_names.index(op_a)), (in_b, self.op_names.index(op_b))]
                for op_a, in_a, op_b, in_b in checked]


def layout_for(space: Space) -> Nb201Layout | TwoInputLayout:
    """The supernet layout of ``space`` (a space may bring its own as ``supernet_layout()``)."""
    own = getattr(space, "supernet_layout", None)
    if callable(own):
        return own()
    if isinstance(space, NasBench201Space):
        return Nb201Layout(space)
    if isinstance(space, TwoInputCellSpace):
        return TwoInputLayout(space)
    raise SupernetError(f"the {getattr(space, 'name', space)!r} space has no supernet: weight sharing needs a cell "
                        f"space (nasbench201, or a two-input cell space such as darts, nasnet, amoeba)")


def _mixed_cell(cell: Mapping[str, Any], params: Mapping[str, Any]) -> dict[str, Any]:
    nodes = [{**node, "edges": [{"op": MIXED, "input": edge["input"], "params": dict(params)}
                                for edge in node["edges"]]} for node in cell["nodes"]]
    return {**cell, "nodes": nodes}


def _entropy(rows: torch.Tensor) -> float:
    probabilities = rows.clamp_min(1e-12)
    return float(-(rows * probabilities.log()).sum(dim=-1).mean())


class Supernet(nn.Module):
    """The supernet of ``space`` at the given skeleton and data inputs (see the module
    docstring). ``network`` is the builder's ``Network``; its searched cells hold
    ``MixedOp`` edges, walked by ``forward`` with the ``Paths`` given."""

    def __init__(self, space: Space, skeleton: Mapping[str, Any] | None = None, *, num_classes: int = 10,
                 input_size: int = 32, input_channels: int = 3, seed: int | None = None):
        super().__init__()
        self.space = space
        self.layout = layout_for(space)
        self.inputs = {"num_classes": num_classes, "input_size": input_size, "input_channels": input_channels}
        self.skeleton = dict(skeleton or {})
        genotype, self.stage_kinds = self.layout.network(self.skeleton, self.inputs)
        catalog = _catalog_with_mixed(self.layout.candidates, default_catalog())
        self.network: Network = build_network(genotype, catalog=catalog, seed=seed)
        if self.network.aux_heads:
            raise SupernetError("a supernet has no auxiliary head: set skeleton.aux_head=false")

    @property
    def kinds(self) -> tuple[str, ...]:
        return self.layout.kinds

    @property
    def op_names(self) -> tuple[str, ...]:
        return tuple(self.layout.op_names)

    def edge_count(self, kind: str) -> int:
        return len(self.layout.edges[kind])

    def arch_shape(self, kind: str) -> tuple[int, int]:
        """The shape of the architecture weights of one cell kind: [edges, ops]."""
        return (self.edge_count(kind), len(self.op_names))

    def subnet_skeleton(self) -> dict[str, Any]:
        """The skeleton settings of a subnet's standalone network (``space.network``)."""
        return self.layout.skeleton(self.skeleton)

    def paths_of(self, point: Any) -> dict[str, list[tuple[int, ...]]]:
        """The single paths of ``point``'s subnet: per kind, per edge, the op indices."""
        return self.layout.paths_of(point)

    def derive(self, weights: Mapping[str, torch.Tensor]) -> Any:
        """The point the architecture weights (probabilities per edge) stand for."""
        return self.layout.derive(weights)

    def entropy(self, weights: Mapping[str, torch.Tensor]) -> float:
        """Mean entropy (nats) of the op distribution over every edge of every kind."""
        return sum(_entropy(weights[kind]) for kind in self.kinds) / len(self.kinds)

    def skip_count(self, point: Any, kind: str | None = None) -> int:
        """How many edges of ``point``'s ``kind`` cell (default: the first kind, the
        normal cell) are skip connections (DARTS' collapse, Zela et al. 2020)."""
        kind = kind or self.kinds[0]
        skips = {i for i, c in enumerate(self.layout.candidates) if c.op in SKIP_OPS}
        return sum(op in skips for edge in self.paths_of(point)[kind] for op in edge)

    def subnet_genotype(self, point: Any) -> NetworkGenotype:
        """The standalone network of ``point`` (the space's own, with ``subnet_skeleton``)."""
        return self.space.network(point, skeleton=self.subnet_skeleton(), **self.inputs)

    def subnet_state_dict(self, point: Any) -> dict[str, torch.Tensor]:
        """The supernet's weights for ``point``'s standalone network, keyed and ordered as
        that network's ``state_dict`` (what ``rebuild GENOTYPE --weights FILE`` loads)."""
        with torch.device("meta"):  # only its keys and order are needed
            target = build_network(self.subnet_genotype(point).to_dict()).state_dict()
        ours = self.network.state_dict()
        by_candidate: dict[str, list[tuple[str, torch.Tensor]]] = {}  # "<edge>.candidates.<op>" -> its tensors
        for key, value in ours.items():
            edge, found, rest = key.partition(".candidates.")
            if found:
                op, _, name = rest.partition(".")
                by_candidate.setdefault(f"{edge}.candidates.{op}", []).append((name, value))
        state: dict[str, torch.Tensor] = {}
        for stage_index, kind in enumerate(self.stage_kinds):
            if kind is None:
                continue
            edges = self.layout.standalone_edges(point, kind)
            for repeat in range(len(self.network.stages[stage_index])):
                for node, node_edges in enumerate(edges):
                    for position, (source, op) in enumerate(node_edges):
                        prefix = f"stages.{stage_index}.{repeat}.nodes.{node}."
                        for name, value in by_candidate.get(f"{prefix}{source}.candidates.{op}", []):
                            state[f"{prefix}{position}.{name}"] = value
        for key in target:
            if key not in state:
                if key not in ours:
                    raise SupernetError(f"the subnet's {key} has no counterpart in the supernet")
                state[key] = ours[key]
        missing = [key for key in state if key not in target]
        if missing:
            raise SupernetError(f"the supernet's {missing[0]} has no place in the subnet of {point!r}")
        return {key: state[key].detach().clone() for key in target}

    def forward(self, x: torch.Tensor, paths: Paths) -> torch.Tensor:
        self._check(paths)
        network = self.network
        x = network.stem(x)
        prev_prev, prev = x, x
        for cells, kind in zip(network.stages, self.stage_kinds):
            for cell in cells:
                if kind is None:
                    out = cell(prev_prev, prev)
                else:
                    out = self._cell_forward(cell, kind, paths, prev_prev, prev)
                prev_prev, prev = prev, out
        return network.head(prev)

    def _check(self, paths: Paths) -> None:
        if paths.weights is None and paths.active is None:
            raise SupernetError("paths: give weights, active ops, or both")
        for kind in self.kinds:
            if paths.weights is not None and tuple(paths.weights[kind].shape) != self.arch_shape(kind):
                raise SupernetError(f"weights[{kind}]: expected shape {self.arch_shape(kind)}, "
                                    f"got {tuple(paths.weights[kind].shape)}")
            if paths.active is not None and len(paths.active[kind]) != self.edge_count(kind):
                raise SupernetError(f"active[{kind}]: expected {self.edge_count(kind)} edges, "
                                    f"got {len(paths.active[kind])}")

    def _cell_forward(self, cell: nn.Module, kind: str, paths: Paths, *inputs: torch.Tensor) -> torch.Tensor:
        """The builder's ``Cell.forward`` with each edge's ``Paths`` (no drop-path)."""
        states = list(inputs[-cell.num_inputs:])
        if cell.num_inputs == 2:
            states = [cell.preprocess[0](states[0]), cell.preprocess[1](states[1])]
        weights = paths.weights[kind] if paths.weights is not None else None
        active = paths.active[kind] if paths.active is not None else None
        edge_index = 0
        for node_index, (edges, (sources, combine, _)) in enumerate(zip(cell.nodes, cell.plan)):
            outputs = []
            for mixed, source in zip(edges, sources):
                out = mixed(states[source], None if weights is None else weights[edge_index],
                            None if active is None else active[edge_index])
                if out is not None:
                    outputs.append(out)
                edge_index += 1
            if not outputs:
                raise SupernetError(f"{kind} cell node {node_index}: no path reaches it")
            states.append(_combine(outputs, combine))
        return _combine([states[i] for i in cell.output], cell.output_combine)

