"""The genotype language: networks, stages, cells, nodes and edges as plain data.

A genotype is JSON in and out (``from_dict``/``to_dict``), validated with one-line errors
that name the field (``stages[2].cell.nodes[1].edges[0].op: 'conv_9x9' is not an op``),
and has a canonical form in which two spellings of one graph compare and hash alike.
Networks are built from the plain-dict form by ``search_spaces.build``.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from .ops import OpCatalog, default_catalog

COMBINES = ("add", "concat", "mean")
POOLS = ("avg", "max", "none")
HEAD_LAYER_KINDS = {"fc": "units", "dropout": "p", "act": "fn"}


class GenotypeError(ValueError):
    """A genotype is malformed; the message starts with the path of the bad field."""


def _fail(path: str, message: str) -> GenotypeError:
    return GenotypeError(f"{path}: {message}")


def _expect_mapping(data: Any, path: str, allowed: set[str], required: set[str]) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise _fail(path, f"expected an object, got {type(data).__name__}")
    for key in data:
        if key not in allowed:
            raise _fail(f"{path}.{key}" if path else key, f"unknown field; allowed: {', '.join(sorted(allowed))}")
    for key in sorted(required):
        if key not in data:
            raise _fail(f"{path}.{key}" if path else key, "missing")
    return data


def _int(value: Any, path: str, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise _fail(path, f"expected an integer >= {minimum}, got {value!r}")
    return value


def _choice(value: Any, path: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise _fail(path, f"{value!r} is not one of {', '.join(choices)}")
    return value


def _channels(value: Any, path: str) -> int | str | None:
    if value is None or value == "classes":
        return value
    return _int(value, path, 1)


def _params(op: Any, params: Any, path: str, catalog: OpCatalog) -> dict[str, Any]:
    if not isinstance(op, str) or op not in catalog:
        raise _fail(f"{path}.op", f"{op!r} is not an op; known: {', '.join(catalog.names())}")
    if not isinstance(params, Mapping):
        raise _fail(f"{path}.params", f"expected an object, got {type(params).__name__}")
    allowed = catalog.parameters_of(op)
    for key in params:
        if key not in allowed:
            raise _fail(f"{path}.params.{key}", f"{op} takes no such parameter; it takes: {', '.join(allowed) or 'none'}")
    # Canonical form: parameters equal to their defaults are dropped.
    return {key: value for key, value in sorted(params.items()) if allowed[key] != value}


@dataclass(frozen=True)
class Edge:
    """An op applied to an earlier state of its cell.

    ``input`` indexes the cell's states: 0..inputs-1 are the cell inputs, then one per node.
    Output channels: ``channels`` (absolute, or ``"classes"``), else ``width`` times the
    stage width, else the stage width (or the input width for ops that keep channels).
    ``reduce``: whether the op carries the stage stride (default: iff it reads a cell input).
    """

    op: str
    input: int
    params: Mapping[str, Any] = field(default_factory=dict)
    channels: int | str | None = None
    width: float | None = None
    reduce: bool | None = None


@dataclass(frozen=True)
class Node:
    """Apply each edge's op and combine the results by add, concat or mean."""

    edges: tuple[Edge, ...]
    combine: str = "add"


@dataclass(frozen=True)
class Cell:
    """A DAG: ``inputs`` (1 for a classic block, 2 for NASNet-style cells), nodes, and the
    states combined into the output."""

    nodes: tuple[Node, ...]
    output: tuple[int, ...]
    inputs: int = 1
    combine: str = "concat"


@dataclass(frozen=True)
class Layer:
    """One op of a stem or auxiliary chain, with its own stride."""

    op: str
    channels: int | str | None = None
    stride: int = 1
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Stage:
    """A cell repeated ``repeats`` times at ``width``; the first repeat applies ``stride``
    and may be a different cell (``first_cell``: a projection shortcut, say)."""

    cell: Cell
    repeats: int = 1
    width: int | None = None
    stride: int = 1
    first_cell: Cell | None = None
    name: str = ""


