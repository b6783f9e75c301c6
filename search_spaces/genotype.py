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
import math
import reprlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from .ops import ACTIVATIONS, OpCatalog, default_catalog
from .errors import NasError

COMBINES = ("add", "concat", "mean")
POOLS = ("avg", "max", "none")
HEAD_LAYER_KINDS = {"fc": "units", "dropout": "p", "act": "fn"}
MAX_CELL_NODES = 1000
MAX_INPUT_SIDE = 2**14
MAX_CHANNELS = 2**20  # a 3x3 conv between two such widths already holds 10^13 parameters


class GenotypeError(NasError, ValueError):
    """A genotype is malformed; the message starts with the path of the bad field."""


@dataclass(frozen=True)
class Limits:
    """How large a genotype may be, checked before anything is built: a file's size, and
    the network's op count (``layers``: every edge, stem and aux layer once per repeat).
    The parameter count is limited by the builder (``build_network(max_parameters=...)``)."""

    max_file_bytes: int = 5 * 2**20
    max_layers: int = 10**4
    max_name_chars: int = 256


DEFAULT_LIMITS = Limits()
_SHORT = reprlib.Repr()
_SHORT.maxlevel, _SHORT.maxstring, _SHORT.maxother, _SHORT.maxlist, _SHORT.maxdict = 2, 40, 40, 4, 4


def _show(value: Any) -> str:
    """A short repr for a message: a 50 MB string or a list nested 10^5 deep stays one line."""
    return _SHORT.repr(value)


def _key(key: Any) -> str:
    return key if isinstance(key, str) and len(key) <= 80 and key.isprintable() else _show(key)


def _fail(path: str, message: str) -> GenotypeError:
    return GenotypeError(f"{path}: {message}")


def _expect_mapping(data: Any, path: str, allowed: set[str], required: set[str]) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise _fail(path, f"expected an object, got {type(data).__name__}")
    for key in data:
        if key not in allowed:
            raise _fail(f"{path}.{_key(key)}" if path else _key(key),
                        f"unknown field; allowed: {', '.join(sorted(allowed))}")
    for key in sorted(required):
        if key not in data:
            raise _fail(f"{path}.{key}" if path else key, "missing")
    return data


