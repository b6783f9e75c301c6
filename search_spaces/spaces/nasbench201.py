"""The NAS-Bench-201 cell space.

Dong & Yang, "NAS-Bench-201: Extending the Scope of Reproducible Neural Architecture
Search", ICLR 2020, https://arxiv.org/abs/2001.00326.

A cell is a DAG over 4 nodes; each of the 6 edges ``i -> j`` (``i < j``) carries one of
5 ops, so the space holds 5**6 = 15,625 cells. A point is the benchmark's own string,
one ``|op~i|`` group per edge, the groups of node ``j`` joined by ``+``::

    |nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|

The string is canonical: every cell has exactly one spelling, so ``key`` parses and
re-emits it. Cells that compute the same function (an edge feeding a node whose every
path to the output is ``none``) keep distinct keys, as they keep distinct rows in the
benchmark.
"""
from __future__ import annotations

import numbers
import random
from typing import Any, Mapping, Sequence

from search_spaces.genotype import NetworkGenotype
from search_spaces.spaces.base import Decision, SpaceError, skeleton_settings
from search_spaces.spaces.encodings import path_encoding
from search_spaces.spaces.nasbench201_network import nasbench201_network

# NAS-Bench-201's network: N=5 cells per stage, C=16 (Dong & Yang 2020, Sec. 2.1).
SKELETON_DEFAULTS: Mapping[str, Any] = {"name": "nasbench201", "cells_per_stage": 5, "filters": 16,
                                        "aux_head": False}

OPS: tuple[str, ...] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
NUM_NODES = 4
# The edges in the order the string spells them: node 1's inputs, then node 2's, node 3's.
EDGES: tuple[tuple[int, int], ...] = tuple(
    (source, target) for target in range(1, NUM_NODES) for source in range(target)
)


def parse_arch(point: Any) -> list[tuple[int, int, str]]:
    """The edges ``(source, target, op)`` of a NAS-Bench-201 string, in string order.

    Raises ``SpaceError`` naming the first thing that is wrong.
    """
    if not isinstance(point, str):
        raise SpaceError(f"NAS-Bench-201 point must be a str, got {type(point).__name__}")
    nodes = point.split("+")
    if len(nodes) != NUM_NODES - 1:
        raise SpaceError(
            f"NAS-Bench-201 point {point!r}: expected {NUM_NODES - 1} '+'-separated nodes, got {len(nodes)}"
        )
    edges: list[tuple[int, int, str]] = []
    for target, node in enumerate(nodes, start=1):
        if len(node) < 2 or not (node.startswith("|") and node.endswith("|")):
            raise SpaceError(f"NAS-Bench-201 point {point!r}: node {target} {node!r} must be wrapped in '|'")
        groups = node[1:-1].split("|")
        if len(groups) != target:
            raise SpaceError(
                f"NAS-Bench-201 point {point!r}: node {target} needs {target} inputs, got {len(groups)}"
            )
        for expected_source, group in enumerate(groups):
            op, sep, source = group.partition("~")
            if not sep or op not in OPS:
                raise SpaceError(f"NAS-Bench-201 point {point!r}: unknown op {op!r} (ops: {', '.join(OPS)})")
            if source != str(expected_source):
                raise SpaceError(
                    f"NAS-Bench-201 point {point!r}: node {target} input {expected_source} is spelt ~{source}"
                )
            edges.append((expected_source, target, op))
    return edges


def format_arch(ops: Sequence[str]) -> str:
    """The NAS-Bench-201 string for one op per edge, edges in ``EDGES`` order."""
    if len(ops) != len(EDGES):
        raise SpaceError(f"NAS-Bench-201 cell needs {len(EDGES)} ops, got {len(ops)}")
    nodes: list[list[str]] = [[] for _ in range(NUM_NODES - 1)]
    for (source, target), op in zip(EDGES, ops):
        if op not in OPS:
            raise SpaceError(f"NAS-Bench-201 op {op!r} is not one of {', '.join(OPS)}")
        nodes[target - 1].append(f"{op}~{source}")
    return "+".join("|" + "|".join(node) + "|" for node in nodes)


# The ops a path can follow (``none`` is no connection).
PATH_OPS: tuple[str, ...] = tuple(op for op in OPS if op != "none")


