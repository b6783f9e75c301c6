"""DARTS' ``Genotype(...)`` as text and as its ``_asdict()`` JSON: read and write.

DARTS (Liu et al. 2019, https://arxiv.org/abs/1806.09055) writes a cell as a namedtuple
``Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ...], normal_concat=[2, 3,
4, 5], reduce=[...], reduce_concat=range(2, 6))``: node ``i`` of a cell takes the pairs
``2i`` and ``2i + 1`` (op, input state; state 0 is h_{i-1}, state 1 h_i, state ``i + 2``
node ``i``), and the cell concatenates the ``*_concat`` states. PC-DARTS and P-DARTS use
the same form; D-X-Y's AutoDL-Projects nests each node's pairs (``[(('op', i), ('op',
j)), ...]``, with two more fields ``connectN=None, connects=None``) and its JSON may add
a weight to each pair (``['op', i, 0.9]``).

Text is read with ``ast`` and never run: only literals, ``range(...)``, ``list(...)``
and ``tuple(...)`` are taken. A file may hold many statements (DARTS' whole
``genotypes.py``); its ``NAME = Genotype(...)`` assignments (and ``ALIAS = NAME``) are
the genotypes it offers, picked by name.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from .errors import FormatError

FIELDS = ("normal", "normal_concat", "reduce", "reduce_concat")
DXY_FIELDS = ("connectN", "connects")  # D-X-Y's extra fields: None in every published cell
CELL_KINDS = ("normal", "reduce")
MAX_TEXT_CHARS = 2**20  # a genotypes.py is a few kB
MAX_NODES = 64
MAX_DEPTH = 8  # of nested literals: a cell is a list of (pairs of) pairs

Block = tuple[str, int, str, int]


@dataclass(frozen=True)
class DartsGenotype:
    """A DARTS genotype: each cell as blocks ``(op_a, input_a, op_b, input_b)`` (node
    ``i`` = pairs ``2i``, ``2i + 1``) and the states it concatenates. ``name``: the
    variable it was assigned to (``""`` for a bare expression or JSON)."""

    normal: tuple[Block, ...]
    normal_concat: tuple[int, ...]
    reduce: tuple[Block, ...]
    reduce_concat: tuple[int, ...]
    name: str = ""

    def blocks(self, kind: str) -> tuple[Block, ...]:
        return self.normal if kind == "normal" else self.reduce

    def concat(self, kind: str) -> tuple[int, ...]:
        return self.normal_concat if kind == "normal" else self.reduce_concat

    def to_dict(self) -> dict[str, Any]:
        """DARTS' ``genotype._asdict()`` as JSON (flat pairs, concat as lists)."""
        return {"normal": _pairs(self.normal), "normal_concat": list(self.normal_concat),
                "reduce": _pairs(self.reduce), "reduce_concat": list(self.reduce_concat)}

    def to_text(self, name: str | None = None) -> str:
        """The ``Genotype(...)`` expression in DARTS' one-line spelling; with a ``name``
        (default: its own), as the assignment ``NAME = Genotype(...)``."""
        def pairs(blocks: Sequence[Block]) -> str:
            return "[" + ", ".join(f"({op!r}, {state})" for op, state in _pairs(blocks)) + "]"

        body = (f"Genotype(normal={pairs(self.normal)}, normal_concat={list(self.normal_concat)}, "
                f"reduce={pairs(self.reduce)}, reduce_concat={list(self.reduce_concat)})")
        label = self.name if name is None else name
        return f"{label} = {body}" if label else body


def refuse_extra_connections(fields: Mapping[str, Any]) -> None:
    """D-X-Y's genotypes may carry extra connections (``connectN``/``connects``); only None is read."""
    for key in DXY_FIELDS:
        if fields.get(key) is not None:
            raise FormatError(f"DARTS genotype: {key}: D-X-Y's extra connections are not supported (only None)")


def _pairs(blocks: Sequence[Block]) -> list[list[Any]]:
    return [[op, state] for op_a, in_a, op_b, in_b in blocks for op, state in ((op_a, in_a), (op_b, in_b))]


# --- JSON ---------------------------------------------------------------------------------

def looks_like_darts_json(data: Any) -> bool:
    """Whether ``data`` is a ``_asdict()`` genotype (it has a ``*_concat`` key)."""
    return isinstance(data, Mapping) and any(key in data for key in ("normal_concat", "reduce_concat"))


