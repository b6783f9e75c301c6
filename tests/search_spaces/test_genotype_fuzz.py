"""Malformed genotypes, generated from a valid one: each is refused with one GenotypeError
line (or exit 2 and one stderr line from ``rebuild``), quickly, and never with a traceback.

Every case is derived deterministically (a seeded ``random.Random``) from ``BASE``: a value
replaced by one no field accepts, a required key dropped, an unknown key added, an edge
reading itself or a later node, out-of-range numbers, deep nesting, bytes that are not
UTF-8, and a file over the size limit.
"""
from __future__ import annotations

import copy
import json
import math
import random
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from search_spaces.genotype import GenotypeError, NetworkGenotype

SECONDS = 5.0


def _base() -> dict[str, Any]:
    """A small valid network touching every part of the language: a stem, a residual
    cell with parameters, a two-input cell, head layers and an auxiliary head."""
    conv = {"op": "conv", "input": 0, "params": {"k": 3, "dilation": 1, "bn_eps": 1e-3, "order": "conv_bn_act"}}
    residual = {"inputs": 1, "combine": "concat", "output": [2],
                "nodes": [{"edges": [conv], "combine": "add"},
                          {"edges": [{"op": "conv", "input": 1, "params": {"act": "none"}},
                                     {"op": "skip", "input": 0, "params": {"projection": "conv_bn"}}],
                           "combine": "add"}]}
    two_inputs = {"inputs": 2, "combine": "concat", "output": [2, 3],
                  "nodes": [{"edges": [{"op": "sep_conv", "input": 0, "params": {"k": 3, "repeats": 2}},
                                       {"op": "max_pool", "input": 1, "params": {"k": 3}}], "combine": "add"},
                            {"edges": [{"op": "identity", "input": 2, "reduce": False},
                                       {"op": "avg_pool", "input": 1}], "combine": "mean"}]}
    return {
        "name": "fuzz_base", "input_size": [16, 16], "input_channels": 3, "num_classes": 5,
        "stem": [{"op": "conv", "channels": 8, "stride": 1, "params": {"k": 3}}],
        "stages": [{"name": "a", "cell": residual, "repeats": 2, "width": 8, "stride": 1},
                   {"name": "b", "cell": two_inputs, "repeats": 1, "width": 8, "stride": 2}],
        "head": {"pool": "avg", "pool_size": 1, "classifier": True,
                 "layers": [{"kind": "fc", "units": 16}, {"kind": "dropout", "p": 0.5}, {"kind": "act", "fn": "relu"}]},
        "aux_heads": [{"after_stage": 0, "layers": [{"op": "conv", "channels": 4, "params": {"k": 1}}],
                       "head": {"pool": "avg"}}],
    }


def _nested(depth: int) -> list[Any]:
    value: list[Any] = [1]
    for _ in range(depth):
        value = [value]
    return value


# Values that no field of the language accepts, whatever the field.
NO_FIELD_TAKES = (math.nan, math.inf, -math.inf, -1, "\x00", {"bogus": 1}, _nested(40))


def _paths(value: Any, path: tuple = ()) -> Iterator[tuple]:
    yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, path + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, path + (index,))


def _replaced(document: dict[str, Any], path: tuple, value: Any) -> Any:
    if not path:
        return value
    changed = copy.deepcopy(document)
    parent = changed
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = value
    return changed


def _dropped(document: dict[str, Any], path: tuple) -> dict[str, Any]:
    changed = copy.deepcopy(document)
    parent = changed
    for key in path[:-1]:
        parent = parent[key]
    del parent[path[-1]]
    return changed


REQUIRED = {"stages", "cell", "nodes", "output", "edges", "op", "input", "after_stage", "kind", "units", "p", "fn"}
EDGE = ("stages", 0, "cell", "nodes", 1, "edges", 0)  # node 1 of the residual cell: states 0..1 come first


def _wrong_values(rng: random.Random) -> Iterator[tuple[str, Any]]:
    base = _base()
    for path in _paths(base):
        for value in rng.sample(NO_FIELD_TAKES, 3):
            yield f"{path} = {str(value)[:20]}", _replaced(base, path, value)


