"""NASNet-style cell spaces: NASNet, AmoebaNet and DARTS as one class.

A *two-input cell* reads the outputs of the two previous cells (states 0 and 1: state 0
is the older, h_{i-1}, state 1 the newer, h_i, as in DARTS and ENAS) and builds ``B``
blocks; block ``i`` picks two earlier states (0..i+1), applies one op to each and adds
the results, giving state ``i + 2``. A network stacks a *normal* cell and a *reduction*
cell (the reduction cell applies stride 2 to the ops that read its inputs). The spaces
differ only in their op lists, their block counts, whether a block's two inputs must
differ, and which states make the cell output (NNI's NDS shape):

- ``nasnet``: Zoph et al. 2018, "Learning Transferable Architectures for Scalable Image
  Recognition", https://arxiv.org/abs/1707.07012, Sec. 3: 13 ops, B=5, inputs chosen
  with replacement, the unused hidden states concatenated.
- ``amoeba``: Real et al. 2019, "Regularized Evolution for Image Classifier Architecture
  Search", https://arxiv.org/abs/1802.01548, Sec. 3: NASNet's space with 8 ops.
- ``darts``: Liu et al. 2019, "DARTS: Differentiable Architecture Search",
  https://arxiv.org/abs/1806.09055, Sec. 2.1/3.1: 8 ops, 4 nodes, each with two inputs
  from distinct earlier states, all four nodes concatenated.

A point is plain JSON: ``{"normal": [[op_a, input_a, op_b, input_b], ... B blocks],
"reduce": [...]}``. ``cell`` turns one cell of a point into a cell of the genotype
language (``search_spaces.genotype``); ``search_spaces.skeletons`` stacks such cells into
networks, and ``search_spaces.published`` holds the published cells as points.
"""
from __future__ import annotations

import numbers
import random
from types import MappingProxyType
from typing import Any, Mapping, Sequence

from ..dsl import edge, node
from ..genotype import NetworkGenotype, canonical_cell, cell_to_dict, parse_cell
from ..ops import default_catalog
from ..skeletons import SkeletonError, cell_network
from .base import Decision, SpaceError, json_key, skeleton_settings
from .encodings import path_encoding

# The settings of the network around a cell point (``search_spaces.skeletons.cell_network``);
# None: the evaluation setting's value (``setting``: nasnet, amoeba, darts, enas; None: the
# space's own, ``search_spaces.skeletons.SPACE_SETTINGS``).
CELL_SKELETON_DEFAULTS: Mapping[str, Any] = MappingProxyType({
    "name": "cifar", "cells_per_stage": None, "filters": None, "aux_head": False, "preset": "mobile",
    "aux_position": None, "output": None, "dropout": None, "stem_multiplier": 3, "setting": None, "stem": None,
})

CELL_KINDS = ("normal", "reduce")
# NOTE: the path encoding keeps the paths of at most this many ops; White et al. (BANANAS,
# Sec. 4) truncate it too for the DARTS space, whose full encoding is too long for a small MLP.
MAX_PATH_LENGTH = 3
OUTPUT_RULES = ("unused", "all_nodes")


def _op(op: str, **params: Any) -> Mapping[str, Any]:
    return MappingProxyType({"op": op, "params": MappingProxyType(params)})


# Each space's ops, in its paper's order, mapped to the op catalog (``search_spaces.ops``).
# Every op maps the cell width to the cell width: the cell inputs are preprocessed to it.
_IDENTITY = _op("skip", projection="factorized")  # identity at stride 1, FactorizedReduce at stride 2