@dataclass(frozen=True)
class HeadLayer:
    """``fc`` (units), ``dropout`` (p) or ``act`` (fn) in a head."""

    kind: str
    value: Any


@dataclass(frozen=True)
class Head:
    """Pooling (global or to ``pool_size``², or none: flatten), layers, classifier."""

    pool: str = "avg"
    pool_size: int = 1
    layers: tuple[HeadLayer, ...] = ()
    classifier: bool = True


@dataclass(frozen=True)
class AuxHead:
    """An auxiliary classifier after stage ``after_stage``, active in training only."""

    after_stage: int
    layers: tuple[Layer, ...] = ()
    head: Head = Head()


@dataclass(frozen=True)
class NetworkGenotype:
    """A whole network: stem, stages, head, auxiliary heads, and its native input."""

    stages: tuple[Stage, ...]
    stem: tuple[Layer, ...] = ()
    head: Head = Head()
    aux_heads: tuple[AuxHead, ...] = ()
    input_size: tuple[int, int] = (224, 224)
    input_channels: int = 3
    num_classes: int = 1000
    name: str = ""

    # --- JSON round trip -------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: Any, catalog: OpCatalog | None = None) -> "NetworkGenotype":
        return parse_network(data, catalog or default_catalog())

    @classmethod
    def from_json(cls, text: str, catalog: OpCatalog | None = None) -> "NetworkGenotype":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise GenotypeError(f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from exc
        return cls.from_dict(data, catalog)

    @classmethod
    def load(cls, path: str | Path, catalog: OpCatalog | None = None) -> "NetworkGenotype":
        try:
            text = Path(path).read_text()
        except OSError as exc:
            raise GenotypeError(f"{path}: cannot read ({exc.strerror})") from exc
        return cls.from_json(text, catalog)

    def to_dict(self) -> dict[str, Any]:
        return network_to_dict(self)

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    def canonical(self) -> "NetworkGenotype":
        return dataclasses.replace(self, stages=tuple(
            dataclasses.replace(stage, cell=canonical_cell(stage.cell),
                                first_cell=canonical_cell(stage.first_cell) if stage.first_cell else None)
            for stage in self.stages))

    def key(self) -> str:
        """Hash of the canonical form; names (of the network and its stages) are labels,
        not structure, and are not part of it."""
        canonical = self.canonical()
        unnamed = dataclasses.replace(canonical, name="", stages=tuple(
            dataclasses.replace(stage, name="") for stage in canonical.stages))
        return _hash(unnamed.to_dict())


def _hash(data: Any) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:16]


# --- parsing with paths ---------------------------------------------------------------

def parse_edge(data: Any, path: str, states: int, inputs: int, catalog: OpCatalog) -> Edge:
    data = _expect_mapping(data, path, {"op", "input", "params", "channels", "width", "reduce"}, {"op", "input"})
    source = _int(data["input"], f"{path}.input")
    if source >= states:
        raise _fail(f"{path}.input", f"{source} is not an earlier state (0..{states - 1})")
    params = _params(data["op"], data.get("params", {}), path, catalog)
    width = data.get("width")
    if width is not None and (isinstance(width, bool) or not isinstance(width, (int, float)) or width <= 0):
        raise _fail(f"{path}.width", f"expected a positive number, got {width!r}")
    reduce = data.get("reduce")
    if reduce is not None and not isinstance(reduce, bool):
        raise _fail(f"{path}.reduce", f"expected true, false or null, got {reduce!r}")
    if reduce == (source < inputs):
        reduce = None  # canonical: the default is not spelt out
    channels = _channels(data.get("channels"), f"{path}.channels")
    return Edge(data["op"], source, params, channels, None if width is None else float(width), reduce)