def _missing_and_extra() -> Iterator[tuple[str, Any]]:
    base = _base()
    for path in _paths(base):
        if path and path[-1] in REQUIRED:
            yield f"drop {path}", _dropped(base, path)
        if isinstance(_at(base, path), dict):
            extra = copy.deepcopy(_at(base, path))
            extra["bogus"] = 0
            yield f"extra key at {path}", _replaced(base, path, extra)


def _at(document: Any, path: tuple) -> Any:
    for key in path:
        document = document[key]
    return document


def _graphs() -> Iterator[tuple[str, Any]]:
    base = _base()
    for source in (2, 3, 10**9):  # itself, beyond the cell, far beyond
        yield f"edge reads state {source}", _replaced(base, EDGE + ("input",), source)
    yield "cycle between two nodes", _replaced(
        _replaced(base, ("stages", 0, "cell", "nodes", 0, "edges", 0, "input"), 2), EDGE + ("input",), 1)
    for output in ([3], [0, 5], [], [[2]], "2"):
        yield f"output {output}", _replaced(base, ("stages", 0, "cell", "output"), output)
    yield "empty nodes", _replaced(base, ("stages", 0, "cell", "nodes"), [])
    yield "three inputs", _replaced(base, ("stages", 1, "cell", "inputs"), 3)
    yield "stride without a reducing op", _replaced(
        _replaced(base, ("stages", 1, "cell", "nodes", 0, "edges", 0, "reduce"), False),
        ("stages", 1, "cell", "nodes", 0, "edges", 1, "reduce"), False)


def _numbers() -> Iterator[tuple[str, Any]]:
    base = _base()
    huge = 10**30
    cases: list[tuple[tuple, Any]] = [
        (("stages", 0, "repeats"), 10**6), (("stages", 0, "repeats"), huge), (("stages", 0, "repeats"), 0),
        (("stages", 0, "width"), huge), (("input_size",), [huge, 16]), (("input_size",), [16, 16, 16]),
        (("num_classes",), huge), (("head", "layers", 0, "units"), huge), (("head", "pool_size"), 0),
        (("head", "layers", 1, "p"), 5), (("head", "layers", 1, "p"), "abc"), (("head", "layers", 2, "fn"), "sine"),
        (EDGE[:4] + (0, "edges", 0, "params", "dilation"), 0), (EDGE[:4] + (0, "edges", 0, "params", "k"), 0),
        (EDGE[:4] + (0, "edges", 0, "params", "k"), huge), (EDGE[:4] + (0, "edges", 0, "params", "k"), 2.5),
        (EDGE[:4] + (0, "edges", 0, "params", "order"), "bn_bn"), (EDGE[:4] + (0, "edges", 0, "params", "bn_eps"), 0),
        (EDGE[:4] + (0, "edges", 0, "params", "bn_eps"), "small"), (EDGE[:4] + (0, "edges", 0, "op"), "conv_9x9"),
        (EDGE + ("width",), 1e300), (EDGE + ("width",), 0), (EDGE + ("channels",), huge), (EDGE + ("reduce",), 1),
        (("stages", 1, "cell", "nodes", 0, "edges", 0, "params", "repeats"), 10**6),
        (("aux_heads", 0, "after_stage"), 2), (("name",), "x" * 10_000), (("stages", 0, "name"), 7),
    ]
    for path, value in cases:
        yield f"{path} = {str(value)[:20]}", _replaced(base, path, value)
    stages = [copy.deepcopy(base["stages"][0]) for _ in range(20_000)]
    yield "20,000 stages", _replaced(base, ("stages",), stages)


def cases() -> list[tuple[str, Any]]:
    rng = random.Random(0)
    return [*_wrong_values(rng), *_missing_and_extra(), *_graphs(), *_numbers()]


CASES = cases()


def test_the_base_is_valid_and_builds():
    from search_spaces.build import build_network

    network = build_network(NetworkGenotype.from_dict(_base()).to_dict())
    assert sum(p.numel() for p in network.parameters()) > 0


def test_enough_cases_are_generated():
    assert len(CASES) >= 200
    assert len({label for label, _ in CASES}) == len(CASES)