NASNET_OPS: Mapping[str, Mapping[str, Any]] = MappingProxyType({
    "identity": _IDENTITY,
    "conv_1x3_3x1": _op("fact_conv", k=3),
    "conv_1x7_7x1": _op("fact_conv", k=7),
    # NOTE: NASNet lists a "3x3 dilated convolution" without saying more; we read it as a
    # full 3×3 convolution with dilation 2 in NASNet's ReLU-conv-BN order (the TF-slim
    # release implements none of NASNet-A's cells with it, so no code settles it). It is
    # not DARTS' dil_conv_3x3 (separable), hence its own name; points written before the
    # rename say dil_conv_3x3 and still read as this op (NASNET_RENAMED).
    "full_dil_conv_3x3": _op("conv", k=3, dilation=2, order="act_conv_bn"),
    "avg_pool_3x3": _op("avg_pool", k=3),
    "max_pool_3x3": _op("max_pool", k=3),
    "max_pool_5x5": _op("max_pool", k=5),
    "max_pool_7x7": _op("max_pool", k=7),
    "conv_1x1": _op("conv", k=1, order="act_conv_bn"),
    "conv_3x3": _op("conv", k=3, order="act_conv_bn"),
    # NASNet (and DARTS) apply ReLU-separable conv-BN twice.
    "sep_conv_3x3": _op("sep_conv", k=3, repeats=2),
    "sep_conv_5x5": _op("sep_conv", k=5, repeats=2),
    "sep_conv_7x7": _op("sep_conv", k=7, repeats=2),
})

# Old spellings of the nasnet space's ops -> their names now. A nasnet point (5 blocks of
# [op, input, op, input]) only ever came from this space, so its dil_conv_3x3 is the full
# dilated conv it built then; a DARTS-format cell's dil_conv_3x3 is read by
# search_spaces.formats, which maps it to the separable op whatever the space.
NASNET_RENAMED: Mapping[str, str] = MappingProxyType({"dil_conv_3x3": "full_dil_conv_3x3"})

AMOEBA_OPS: Mapping[str, Mapping[str, Any]] = MappingProxyType({
    "identity": _IDENTITY,  # the TF release calls it 'none'
    "sep_conv_3x3": NASNET_OPS["sep_conv_3x3"],
    "sep_conv_5x5": NASNET_OPS["sep_conv_5x5"],
    "sep_conv_7x7": NASNET_OPS["sep_conv_7x7"],
    "avg_pool_3x3": NASNET_OPS["avg_pool_3x3"],
    "max_pool_3x3": NASNET_OPS["max_pool_3x3"],
    # NOTE: one ReLU-dilated separable conv-BN, as DARTS' dil_conv; no AmoebaNet-A cell
    # uses it, so the release's choice (it stacks separable convs twice) is not checked.
    "dil_sep_conv_3x3": _op("sep_conv", k=3, dilation=2),
    # The TF TPU release bottlenecks this op (network_utils.py: ReLU-1×1 conv to C/4-BN,
    # ReLU-1×7-BN, ReLU-7×1-BN at C/4, ReLU-1×1 conv back to C-BN); with it AmoebaNet-A
    # builds the paper's 3.2M (CIFAR, N=6, F=36) and 5.1M / 555M (N=4, F=50), with the
    # paper's plain pair (DARTS' conv_7x1_1x7) 3.53M and 5.73M / 645M. Its own name keeps
    # it apart from NASNet's and DARTS' plain pair (conv_1x7_7x1, conv_7x1_1x7).
    "conv_1x7_7x1_bottleneck": _op("fact_conv", k=7, bottleneck=4),
})

DARTS_OPS: Mapping[str, Mapping[str, Any]] = MappingProxyType({
    "none": _op("zero"),
    "max_pool_3x3": NASNET_OPS["max_pool_3x3"],
    "avg_pool_3x3": NASNET_OPS["avg_pool_3x3"],
    "skip_connect": _IDENTITY,
    "sep_conv_3x3": NASNET_OPS["sep_conv_3x3"],
    "sep_conv_5x5": NASNET_OPS["sep_conv_5x5"],
    "dil_conv_3x3": _op("sep_conv", k=3, dilation=2),
    "dil_conv_5x5": _op("sep_conv", k=5, dilation=2),
})


