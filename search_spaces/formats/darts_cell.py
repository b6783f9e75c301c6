"""A DARTS genotype as a point of one of our cell spaces, and a point back as a genotype.

Each op name is read for what it builds (``darts_ops``), so DARTS' ``dil_conv_3x3`` (a
separable dilated conv) never becomes the nasnet space's full dilated conv, and DARTS'
``skip_connect`` is the nasnet space's ``identity``. The genotype goes to the first
registered cell space that holds it (its node count, every op, distinct inputs where the
space needs them), preferring the space that spells most of its ops the same way (DARTS'
cells land in the ``darts`` space). A genotype that fits none (SETN's ``conv_3x1_1x3``
in a 4-node cell) gets a space of its own: a ``TwoInputCellSpace`` over its own ops.
Concatenated states that differ from the space's rule are kept as the cell's ``output``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from ..spaces.cell_spaces import CELL_KINDS, TwoInputCellSpace
from .darts_genotype import DartsGenotype, checked_genotype
from .darts_ops import DARTS_FAMILY_OPS, builtin_cell_spaces, darts_name, known_ops, op_spec, spec_key
from .errors import FormatError

OWN_OPS_SPACE = "own_ops"
OWN_OPS_PAPER = "a cell space over the ops of one DARTS-format genotype"


@dataclass(frozen=True)
class CellPoint:
    """A cell as a point: its space (registered, or its own: ``own_space``), the point in
    that space's op names, and the states each cell concatenates where they differ from
    the space's rule (``None``: the rule's)."""

    space: TwoInputCellSpace
    point: dict[str, list[list[Any]]]
    output: dict[str, tuple[int, ...]] | None
    own_space: bool = False


def cell_point(genotype: DartsGenotype, spaces: Sequence[TwoInputCellSpace] | None = None) -> CellPoint:
    """The point of ``genotype`` in the first of ``spaces`` (default: the registered cell
    spaces) that holds it, else in a space of its own ops (see the module docstring)."""
    spaces = builtin_cell_spaces() if spaces is None else tuple(spaces)
    table = known_ops(spaces)
    specs = {}
    for kind in CELL_KINDS:
        for index, (op_a, _, op_b, _) in enumerate(genotype.blocks(kind)):
            for op in (op_a, op_b):
                specs[op] = op_spec(op, f"DARTS genotype: {kind}, node {index}", table)
    if len(genotype.normal) != len(genotype.reduce):
        raise FormatError(f"DARTS genotype: the normal cell has {len(genotype.normal)} nodes and the reduction "
                          f"cell {len(genotype.reduce)}; a cell space needs the same number")
    fits = [found for found in (_in_space(genotype, specs, space) for space in spaces) if found is not None]
    if fits:
        return min(fits, key=lambda fit: fit[0])[1]  # fewest renamed ops; ties: registry order
    return _in_space(genotype, specs, own_ops_space(list(specs), len(genotype.normal), table))[1]  # type: ignore[index]


def own_ops_space(ops: Sequence[str], blocks: int,
                  table: Mapping[str, Mapping[str, Any]] | None = None) -> TwoInputCellSpace:
    """A cell space over ``ops`` (DARTS-family or our names, in ``DARTS_FAMILY_OPS``
    order), ``blocks`` nodes, any inputs, all nodes concatenated (DARTS' rule)."""
    table = known_ops() if table is None else table
    for op in ops:
        op_spec(op, OWN_OPS_SPACE, table)
    ordered = sorted(set(ops), key=lambda op: (list(DARTS_FAMILY_OPS).index(op) if op in DARTS_FAMILY_OPS
                                               else len(DARTS_FAMILY_OPS), op))
    return TwoInputCellSpace(OWN_OPS_SPACE, {op: table[op] for op in ordered}, blocks=blocks,
                             distinct_inputs=False, output="all_nodes", paper=OWN_OPS_PAPER)


def _in_space(genotype: DartsGenotype, specs: Mapping[str, Mapping[str, Any]],
              space: TwoInputCellSpace) -> tuple[int, CellPoint] | None:
    """``(renamed ops, point)`` of ``genotype`` in ``space``; None where it does not fit."""
    if space.blocks != len(genotype.normal):
        return None
    names = {spec_key(spec): name for name, spec in reversed(list(space.ops.items()))}
    if any(spec_key(spec) not in names for spec in specs.values()):
        return None
    point = {kind: [[names[spec_key(specs[op_a])], in_a, names[spec_key(specs[op_b])], in_b]
                    for op_a, in_a, op_b, in_b in genotype.blocks(kind)] for kind in CELL_KINDS}
    if not space.contains(point):
        return None
    renamed = sum(names[spec_key(spec)] != op for op, spec in specs.items())
    rule = {kind: tuple(space.output_states(point[kind])) for kind in CELL_KINDS}
    concat = {kind: genotype.concat(kind) for kind in CELL_KINDS}
    output = None if all(concat[kind] == rule[kind] for kind in CELL_KINDS) else concat
    return renamed, CellPoint(space, point, output, own_space=space.name == OWN_OPS_SPACE)


def genotype_of(space: TwoInputCellSpace, point: Any, output: Mapping[str, Sequence[int]] | None = None,
                name: str = "") -> DartsGenotype:
    """The DARTS genotype of a cell-space point: each op by its DARTS-family name (our
    space's own name where the family has none, e.g. ``full_dil_conv_3x3``), the
    concatenated states ``output`` gives, else the space's rule."""
    checked = space.check(point)
    fields: dict[str, Any] = {}
    for kind in CELL_KINDS:
        blocks = checked[kind]
        fields[kind] = [[darts_name(space.ops[op], op), state] for op_a, in_a, op_b, in_b in blocks
                        for op, state in ((op_a, in_a), (op_b, in_b))]
        states = output.get(kind) if output is not None else None
        fields[f"{kind}_concat"] = list(states) if states is not None else space.output_states(blocks)
    return checked_genotype(fields, name)