def parse_cell(data: Any, path: str, catalog: OpCatalog) -> Cell:
    data = _expect_mapping(data, path, {"nodes", "output", "inputs", "combine"}, {"nodes", "output"})
    inputs = _int(data.get("inputs", 1), f"{path}.inputs", 1)
    if inputs > 2:
        raise _fail(f"{path}.inputs", f"a cell takes 1 or 2 inputs, got {inputs}")
    if not isinstance(data["nodes"], list) or not data["nodes"]:
        raise _fail(f"{path}.nodes", "expected a non-empty list")
    nodes = []
    for index, node in enumerate(data["nodes"]):
        node_path = f"{path}.nodes[{index}]"
        node = _expect_mapping(node, node_path, {"edges", "combine"}, {"edges"})
        if not isinstance(node["edges"], list) or not node["edges"]:
            raise _fail(f"{node_path}.edges", "expected a non-empty list")
        edges = tuple(parse_edge(edge, f"{node_path}.edges[{i}]", inputs + index, inputs, catalog)
                      for i, edge in enumerate(node["edges"]))
        nodes.append(Node(edges, _choice(node.get("combine", "add"), f"{node_path}.combine", COMBINES)))
    output = data["output"]
    if not isinstance(output, list) or not output:
        raise _fail(f"{path}.output", "expected a non-empty list of state indices")
    states = inputs + len(nodes)
    for i, state in enumerate(output):
        if _int(state, f"{path}.output[{i}]") >= states:
            raise _fail(f"{path}.output[{i}]", f"{state} is not a state (0..{states - 1})")
    cell = Cell(tuple(nodes), tuple(output), inputs, _choice(data.get("combine", "concat"), f"{path}.combine", COMBINES))
    reduction_levels(cell, path)
    return cell


def reduction_levels(cell: Cell, path: str) -> list[int]:
    """How many strided ops lie on every path to each state (0 or 1); raises where the
    paths into a node (or into the output) disagree, since their shapes could not match."""
    levels = [0] * cell.inputs
    for index, node in enumerate(cell.nodes):
        incoming = set()
        for edge in node.edges:
            reduces = edge.reduce if edge.reduce is not None else edge.input < cell.inputs
            incoming.add(levels[edge.input] + int(reduces))
        if len(incoming) != 1 or max(incoming) > 1:
            raise _fail(f"{path}.nodes[{index}]", "its edges pass through different numbers of strided ops")
        levels.append(incoming.pop())
    if len({levels[i] for i in cell.output}) != 1:
        raise _fail(f"{path}.output", "its states pass through different numbers of strided ops")
    return levels


def _parse_layer(data: Any, path: str, catalog: OpCatalog) -> Layer:
    data = _expect_mapping(data, path, {"op", "channels", "stride", "params"}, {"op"})
    params = _params(data["op"], data.get("params", {}), path, catalog)
    return Layer(data["op"], _channels(data.get("channels"), f"{path}.channels"),
                 _int(data.get("stride", 1), f"{path}.stride", 1), params)


def _parse_head(data: Any, path: str) -> Head:
    data = _expect_mapping(data, path, {"pool", "pool_size", "layers", "classifier"}, set())
    layers = []
    for index, layer in enumerate(data.get("layers", [])):
        layer_path = f"{path}.layers[{index}]"
        if not isinstance(layer, Mapping) or layer.get("kind") not in HEAD_LAYER_KINDS:
            raise _fail(f"{layer_path}.kind", f"expected one of {', '.join(HEAD_LAYER_KINDS)}")
        value_key = HEAD_LAYER_KINDS[layer["kind"]]
        _expect_mapping(layer, layer_path, {"kind", value_key}, {"kind", value_key})
        value = layer[value_key]
        if layer["kind"] == "fc":
            value = _int(value, f"{layer_path}.units", 1)
        layers.append(HeadLayer(layer["kind"], value))
    classifier = data.get("classifier", True)
    if not isinstance(classifier, bool):
        raise _fail(f"{path}.classifier", f"expected true or false, got {classifier!r}")
    return Head(_choice(data.get("pool", "avg"), f"{path}.pool", POOLS),
                _int(data.get("pool_size", 1), f"{path}.pool_size", 1), tuple(layers), classifier)


