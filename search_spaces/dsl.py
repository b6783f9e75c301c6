"""Small constructors that spell genotypes as plain dicts, so that zoo entries and spaces
read like the papers' tables. They only build data; ``genotype.parse_network`` checks it."""
from __future__ import annotations

from typing import Any, Iterable, Sequence


def edge(op: str, input: int, channels: int | str | None = None, width: float | None = None,
         reduce: bool | None = None, **params: Any) -> dict[str, Any]:
    """An op applied to state ``input`` (see ``genotype.Edge``)."""
    data: dict[str, Any] = {"op": op, "input": input}
    if params:
        data["params"] = params
    if channels is not None:
        data["channels"] = channels
    if width is not None:
        data["width"] = width
    if reduce is not None:
        data["reduce"] = reduce
    return data


def node(*edges: dict[str, Any], combine: str = "add") -> dict[str, Any]:
    return {"edges": list(edges), "combine": combine}


def cell(nodes: Sequence[dict[str, Any]], output: Sequence[int] | None = None, inputs: int = 1,
         combine: str = "concat") -> dict[str, Any]:
    """A cell; by default its output is the last node."""
    output = [inputs + len(nodes) - 1] if output is None else list(output)
    return {"inputs": inputs, "nodes": list(nodes), "output": output, "combine": combine}


def chain(*ops: dict[str, Any], reduce_at: int | None = None) -> dict[str, Any]:
    """A cell that applies ops one after another; ``reduce_at`` indexes the op that
    carries the stage stride (None: the first). Each op is ``edge(op, 0, ...)``; its
    input index is set here."""
    reduce_at = 0 if reduce_at is None else reduce_at
    nodes = []
    for index, op in enumerate(ops):
        nodes.append(node({**op, "input": index, "reduce": index == reduce_at}))
    return cell(nodes)


def layer(op: str, channels: int | str | None = None, stride: int = 1, **params: Any) -> dict[str, Any]:
    """One op of a stem or auxiliary chain."""
    data: dict[str, Any] = {"op": op}
    if channels is not None:
        data["channels"] = channels
    if stride != 1:
        data["stride"] = stride
    if params:
        data["params"] = params
    return data


def stage(cell_spec: dict[str, Any], repeats: int = 1, width: int | None = None, stride: int = 1,
          first_cell: dict[str, Any] | None = None, name: str = "") -> dict[str, Any]:
    data: dict[str, Any] = {"cell": cell_spec, "repeats": repeats, "stride": stride}
    if width is not None:
        data["width"] = width
    if first_cell is not None:
        data["first_cell"] = first_cell
    if name:
        data["name"] = name
    return data


def head(pool: str = "avg", pool_size: int = 1, layers: Iterable[tuple[str, Any]] = (),
         classifier: bool = True) -> dict[str, Any]:
    """A head; ``layers`` as (kind, value) pairs: ("fc", 4096), ("act", "relu"), ("dropout", 0.5)."""
    keys = {"fc": "units", "dropout": "p", "act": "fn"}
    return {"pool": pool, "pool_size": pool_size, "classifier": classifier,
            "layers": [{"kind": kind, keys[kind]: value} for kind, value in layers]}


def classifier_mlp(hidden: Sequence[int], dropout: float, dropout_first: bool) -> list[tuple[str, Any]]:
    """FC-ReLU layers with dropout, in torchvision's AlexNet order (dropout before each FC)
    or VGG's (dropout after each ReLU)."""
    layers: list[tuple[str, Any]] = []
    for units in hidden:
        if dropout_first:
            layers += [("dropout", dropout), ("fc", units), ("act", "relu")]
        else:
            layers += [("fc", units), ("act", "relu"), ("dropout", dropout)]
    return layers


def network(name: str, stages: Sequence[dict[str, Any]], stem: Sequence[dict[str, Any]] = (),
            head_spec: dict[str, Any] | None = None, aux_heads: Sequence[dict[str, Any]] = (),
            input_size: int = 224, input_channels: int = 3, num_classes: int = 1000) -> dict[str, Any]:
    return {"name": name, "input_size": [input_size, input_size], "input_channels": input_channels,
            "num_classes": num_classes, "stem": list(stem), "stages": list(stages),
            "head": head_spec if head_spec is not None else head(), "aux_heads": list(aux_heads)}


def aux_head(after_stage: int, layers: Sequence[dict[str, Any]], head_spec: dict[str, Any]) -> dict[str, Any]:
    return {"after_stage": after_stage, "layers": list(layers), "head": head_spec}