def _routes(source: int, target: int) -> list[tuple[int, ...]]:
    """Every node sequence from ``source`` to ``target`` of the complete DAG."""
    if source == target:
        return [(target,)]
    return [(source, *rest) for step in range(source + 1, target + 1) for rest in _routes(step, target)]


class NasBench201Space:
    """NAS-Bench-201: 6 edges of a 4-node cell, each one of 5 ops (Dong & Yang, 2020)."""

    name = "nasbench201"

    def __init__(self) -> None:
        self._decisions = tuple(Decision(f"edge_{source}_{target}", OPS) for source, target in EDGES)

    def decisions(self) -> Sequence[Decision]:
        return self._decisions

    def sample(self, rng: random.Random) -> str:
        return format_arch([rng.choice(OPS) for _ in EDGES])

    def encode(self, point: Any) -> list[int]:
        return [OPS.index(op) for _, _, op in parse_arch(point)]

    def decode(self, indices: Sequence[int]) -> str:
        if len(indices) != len(EDGES):
            raise SpaceError(f"NAS-Bench-201 decode needs {len(EDGES)} indices, got {len(indices)}")
        for decision, index in zip(self._decisions, indices):
            if not isinstance(index, numbers.Integral) or isinstance(index, bool) or not 0 <= index < len(OPS):
                raise SpaceError(f"NAS-Bench-201 decode: {decision.name} index {index!r} not in 0..{len(OPS) - 1}")
        return format_arch([OPS[int(index)] for index in indices])

    def mutate(self, point: Any, rng: random.Random) -> str:
        """Change one uniformly chosen edge to a different, uniformly chosen op.

        The mutation of the NAS-Bench-201 paper's regularized evolution baseline.
        """
        ops = [op for _, _, op in parse_arch(point)]
        edge = rng.randrange(len(ops))
        ops[edge] = rng.choice([op for op in OPS if op != ops[edge]])
        return format_arch(ops)

    def neighbours(self, point: Any) -> list[str]:
        """Every cell ``mutate`` can reach: each edge changed to each other op (24), edges
        in string order, ops in ``OPS`` order."""
        ops = [op for _, _, op in parse_arch(point)]
        return [format_arch(ops[:edge] + [op] + ops[edge + 1:])
                for edge in range(len(ops)) for op in OPS if op != ops[edge]]

    def features(self, point: Any) -> list[float]:
        """The path encoding (White et al., BANANAS, AAAI 2021, Sec. 4): one feature per op
        sequence of length 1..3 along a path from node 0 to node 3 (``none`` cuts a path),
        over the 4 other ops: 4 + 16 + 64 = 84 features."""
        op_of = {(source, target): op for source, target, op in parse_arch(point)}
        paths = []
        for route in _routes(0, NUM_NODES - 1):
            ops = [op_of[edge] for edge in zip(route, route[1:])]
            if "none" not in ops:
                paths.append([PATH_OPS.index(op) for op in ops])
        return path_encoding(paths, len(PATH_OPS), NUM_NODES - 1)

    def contains(self, point: Any) -> bool:
        try:
            parse_arch(point)
        except SpaceError:
            return False
        return True

    def key(self, point: Any) -> str:
        return format_arch([op for _, _, op in parse_arch(point)])

    def network(self, point: Any, *, num_classes: int = 10, input_size: int = 32, input_channels: int = 3,
                skeleton: Mapping[str, Any] | None = None) -> NetworkGenotype:
        """NAS-Bench-201's network around the cell (``skeleton``: ``cells_per_stage``,
        ``filters``; ``name`` is ``nasbench201``; no auxiliary head)."""
        settings = skeleton_settings(self.name, skeleton, SKELETON_DEFAULTS)
        if settings["name"] != "nasbench201" or settings["aux_head"]:
            raise SpaceError("skeleton: the nasbench201 space has one network (name nasbench201, no auxiliary head)")
        if int(settings["cells_per_stage"]) < 1 or int(settings["filters"]) < 1:
            raise SpaceError(f"skeleton: cells_per_stage and filters must be positive, got "
                             f"{settings['cells_per_stage']} and {settings['filters']}")
        return NetworkGenotype.from_dict(nasbench201_network(
            parse_arch(point), f"nasbench201:{point}", cells_per_stage=int(settings["cells_per_stage"]), filters=int(settings["filters"]),
            num_classes=num_classes, input_size=input_size, input_channels=input_channels))