def parse_network(data: Any, catalog: OpCatalog) -> NetworkGenotype:
    fields = {"name", "input_size", "input_channels", "num_classes", "stem", "stages", "head", "aux_heads"}
    data = _expect_mapping(data, "", fields, {"stages"})
    stem = tuple(_parse_layer(layer, f"stem[{i}]", catalog) for i, layer in enumerate(data.get("stem", [])))
    if not isinstance(data["stages"], list) or not data["stages"]:
        raise _fail("stages", "expected a non-empty list")
    stages = []
    for index, stage in enumerate(data["stages"]):
        path = f"stages[{index}]"
        stage = _expect_mapping(stage, path, {"cell", "first_cell", "repeats", "width", "stride", "name"}, {"cell"})
        width = stage.get("width")
        first = stage.get("first_cell")
        stages.append(Stage(
            cell=parse_cell(stage["cell"], f"{path}.cell", catalog),
            repeats=_int(stage.get("repeats", 1), f"{path}.repeats", 1),
            width=None if width is None else _int(width, f"{path}.width", 1),
            stride=_int(stage.get("stride", 1), f"{path}.stride", 1),
            first_cell=None if first is None else parse_cell(first, f"{path}.first_cell", catalog),
            name=str(stage.get("name", ""))))
        for cell_name, cell in (("cell", stages[-1].cell), ("first_cell", stages[-1].first_cell)):
            if cell is None or (cell_name == "cell" and stages[-1].first_cell is not None):
                continue
            if stages[-1].stride > 1 and max(reduction_levels(cell, f"{path}.{cell_name}")) == 0:
                raise _fail(f"{path}.stride", f"{stages[-1].stride}, but the {cell_name} has no op that reduces")
    aux_heads = []
    for index, aux in enumerate(data.get("aux_heads", [])):
        path = f"aux_heads[{index}]"
        aux = _expect_mapping(aux, path, {"after_stage", "layers", "head"}, {"after_stage"})
        after = _int(aux["after_stage"], f"{path}.after_stage")
        if after >= len(stages):
            raise _fail(f"{path}.after_stage", f"{after} is not a stage (0..{len(stages) - 1})")
        aux_heads.append(AuxHead(after, tuple(_parse_layer(layer, f"{path}.layers[{i}]", catalog)
                                               for i, layer in enumerate(aux.get("layers", []))),
                                 _parse_head(aux.get("head", {}), f"{path}.head")))
    size = data.get("input_size", 224)
    if isinstance(size, int) and not isinstance(size, bool):
        size = [size, size]
    if not isinstance(size, list) or len(size) != 2:
        raise _fail("input_size", f"expected an integer or [height, width], got {size!r}")
    return NetworkGenotype(
        stages=tuple(stages), stem=stem, head=_parse_head(data.get("head", {}), "head"),
        aux_heads=tuple(aux_heads),
        input_size=(_int(size[0], "input_size[0]", 1), _int(size[1], "input_size[1]", 1)),
        input_channels=_int(data.get("input_channels", 3), "input_channels", 1),
        num_classes=_int(data.get("num_classes", 1000), "num_classes", 1),
        name=str(data.get("name", "")))


# --- plain-dict form ------------------------------------------------------------------

def edge_to_dict(edge: Edge) -> dict[str, Any]:
    data: dict[str, Any] = {"op": edge.op, "input": edge.input}
    if edge.params:
        data["params"] = dict(edge.params)
    for key in ("channels", "width", "reduce"):
        if getattr(edge, key) is not None:
            data[key] = getattr(edge, key)
    return data


def cell_to_dict(cell: Cell) -> dict[str, Any]:
    return {"inputs": cell.inputs,
            "nodes": [{"edges": [edge_to_dict(e) for e in node.edges], "combine": node.combine} for node in cell.nodes],
            "output": list(cell.output), "combine": cell.combine}