def _refused_quickly(action: Callable[[], Any]) -> str:
    start = time.perf_counter()
    with pytest.raises(GenotypeError) as caught:
        action()
    assert time.perf_counter() - start < SECONDS
    message = str(caught.value)
    assert message and "\n" not in message and len(message) < 1000
    return message


def test_every_malformed_document_is_refused_in_one_line():
    accepted = []
    for label, document in CASES:
        try:
            _refused_quickly(lambda: NetworkGenotype.from_dict(document))
        except pytest.fail.Exception:
            accepted.append(label)
    assert not accepted, f"accepted: {accepted[:10]}"


def test_the_refusal_names_the_field():
    base = _base()
    message = _refused_quickly(lambda: NetworkGenotype.from_dict(_replaced(base, EDGE + ("input",), 2)))
    assert message.startswith("stages[0].cell.nodes[1].edges[0].input: 2 is not an earlier state")
    message = _refused_quickly(lambda: NetworkGenotype.from_dict(_replaced(base, ("stages", 0, "repeats"), 10**6)))
    assert message.startswith("stages[0].repeats: 1000000 takes the network past the limit")


def _json_bytes(rng: random.Random) -> Iterator[tuple[str, bytes]]:
    text = json.dumps(_base()).encode()
    for index in range(12):
        cut = rng.randrange(len(text))
        bad = bytes([rng.choice([0x80, 0xC0, 0xFE, 0xFF]), rng.randrange(0x80)])
        yield f"non-UTF-8 at {cut}", text[:cut] + bad + text[cut:]
    yield "NaN", text.replace(b'"p": 0.5', b'"p": NaN')
    yield "Infinity", text.replace(b'"p": 0.5', b'"p": Infinity')
    yield "nested 100,000 deep", b"[" * 100_000 + b"]" * 100_000
    yield "object nested 100,000 deep", b'{"stages": ' + b'{"a": ' * 100_000 + b"1" + b"}" * 100_001
    yield "truncated", text[: len(text) // 2]
    yield "empty", b""


def test_malformed_files_are_refused(tmp_path: Path):
    rng = random.Random(1)
    for index, (label, content) in enumerate(_json_bytes(rng)):
        path = tmp_path / f"case{index}.json"
        path.write_bytes(content)
        message = _refused_quickly(lambda: NetworkGenotype.load(path))
        assert message.startswith(str(path)), label


def test_a_50_mb_file_is_refused_by_its_size(tmp_path: Path):
    path = tmp_path / "big.json"
    document = _base()
    document["name"] = "x" * (50 * 2**20)
    path.write_text(json.dumps(document))
    message = _refused_quickly(lambda: NetworkGenotype.load(path))
    assert "more than the limit of 5,242,880" in message


def test_rebuild_exits_2_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    from nasbench.cli.rebuild import main

    base = _base()
    documents = {
        "repeats.json": json.dumps(_replaced(base, ("stages", 0, "repeats"), 10**6)).encode(),
        "inf.json": json.dumps(_replaced(base, EDGE + ("width",), math.inf)).encode(),
        "deep.json": b"[" * 100_000 + b"]" * 100_000,
        "bytes.json": json.dumps(base).encode().replace(b"fuzz_base", b"fuzz\xff"),
        "big.json": b" " * (6 * 2**20) + json.dumps(base).encode(),
    }
    for name, content in documents.items():
        (tmp_path / name).write_bytes(content)
    runs = [[str(tmp_path / name)] for name in documents]
    runs.append([str(tmp_path / "inf.json"), "--export", str(tmp_path / "x.py")])
    nul_name = tmp_path / "nul.json"
    nul_name.write_text(json.dumps(_replaced(base, ("name",), "a\x00b")))
    runs.append([str(nul_name), "--export", str(tmp_path / "x.py")])
    for argv in runs:
        start = time.perf_counter()
        assert main(argv) == 2, argv
        assert time.perf_counter() - start < SECONDS
        captured = capsys.readouterr()
        assert len(captured.err.strip().splitlines()) == 1, captured.err
    assert not (tmp_path / "x.py").exists()