def genotype_from_json(data: Any, name: str = "") -> DartsGenotype:
    """A genotype from its ``_asdict()`` JSON (flat or nested pairs, D-X-Y's weights
    dropped); ``FormatError`` names the first bad field."""
    if not isinstance(data, Mapping):
        raise FormatError(f"DARTS genotype JSON: expected an object, got {type(data).__name__}")
    unknown = sorted(str(key) for key in data if key not in FIELDS + DXY_FIELDS + ("name",))
    if unknown:
        raise FormatError(f"DARTS genotype JSON: unknown field {unknown[0]!r}; fields: {', '.join(FIELDS)}")
    refuse_extra_connections(data)
    missing = [key for key in FIELDS if key not in data]
    if missing:
        raise FormatError(f"DARTS genotype JSON: missing field {missing[0]!r}")
    return checked_genotype({key: data[key] for key in FIELDS}, str(data.get("name") or name))


def checked_genotype(fields: Mapping[str, Any], name: str = "") -> DartsGenotype:
    """The genotype of plain values (lists, ints, strs) for the four ``FIELDS``."""
    cells = {kind: _cell(fields[kind], kind) for kind in CELL_KINDS}
    concats = {kind: _concat(fields[f"{kind}_concat"], f"{kind}_concat", len(cells[kind])) for kind in CELL_KINDS}
    return DartsGenotype(cells["normal"], concats["normal"], cells["reduce"], concats["reduce"], name)