def _layer_to_dict(layer: Layer) -> dict[str, Any]:
    data: dict[str, Any] = {"op": layer.op}
    if layer.channels is not None:
        data["channels"] = layer.channels
    if layer.stride != 1:
        data["stride"] = layer.stride
    if layer.params:
        data["params"] = dict(layer.params)
    return data


def _head_to_dict(head: Head) -> dict[str, Any]:
    return {"pool": head.pool, "pool_size": head.pool_size, "classifier": head.classifier,
            "layers": [{"kind": layer.kind, HEAD_LAYER_KINDS[layer.kind]: layer.value} for layer in head.layers]}


def network_to_dict(network: NetworkGenotype) -> dict[str, Any]:
    stages = []
    for stage in network.stages:
        data: dict[str, Any] = {"cell": cell_to_dict(stage.cell), "repeats": stage.repeats, "stride": stage.stride}
        if stage.width is not None:
            data["width"] = stage.width
        if stage.first_cell is not None:
            data["first_cell"] = cell_to_dict(stage.first_cell)
        if stage.name:
            data["name"] = stage.name
        stages.append(data)
    return {
        "name": network.name, "input_size": list(network.input_size), "input_channels": network.input_channels,
        "num_classes": network.num_classes, "stem": [_layer_to_dict(layer) for layer in network.stem],
        "stages": stages, "head": _head_to_dict(network.head),
        "aux_heads": [{"after_stage": aux.after_stage, "layers": [_layer_to_dict(layer) for layer in aux.layers],
                       "head": _head_to_dict(aux.head)} for aux in network.aux_heads],
    }


# --- canonical form -------------------------------------------------------------------

def canonical_cell(cell: Cell) -> Cell:
    """The same graph in a unique spelling: nodes no output depends on are dropped, nodes
    are renumbered in a topological order that breaks ties by content, and the edges of
    commutative nodes (add, mean) and a commutative output are sorted."""
    live = set(cell.output)
    for index in range(len(cell.nodes) - 1, -1, -1):
        if cell.inputs + index in live:
            live.update(edge.input for edge in cell.nodes[index].edges)
    content: dict[int, str] = {i: f"input{i}" for i in range(cell.inputs)}
    for index, node in enumerate(cell.nodes):
        parts = sorted(_edge_key(edge, content) for edge in node.edges) if node.combine != "concat" \
            else [_edge_key(edge, content) for edge in node.edges]
        content[cell.inputs + index] = _hash([node.combine, parts])
    order: list[int] = []
    remaining = [cell.inputs + i for i in range(len(cell.nodes)) if cell.inputs + i in live]
    placed = set(range(cell.inputs))
    while remaining:
        ready = [s for s in remaining if all(e.input in placed for e in cell.nodes[s - cell.inputs].edges)]
        chosen = min(ready, key=lambda s: (content[s], s))
        order.append(chosen)
        placed.add(chosen)
        remaining.remove(chosen)
    renumber = {i: i for i in range(cell.inputs)}
    renumber.update({old: cell.inputs + new for new, old in enumerate(order)})
    nodes = []
    for old in order:
        node = cell.nodes[old - cell.inputs]
        edges = [dataclasses.replace(edge, input=renumber[edge.input]) for edge in node.edges]
        if node.combine != "concat":
            edges.sort(key=lambda edge: json.dumps(edge_to_dict(edge), sort_keys=True))
        nodes.append(Node(tuple(edges), node.combine))
    output = [renumber[s] for s in cell.output]
    if cell.combine != "concat":
        output.sort()
    return Cell(tuple(nodes), tuple(output), cell.inputs, cell.combine)


def _edge_key(edge: Edge, content: Mapping[int, str]) -> str:
    data = edge_to_dict(edge)
    data["input"] = content[edge.input]
    return json.dumps(data, sort_keys=True)