def _is_index(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


class TwoInputCellSpace:
    """A normal and a reduction cell of ``blocks`` blocks over ``ops`` (see the module
    docstring). ``distinct_inputs``: a block's two inputs must differ (DARTS).
    ``output``: ``"unused"`` concatenates the states no block reads, the cell inputs
    included (NASNet, AmoebaNet, ENAS); ``"all_nodes"`` concatenates every block (DARTS).
    ``renamed``: old op names this space still reads (old -> current); ``check`` returns
    the current names.

    Decisions, per cell (normal, then reduce) and per block: ``input_a`` (0..i+1),
    ``input_b``, ``op_a``, ``op_b`` (NASNet's controller order, Sec. 3). Input decisions
    grow with the block index. Where inputs must differ, ``input_b`` ranks the states
    other than ``input_a`` (0..i), so that every decision list decodes to a member.
    """

    def __init__(self, name: str, ops: Mapping[str, Mapping[str, Any]], blocks: int, distinct_inputs: bool,
                 output: str, paper: str, renamed: Mapping[str, str] | None = None):
        if output not in OUTPUT_RULES:
            raise SpaceError(f"output: {output!r} is not one of {', '.join(OUTPUT_RULES)}")
        self.name = name
        self.ops: Mapping[str, Mapping[str, Any]] = MappingProxyType(dict(ops))
        self.op_names: tuple[str, ...] = tuple(ops)
        self.blocks = int(blocks)
        self.distinct_inputs = bool(distinct_inputs)
        self.output = output
        self.paper = paper
        self.renamed: Mapping[str, str] = MappingProxyType(dict(renamed or {}))
        decisions = []
        for kind in CELL_KINDS:
            for block in range(self.blocks):
                prefix = f"{kind}.block{block}"
                states = tuple(range(block + 2))
                decisions.append(Decision(f"{prefix}.input_a", states))
                if self.distinct_inputs:
                    decisions.append(Decision(f"{prefix}.input_b_other", tuple(range(block + 1))))
                else:
                    decisions.append(Decision(f"{prefix}.input_b", states))
                decisions.append(Decision(f"{prefix}.op_a", self.op_names))
                decisions.append(Decision(f"{prefix}.op_b", self.op_names))
        self._decisions = tuple(decisions)

    def __repr__(self) -> str:
        return f"TwoInputCellSpace({self.name!r}, ops={len(self.op_names)}, blocks={self.blocks})"

    # --- membership ---------------------------------------------------------------------
    def check(self, point: Any) -> dict[str, list[list[Any]]]:
        """The point as plain lists; raises ``SpaceError`` naming the first bad field."""
        if not isinstance(point, Mapping):
            raise SpaceError(f"{self.name} point: expected an object with 'normal' and 'reduce', "
                             f"got {type(point).__name__}")
        if set(point) != set(CELL_KINDS):
            raise SpaceError(f"{self.name} point: expected the keys 'normal' and 'reduce', "
                             f"got {sorted(map(str, point))}")
        checked: dict[str, list[list[Any]]] = {}
        for kind in CELL_KINDS:
            cell = point[kind]
            if not isinstance(cell, (list, tuple)) or len(cell) != self.blocks:
                raise SpaceError(f"{self.name} point.{kind}: expected a list of {self.blocks} blocks")
            blocks = []
            for index, block in enumerate(cell):
                path = f"{self.name} point.{kind}[{index}]"
                if not isinstance(block, (list, tuple)) or len(block) != 4:
                    raise SpaceError(f"{path}: expected [op_a, input_a, op_b, input_b], got {block!r}")
                op_a, in_a, op_b, in_b = block
                op_a, op_b = self.renamed.get(op_a, op_a), self.renamed.get(op_b, op_b)
                for op in (op_a, op_b):
                    if op not in self.ops:
                        raise SpaceError(f"{path}: {op!r} is not an op of {self.name}; ops: {', '.join(self.op_names)}")
                for state in (in_a, in_b):
                    if not _is_index(state) or not 0 <= state <= index + 1:
                        raise SpaceError(f"{path}: input {state!r} is not an earlier state (0..{index + 1})")
                if self.distinct_inputs and in_a == in_b:
                    raise SpaceError(f"{path}: both inputs are state {in_a}; {self.name} needs two different states")
                blocks.append([op_a, int(in_a), op_b, int(in_b)])
            checked[kind] = blocks
        return checked

    def contains(self, point: Any) -> bool:
        try:
            self.check(point)
        except SpaceError:
            return False
        return True

    # --- decisions ----------------------------------------------------------------------
    def decisions(self) -> Sequence[Decision]:
        return self._decisions

    def encode(self, point: Any) -> list[int]:
        checked = self.check(point)
        indices: list[int] = []
        for kind in CELL_KINDS:
            for op_a, in_a, op_b, in_b in checked[kind]:
                other = in_b - (in_b > in_a) if self.distinct_inputs else in_b
                indices += [in_a, other, self.op_names.index(op_a), self.op_names.index(op_b)]
        return indices

    def decode(self, indices: Sequence[int]) -> dict[str, list[list[Any]]]:
        if len(indices) != len(self._decisions):
            raise SpaceError(f"{self.name} decode: needs {len(self._decisions)} indices, got {len(indices)}")
        for decision, index in zip(self._decisions, indices):
            if not _is_index(index) or not 0 <= index < decision.size:
                raise SpaceError(f"{self.name} decode: {decision.name} index {index!r} not in 0..{decision.size - 1}")
        point: dict[str, list[list[Any]]] = {}
        values = iter(int(i) for i in indices)
        for kind in CELL_KINDS:
            blocks = []
            for _ in range(self.blocks):
                in_a, other, op_a, op_b = next(values), next(values), next(values), next(values)
                in_b = other + (other >= in_a) if self.distinct_inputs else other
                blocks.append([self.op_names[op_a], in_a, self.op_names[op_b], in_b])
            point[kind] = blocks
        return point

    # --- sampling and mutation ----------------------------------------------------------
    def sample(self, rng: random.Random) -> dict[str, list[list[Any]]]:
        """Every decision uniform: ops uniform, inputs uniform over the allowed states."""
        return self.decode([rng.randrange(decision.size) for decision in self._decisions])

    def mutate(self, point: Any, rng: random.Random) -> dict[str, list[list[Any]]]:
        """Real et al. 2019, Sec. 3 ("Mutations"): with equal chance a hidden-state or an op
        mutation; each picks the normal or the reduction cell, one of its blocks, and one of
        the block's two elements uniformly, then replaces that element's hidden state with
        another earlier state, or its op with another op. The child always differs from
        the parent in its key (a draw that leaves the cell the same graph is drawn again)."""
        parent = self.check(point)
        parent_key = self.key(parent)
        for _ in range(1000):
            child = {kind: [list(block) for block in blocks] for kind, blocks in parent.items()}
            kind = rng.choice(CELL_KINDS)
            index = rng.randrange(self.blocks)
            side = rng.randrange(2)
            block = child[kind][index]
            if rng.random() < 0.5:
                current = block[2 * side]
                block[2 * side] = rng.choice([op for op in self.op_names if op != current])
            else:
                taken = {block[2 * side + 1]}
                if self.distinct_inputs:
                    taken.add(block[2 * (1 - side) + 1])
                alternatives = [state for state in range(index + 2) if state not in taken]
                if not alternatives:
                    continue  # DARTS' first node reads both cell inputs: nothing to change
                block[2 * side + 1] = rng.choice(alternatives)
            if self.key(child) != parent_key:
                return child
        raise SpaceError(f"{self.name} mutate: found no different child of {point!r}")

    def neighbours(self, point: Any) -> list[dict[str, list[list[Any]]]]:
        """Every point ``mutate`` can reach (one op or one input of one block changed), each
        graph once, never ``point``'s own; in cell, block, side order, ops in the space's
        order, inputs ascending."""
        parent = self.check(point)
        seen = {self.key(parent)}
        result = []
        for kind in CELL_KINDS:
            for index in range(self.blocks):
                for side in range(2):
                    block = parent[kind][index]
                    changes = [(2 * side, op) for op in self.op_names if op != block[2 * side]]
                    taken = {block[2 * side + 1]} | ({block[2 * (1 - side) + 1]} if self.distinct_inputs else set())
                    changes += [(2 * side + 1, state) for state in range(index + 2) if state not in taken]
                    for position, value in changes:
                        child = {name: [list(b) for b in blocks] for name, blocks in parent.items()}
                        child[kind][index][position] = value
                        child_key = self.key(child)
                        if child_key not in seen:
                            seen.add(child_key)
                            result.append(child)
        return result

    def features(self, point: Any) -> list[float]:
        """The path encoding (White et al., BANANAS, AAAI 2021, Sec. 4) of each cell, normal
        then reduce, and each cell input: one feature per op sequence of 1..``MAX_PATH_LENGTH``
        ops along a path from that input to a concatenated state (``zero`` ops cut paths)."""
        live_ops = [op for op in self.op_names if self.ops[op]["op"] != "zero"]
        checked = self.check(point)
        features: list[float] = []
        for kind in CELL_KINDS:
            blocks = checked[kind]
            # paths[state]: (cell input, op indices) of the paths of <= MAX_PATH_LENGTH ops reaching it
            paths: list[list[tuple[int, tuple[int, ...]]]] = [[(0, ())], [(1, ())]]
            for op_a, in_a, op_b, in_b in blocks:
                paths.append([(source, ops + (live_ops.index(op),))
                              for op, state in ((op_a, in_a), (op_b, in_b)) if op in live_ops
                              for source, ops in paths[state] if len(ops) < MAX_PATH_LENGTH])
            ending = [path for state in self.output_states(blocks) for path in paths[state]]
            for source in (0, 1):
                features += path_encoding([ops for start, ops in ending if start == source], len(live_ops),
                                          MAX_PATH_LENGTH)
        return features

    # --- the cell as a genotype ---------------------------------------------------------
    def output_states(self, blocks: Sequence[Sequence[Any]]) -> list[int]:
        """The states a cell concatenates under this space's rule."""
        if self.output == "all_nodes":
            return [2 + i for i in range(len(blocks))]
        used = {block[1] for block in blocks} | {block[3] for block in blocks}
        return [state for state in range(2 + len(blocks)) if state not in used]

    def cell(self, point: Any, kind: str, output: Sequence[int] | None = None,
             skip_projection: str = "factorized", newer_input_conv: bool = False) -> dict[str, Any]:
        """One cell of ``point`` as a cell of the genotype language (``inputs=2``).

        Block ``i`` is node ``i`` with two edges combined by add; the output concatenates
        ``output`` (default: this space's rule). In a reduction cell (``kind="reduce"``)
        the edges that read a cell input carry the stride (the builder's default). An
        output state that is a cell input is passed through its own node, an identity
        (``skip``): free in a normal cell, a strided reduction in a reduction cell, so that
        every concatenated state has the cell's output size (NASNet's
        ``_combine_unused_states`` and ENAS's ``_fixed_combine`` reduce such states so).
        ``skip_projection``: how a strided identity reduces (``factorized``; ``conv_bn``
        where the cell width is odd and FactorizedReduce cannot split it).
        ``newer_input_conv``: pass the newer input (state 1) through one more ReLU-1×1
        conv-BN before any block reads it (ENAS's release, ``micro_child.py``
        ``_fixed_layer``'s ``layer_base``); it is node 0 and the blocks follow it.
        """
        if kind not in CELL_KINDS:
            raise SpaceError(f"kind: {kind!r} is not one of {', '.join(CELL_KINDS)}")
        blocks = self.check(point)[kind]
        states = list(output) if output is not None else self.output_states(blocks)
        for state in states:
            if not _is_index(state) or not 0 <= state < 2 + len(blocks):
                raise SpaceError(f"{self.name} output: {state!r} is not a state of the cell (0..{1 + len(blocks)})")
        if not states:
            raise SpaceError(f"{self.name} output: no state to concatenate")
        nodes = [node(edge("conv", 1, reduce=False, k=1, order="act_conv_bn"))] if newer_input_conv else []
        # where each state of the point lies in the cell graph (shifted past the extra node)
        where = [0, 2 if newer_input_conv else 1] + [2 + len(nodes) + block for block in range(len(blocks))]
        nodes += [node(self._edge(op_a, where[in_a], skip_projection, in_a < 2),
                       self._edge(op_b, where[in_b], skip_projection, in_b < 2))
                  for op_a, in_a, op_b, in_b in blocks]
        final = []
        for state in states:
            if state < 2:
                nodes.append(node(edge("skip", where[state], reduce=True if where[state] >= 2 else None,
                                        projection=skip_projection)))
                final.append(1 + len(nodes))
            else:
                final.append(where[state])
        return {"inputs": 2, "nodes": nodes, "output": final, "combine": "concat"}

    def _edge(self, op: str, source: int, skip_projection: str, reads_input: bool) -> dict[str, Any]:
        """The edge of ``op`` from graph state ``source``; ``reads_input``: it reads a cell
        input, so it carries a reduction cell's stride."""
        spec = self.ops[op]
        params = dict(spec["params"])
        if spec["op"] == "skip":
            params["projection"] = skip_projection
        return edge(spec["op"], source, reduce=True if reads_input and source >= 2 else None, **params)

    # --- the network --------------------------------------------------------------------
    def network(self, point: Any, *, num_classes: int | None = None, input_size: int | None = None,
                input_channels: int = 3, skeleton: Mapping[str, Any] | None = None) -> NetworkGenotype:
        """The cells of ``point`` stacked in a CIFAR or ImageNet skeleton (``skeleton``
        keys: ``CELL_SKELETON_DEFAULTS``; see ``search_spaces.skeletons.cell_network``);
        ``num_classes`` and ``input_size`` default to the skeleton preset's (CIFAR: 10, 32)."""
        settings = skeleton_settings(self.name, skeleton, CELL_SKELETON_DEFAULTS)
        try:
            genotype = cell_network(
                self, point, settings["name"], N=settings["cells_per_stage"], F=settings["filters"],
                aux=bool(settings["aux_head"]), num_classes=num_classes, input_size=input_size,
                input_channels=input_channels, preset=settings["preset"], stem_multiplier=settings["stem_multiplier"],
                dropout=settings["dropout"], output=settings["output"], aux_position=settings["aux_position"],
                setting=settings["setting"], stem=settings["stem"])
        except SkeletonError as exc:
            raise SpaceError(str(exc)) from None
        return NetworkGenotype.from_dict(genotype)

    # --- canonical key ------------------------------------------------------------------
    def key(self, point: Any) -> str:
        """A hash of both cells' canonical graphs: the two elements of a block commute
        (add), blocks are renumbered in a canonical topological order, and the output
        states are sorted (a concatenation's order only permutes channels, which the next
        1×1 convolution absorbs)."""
        catalog = default_catalog()
        data = []
        for kind in CELL_KINDS:
            parsed = canonical_cell(parse_cell(self.cell(point, kind), kind, catalog))
            spelled = cell_to_dict(parsed)
            spelled["output"] = sorted(spelled["output"])
            data.append(spelled)
        return json_key(data)


def nasnet_space() -> TwoInputCellSpace:
    return TwoInputCellSpace(
        "nasnet", NASNET_OPS, blocks=5, distinct_inputs=False, output="unused", renamed=NASNET_RENAMED,
        paper="Learning Transferable Architectures for Scalable Image Recognition (Zoph et al. 2018), "
              "https://arxiv.org/abs/1707.07012")


def amoeba_space() -> TwoInputCellSpace:
    return TwoInputCellSpace(
        "amoeba", AMOEBA_OPS, blocks=5, distinct_inputs=False, output="unused",
        paper="Regularized Evolution for Image Classifier Architecture Search (Real et al. 2019), "
              "https://arxiv.org/abs/1802.01548")


def darts_space() -> TwoInputCellSpace:
    return TwoInputCellSpace(
        "darts", DARTS_OPS, blocks=4, distinct_inputs=True, output="all_nodes",
        paper="DARTS: Differentiable Architecture Search (Liu et al. 2019), https://arxiv.org/abs/1806.09055")