def _cell(value: Any, field: str) -> tuple[Block, ...]:
    """Flat pairs ``[(op, i), ...]`` or nested ``[((op, i), (op, j)), ...]`` -> blocks."""
    if not isinstance(value, (list, tuple)) or not value:
        raise FormatError(f"DARTS genotype: {field}: expected a non-empty list of (op, input) pairs, got {value!r:.60}")
    if all(_is_pair(item) for item in value):
        if len(value) % 2:
            count = f"{len(value)} (op, input) pair" + ("s" if len(value) > 1 else "")
            raise FormatError(f"DARTS genotype: {field}: {count}, an odd number; each node takes two")
        pairs = list(value)
    elif all(isinstance(item, (list, tuple)) and len(item) == 2 and all(_is_pair(p) for p in item) for item in value):
        pairs = [pair for node in value for pair in node]
    else:
        bad = next(item for item in value if not _is_pair(item))
        raise FormatError(f"DARTS genotype: {field}: {bad!r:.60} is neither an (op, input) pair nor a node "
                          f"of two such pairs")
    if len(pairs) // 2 > MAX_NODES:
        raise FormatError(f"DARTS genotype: {field}: {len(pairs) // 2} nodes, more than {MAX_NODES}")
    blocks = []
    for node in range(len(pairs) // 2):
        (op_a, in_a), (op_b, in_b) = (tuple(pair[:2]) for pair in pairs[2 * node:2 * node + 2])
        for state in (in_a, in_b):
            if not 0 <= state <= node + 1:
                raise FormatError(f"DARTS genotype: {field}: node {node} reads state {state}; "
                                  f"it can read 0..{node + 1}")
        blocks.append((op_a, in_a, op_b, in_b))
    return tuple(blocks)


def _is_pair(item: Any) -> bool:
    """(op, input) or D-X-Y's (op, input, weight)."""
    return (isinstance(item, (list, tuple)) and len(item) in (2, 3) and isinstance(item[0], str)
            and _is_int(item[1]) and (len(item) == 2 or isinstance(item[2], (int, float))))


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _concat(value: Any, field: str, nodes: int) -> tuple[int, ...]:
    if not isinstance(value, (list, tuple)) or not value or not all(_is_int(state) for state in value):
        raise FormatError(f"DARTS genotype: {field}: expected a non-empty list of states, got {value!r:.60}")
    for state in value:
        if not 0 <= state <= nodes + 1:
            raise FormatError(f"DARTS genotype: {field}: {state} is not a state of the cell (0..{nodes + 1})")
    if len(set(value)) != len(value):
        raise FormatError(f"DARTS genotype: {field}: {list(value)} names a state twice")
    return tuple(int(state) for state in value)


# --- text ---------------------------------------------------------------------------------

def looks_like_darts_text(text: str) -> bool:
    """Whether ``text`` holds a ``Genotype(`` call (cheap: before parsing)."""
    return "Genotype(" in text or "Genotype (" in text


def genotype_names(text: str) -> list[str]:
    """The names ``text`` assigns genotypes to, in order (aliases included)."""
    return [name for name, _ in _genotype_calls(_module(text))]


def parse_genotype(text: str, name: str | None = None) -> DartsGenotype:
    """The genotype in ``text`` (an expression, or Python source with assignments); with
    several, ``name`` picks one. Every problem is one ``FormatError`` line."""
    found = _genotype_calls(_module(text))
    if not found:
        raise FormatError("no Genotype(...) expression found")
    if name is not None:
        chosen = [(label, call) for label, call in found if label == name]
        if not chosen:
            named = [label for label, _ in found if label]
            raise FormatError(f"no genotype named {name!r}; "
                              + (f"the text names {', '.join(named)}" if named else "the text names none"))
    elif len(found) > 1:
        names = ", ".join(label or "(unnamed)" for label, _ in found)
        raise FormatError(f"{len(found)} genotypes ({names}); pick one by name")
    else:
        chosen = found
    label, call = chosen[0]
    return checked_genotype(_call_fields(call), label)


def _module(text: str) -> ast.Module:
    if len(text) > MAX_TEXT_CHARS:
        raise FormatError(f"{len(text):,} characters, more than the limit of {MAX_TEXT_CHARS:,} for a genotype")
    try:
        return ast.parse(text, mode="exec")
    except SyntaxError as exc:
        raise FormatError(f"not a Python expression: {exc.msg} at line {exc.lineno}, column {exc.offset}") from None
    except (ValueError, RecursionError, MemoryError) as exc:
        raise FormatError(f"not a Python expression: {type(exc).__name__}") from None


def _is_genotype_call(node: ast.AST) -> bool:
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    return (isinstance(func, ast.Name) and func.id == "Genotype") or \
        (isinstance(func, ast.Attribute) and func.attr == "Genotype")


def _genotype_calls(module: ast.Module) -> list[tuple[str, ast.Call]]:
    """``(name, call)`` for each top-level ``NAME = Genotype(...)``, ``ALIAS = NAME`` of
    such a name, and bare ``Genotype(...)`` expression (name ``""``)."""
    found: dict[str, ast.Call] = {}
    unnamed: list[ast.Call] = []
    for statement in module.body:
        if isinstance(statement, ast.Expr) and _is_genotype_call(statement.value):
            unnamed.append(statement.value)  # type: ignore[arg-type]
            continue
        if isinstance(statement, ast.Assign):
            targets, value = statement.targets, statement.value
        elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
            targets, value = [statement.target], statement.value
        else:
            continue
        names = [target.id for target in targets if isinstance(target, ast.Name)]
        if _is_genotype_call(value):
            call = value
        elif isinstance(value, ast.Name) and value.id in found:
            call = found[value.id]
        else:
            continue
        for name in names:
            found[name] = call  # type: ignore[assignment]
    return [("", call) for call in unnamed] + list(found.items())


def _call_fields(call: ast.Call) -> dict[str, Any]:
    """The four fields of a ``Genotype(...)`` call as plain values (positional or keyword)."""
    order = FIELDS + DXY_FIELDS
    if len(call.args) > len(order) or any(isinstance(arg, ast.Starred) for arg in call.args):
        raise FormatError(f"line {call.lineno}: Genotype takes the fields {', '.join(FIELDS)}")
    values: dict[str, Any] = {}
    for field, arg in zip(order, call.args):
        values[field] = _literal(arg, field)
    for keyword in call.keywords:
        if keyword.arg is None or keyword.arg not in order:
            raise FormatError(f"line {call.lineno}: Genotype has no field {keyword.arg or '**'!r}; "
                              f"fields: {', '.join(FIELDS)}")
        if keyword.arg in values:
            raise FormatError(f"line {call.lineno}: Genotype field {keyword.arg!r} given twice")
        values[keyword.arg] = _literal(keyword.value, keyword.arg)
    refuse_extra_connections(values)
    missing = [field for field in FIELDS if field not in values]
    if missing:
        raise FormatError(f"line {call.lineno}: Genotype(...) lacks the field {missing[0]!r}")
    return values


def _literal(node: ast.AST, field: str, depth: int = 0) -> Any:
    """A plain value from a literal node: str, int, None, lists/tuples of them,
    ``range(...)``, ``list(...)``, ``tuple(...)``. Anything else is refused, never run."""
    if depth > MAX_DEPTH:
        raise FormatError(f"DARTS genotype: {field}: nested too deeply")
    if isinstance(node, ast.Constant) and (node.value is None or isinstance(node.value, (str, int, float))):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant) \
            and _is_int(node.operand.value):
        return -node.operand.value
    if isinstance(node, (ast.List, ast.Tuple)):
        return [_literal(item, field, depth + 1) for item in node.elts]
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
        if node.func.id == "range" and 1 <= len(node.args) <= 3:
            bounds = [_literal(arg, field, depth + 1) for arg in node.args]
            if all(_is_int(bound) and abs(bound) <= MAX_NODES + 2 for bound in bounds) and bounds[2:] != [0]:
                return list(range(*bounds))
        elif node.func.id in ("list", "tuple") and len(node.args) == 1:
            return _literal(node.args[0], field, depth + 1)
    shown = ast.unparse(node) if hasattr(ast, "unparse") else type(node).__name__
    raise FormatError(f"line {getattr(node, 'lineno', '?')}: {field}: {shown[:40]!r} is not a literal "
                      f"(only lists of ('op', input) pairs, numbers and range(...) are read)")