def _int(value: Any, path: str, minimum: int = 0, maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise _fail(path, f"expected an integer >= {minimum}, got {_show(value)}")
    if maximum is not None and value > maximum:
        raise _fail(path, f"{value} is more than the limit of {maximum}")
    return value


def _choice(value: Any, path: str, choices: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in choices:
        raise _fail(path, f"{_show(value)} is not one of {', '.join(choices)}")
    return value


def _channels(value: Any, path: str) -> int | str | None:
    if value is None or value == "classes":
        return value
    return _int(value, path, 1, MAX_CHANNELS)


def _name(value: Any, path: str, limits: Limits) -> str:
    """A label: a string of printable characters (a NUL would end up in exported source)."""
    if not isinstance(value, str):
        raise _fail(path, f"expected a string, got {_show(value)}")
    if len(value) > limits.max_name_chars or not value.isprintable():
        raise _fail(path, f"expected at most {limits.max_name_chars} printable characters, got {_show(value)}")
    return value


def _params(op: Any, params: Any, path: str, catalog: OpCatalog) -> dict[str, Any]:
    if not isinstance(op, str) or op not in catalog:
        raise _fail(f"{path}.op", f"{_show(op)} is not an op; known: {', '.join(catalog.names())}")
    if not isinstance(params, Mapping):
        raise _fail(f"{path}.params", f"expected an object, got {type(params).__name__}")
    allowed = catalog.parameters_of(op)
    for key in params:
        if key not in allowed:
            raise _fail(f"{path}.params.{_key(key)}",
                        f"{op} takes no such parameter; it takes: {', '.join(allowed) or 'none'}")
        complaint = catalog.check_parameter(op, key, params[key])
        if complaint:
            raise _fail(f"{path}.params.{key}", f"{complaint}, got {_show(params[key])}")
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
    def from_dict(cls, data: Any, catalog: OpCatalog | None = None, limits: Limits = DEFAULT_LIMITS
                  ) -> "NetworkGenotype":
        return parse_network(data, catalog or default_catalog(), limits)

    @classmethod
    def from_json(cls, text: str | bytes, catalog: OpCatalog | None = None, limits: Limits = DEFAULT_LIMITS
                  ) -> "NetworkGenotype":
        return cls.from_dict(parse_json(text, limits), catalog, limits)

    @classmethod
    def load(cls, path: str | Path, catalog: OpCatalog | None = None, limits: Limits = DEFAULT_LIMITS
             ) -> "NetworkGenotype":
        return cls.from_dict(read_json(path, limits), catalog, limits)

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


def parse_json(text: str | bytes, limits: Limits = DEFAULT_LIMITS) -> Any:
    """The JSON document ``text``, refused in one line when it is larger than
    ``limits.max_file_bytes``, not UTF-8, not JSON, nested past the parser's depth, or
    holds NaN or Infinity (Python's json reads them; JSON does not have them)."""
    if len(text) > limits.max_file_bytes:
        raise GenotypeError(f"{len(text):,} bytes, more than the limit of {limits.max_file_bytes:,}")
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise GenotypeError(f"not UTF-8: byte {exc.object[exc.start]:#04x} at offset {exc.start}") from exc
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise GenotypeError(f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from exc
    except RecursionError as exc:
        raise GenotypeError("not valid JSON: nested too deeply") from exc


def _refuse_constant(name: str) -> Any:
    raise GenotypeError(f"not valid JSON: {name} is not a JSON number")


def read_json(path: str | Path, limits: Limits = DEFAULT_LIMITS) -> Any:
    """The JSON document in the file ``path``; its size is checked before it is read."""
    try:
        size = Path(path).stat().st_size
        if size > limits.max_file_bytes:
            raise GenotypeError(f"{path}: {size:,} bytes, more than the limit of {limits.max_file_bytes:,}")
        with open(path, "rb") as stream:
            text = stream.read(limits.max_file_bytes + 1)  # the file may grow after stat
    except OSError as exc:
        raise GenotypeError(f"{path}: cannot read ({exc.strerror})") from exc
    try:
        return parse_json(text, limits)
    except GenotypeError as exc:
        raise GenotypeError(f"{path}: {exc}") from (exc.__cause__ or exc)


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
    if width is not None and (isinstance(width, bool) or not isinstance(width, (int, float))
                              or not math.isfinite(width) or not 0 < width <= MAX_CHANNELS):
        raise _fail(f"{path}.width", f"expected a finite number in (0, {MAX_CHANNELS}], got {_show(width)}")
    reduce = data.get("reduce")
    if reduce is not None and not isinstance(reduce, bool):
        raise _fail(f"{path}.reduce", f"expected true, false or null, got {_show(reduce)}")
    if reduce == (source < inputs):
        reduce = None  # canonical: the default is not spelt out
    channels = _channels(data.get("channels"), f"{path}.channels")
    return Edge(data["op"], source, params, channels, None if width is None else float(width), reduce)


def _list(value: Any, path: str, limit: int, empty: bool = False) -> list[Any]:
    if not isinstance(value, list) or (not value and not empty):
        raise _fail(path, "expected a list" if empty else "expected a non-empty list")
    if len(value) > limit:
        raise _fail(path, f"{len(value)} entries, more than the limit of {limit}")
    return value


def parse_cell(data: Any, path: str, catalog: OpCatalog, limits: Limits = DEFAULT_LIMITS) -> Cell:
    data = _expect_mapping(data, path, {"nodes", "output", "inputs", "combine"}, {"nodes", "output"})
    inputs = _int(data.get("inputs", 1), f"{path}.inputs", 1)
    if inputs > 2:
        raise _fail(f"{path}.inputs", f"a cell takes 1 or 2 inputs, got {inputs}")
    # The canonical form orders nodes in quadratic time: a cell is kept to a size it handles at once.
    _list(data["nodes"], f"{path}.nodes", min(limits.max_layers, MAX_CELL_NODES))
    nodes = []
    edge_count = 0
    for index, node in enumerate(data["nodes"]):
        node_path = f"{path}.nodes[{index}]"
        node = _expect_mapping(node, node_path, {"edges", "combine"}, {"edges"})
        edge_count += len(_list(node["edges"], f"{node_path}.edges", limits.max_layers))
        if edge_count > limits.max_layers:
            raise _fail(f"{node_path}.edges", f"the cell holds more than the limit of {limits.max_layers} ops")
        edges = tuple(parse_edge(edge, f"{node_path}.edges[{i}]", inputs + index, inputs, catalog)
                      for i, edge in enumerate(node["edges"]))
        nodes.append(Node(edges, _choice(node.get("combine", "add"), f"{node_path}.combine", COMBINES)))
    output = _list(data["output"], f"{path}.output", limits.max_layers)
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


def _parse_head(data: Any, path: str, limits: Limits) -> Head:
    data = _expect_mapping(data, path, {"pool", "pool_size", "layers", "classifier"}, set())
    layers = []
    for index, layer in enumerate(_list(data.get("layers", []), f"{path}.layers", limits.max_layers, empty=True)):
        layer_path = f"{path}.layers[{index}]"
        if not isinstance(layer, Mapping) or not isinstance(layer.get("kind"), str) \
                or layer["kind"] not in HEAD_LAYER_KINDS:
            raise _fail(f"{layer_path}.kind", f"expected one of {', '.join(HEAD_LAYER_KINDS)}")
        value_key = HEAD_LAYER_KINDS[layer["kind"]]
        _expect_mapping(layer, layer_path, {"kind", value_key}, {"kind", value_key})
        value = layer[value_key]
        if layer["kind"] == "fc":
            value = _int(value, f"{layer_path}.units", 1, MAX_CHANNELS)
        elif layer["kind"] == "dropout" and (isinstance(value, bool) or not isinstance(value, (int, float))
                                             or not 0 <= value <= 1):
            raise _fail(f"{layer_path}.p", f"expected a probability in 0..1, got {_show(value)}")
        elif layer["kind"] == "act" and (not isinstance(value, str) or value not in ACTIVATIONS):
            raise _fail(f"{layer_path}.fn", f"{_show(value)} is not one of {', '.join(ACTIVATIONS)}")
        layers.append(HeadLayer(layer["kind"], value))
    classifier = data.get("classifier", True)
    if not isinstance(classifier, bool):
        raise _fail(f"{path}.classifier", f"expected true or false, got {classifier!r}")
    return Head(_choice(data.get("pool", "avg"), f"{path}.pool", POOLS),
                _int(data.get("pool_size", 1), f"{path}.pool_size", 1), tuple(layers), classifier)


def _ops_in(cell: Cell) -> int:
    return sum(len(node.edges) for node in cell.nodes) + (cell.inputs == 2) * 2  # NASNet cells preprocess both inputs


def parse_network(data: Any, catalog: OpCatalog, limits: Limits = DEFAULT_LIMITS) -> NetworkGenotype:
    """The genotype ``data`` stands for; refuses it, naming the field, when it is malformed
    or its network holds more ops than ``limits.max_layers`` (counted from the data, so
    ``repeats: 1000000`` is refused at once)."""
    fields = {"name", "input_size", "input_channels", "num_classes", "stem", "stages", "head", "aux_heads"}
    data = _expect_mapping(data, "", fields, {"stages"})
    stem = tuple(_parse_layer(layer, f"stem[{i}]", catalog)
                 for i, layer in enumerate(_list(data.get("stem", []), "stem", limits.max_layers, empty=True)))
    layers = len(stem)
    stages = []
    for index, stage in enumerate(_list(data["stages"], "stages", limits.max_layers)):
        path = f"stages[{index}]"
        built = _parse_stage(stage, path, catalog, limits)
        layers += _ops_in(built.first_cell or built.cell) + (built.repeats - 1) * _ops_in(built.cell)
        if layers > limits.max_layers:
            raise _fail(f"{path}.repeats", f"{built.repeats} takes the network past the limit of "
                                           f"{limits.max_layers} ops")
        _check_stride(built, path)
        stages.append(built)
    aux_heads = []
    for index, aux in enumerate(_list(data.get("aux_heads", []), "aux_heads", limits.max_layers, empty=True)):
        head, layers = _parse_aux_head(aux, f"aux_heads[{index}]", len(stages), layers, catalog, limits)
        aux_heads.append(head)
    size = _input_size(data.get("input_size", 224))
    return NetworkGenotype(
        stages=tuple(stages), stem=stem, head=_parse_head(data.get("head", {}), "head", limits),
        aux_heads=tuple(aux_heads), input_size=size,
        input_channels=_int(data.get("input_channels", 3), "input_channels", 1, MAX_CHANNELS),
        num_classes=_int(data.get("num_classes", 1000), "num_classes", 1, MAX_CHANNELS),
        name=_name(data.get("name", ""), "name", limits))


def _parse_stage(stage: Any, path: str, catalog: OpCatalog, limits: Limits) -> Stage:
    stage = _expect_mapping(stage, path, {"cell", "first_cell", "repeats", "width", "stride", "name"}, {"cell"})
    width = stage.get("width")
    first = stage.get("first_cell")
    return Stage(
        cell=parse_cell(stage["cell"], f"{path}.cell", catalog, limits),
        repeats=_int(stage.get("repeats", 1), f"{path}.repeats", 1),
        width=None if width is None else _int(width, f"{path}.width", 1, MAX_CHANNELS),
        stride=_int(stage.get("stride", 1), f"{path}.stride", 1),
        first_cell=None if first is None else parse_cell(first, f"{path}.first_cell", catalog, limits),
        name=_name(stage.get("name", ""), f"{path}.name", limits))


def _check_stride(stage: Stage, path: str) -> None:
    """A strided stage's first cell must hold an op that reduces."""
    for cell_name, cell in (("cell", stage.cell), ("first_cell", stage.first_cell)):
        if cell is None or (cell_name == "cell" and stage.first_cell is not None):
            continue
        if stage.stride > 1 and max(reduction_levels(cell, f"{path}.{cell_name}")) == 0:
            raise _fail(f"{path}.stride", f"{stage.stride}, but the {cell_name} has no op that reduces")


def _parse_aux_head(aux: Any, path: str, stages: int, layers: int, catalog: OpCatalog,
                    limits: Limits) -> tuple[AuxHead, int]:
    """The auxiliary head at ``path`` after one of ``stages`` stages, and the network's op
    count with it (``layers`` before it), refused past ``limits.max_layers``."""
    aux = _expect_mapping(aux, path, {"after_stage", "layers", "head"}, {"after_stage"})
    after = _int(aux["after_stage"], f"{path}.after_stage")
    if after >= stages:
        raise _fail(f"{path}.after_stage", f"{after} is not a stage (0..{stages - 1})")
    aux_layers = _list(aux.get("layers", []), f"{path}.layers", limits.max_layers, empty=True)
    layers += len(aux_layers)
    if layers > limits.max_layers:
        raise _fail(f"{path}.layers", f"the network holds more than the limit of {limits.max_layers} ops")
    parsed = tuple(_parse_layer(layer, f"{path}.layers[{i}]", catalog) for i, layer in enumerate(aux_layers))
    head = AuxHead(after, parsed, _parse_head(aux.get("head", {}), f"{path}.head", limits))
    return head, layers


def _input_size(size: Any) -> tuple[int, int]:
    """``input_size``: an integer or [height, width], each side at most ``MAX_INPUT_SIDE``."""
    if isinstance(size, int) and not isinstance(size, bool):
        size = [size, size]
    if not isinstance(size, list) or len(size) != 2:
        raise _fail("input_size", f"expected an integer or [height, width], got {_show(size)}")
    for i, side in enumerate(size):
        if _int(side, f"input_size[{i}]", 1) > MAX_INPUT_SIDE:
            raise _fail(f"input_size[{i}]", f"{side} is more than the limit of {MAX_INPUT_SIDE} pixels")
    return _int(size[0], "input_size[0]", 1), _int(size[1], "input_size[1]", 1)


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
