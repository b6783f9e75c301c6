"""What each op name of the DARTS family means, in our op catalog's terms.

DARTS and its successors name their cell ops in one shared table (DARTS' ``OPS`` in
``cnn/operations.py``, copied unchanged by PC-DARTS and P-DARTS; D-X-Y's AutoDL-Projects
adds spellings in ``nas_infer_model/operations.py`` and ``models/cell_operations.py``).
Every op maps C channels to C (the cell preprocesses its inputs to the cell width) and
takes the cell's stride on the edges that read a cell input. ``DARTS_FAMILY_OPS`` holds
each name's meaning as an op spec ``{"op": catalog op, "params": {...}}``, the form the
cell spaces use (``search_spaces.spaces.cell_spaces``), so that a name is translated by
what it builds and never by how it is spelt.
"""
from __future__ import annotations

from types import MappingProxyType
from typing import Any, Iterable, Mapping

from ..spaces import SPACES
from ..spaces.cell_spaces import TwoInputCellSpace
from .errors import FormatError


def _op(op: str, **params: Any) -> Mapping[str, Any]:
    return MappingProxyType({"op": op, "params": MappingProxyType(params)})


_SKIP = _op("skip", projection="factorized")  # Identity at stride 1, FactorizedReduce at stride 2
_SEP = {k: _op("sep_conv", k=k, repeats=2) for k in (3, 5, 7)}  # (ReLU-sep-BN) twice
_DIL = {k: _op("sep_conv", k=k, dilation=2) for k in (3, 5)}  # ReLU-dilated sep-BN once
_RELU_CONV_BN = {k: _op("conv", k=k, order="act_conv_bn") for k in (1, 3, 7)}

DARTS_FAMILY_OPS: Mapping[str, Mapping[str, Any]] = MappingProxyType({
    # Liu et al. 2019, "DARTS: Differentiable Architecture Search",
    # https://arxiv.org/abs/1806.09055 (cnn/operations.py OPS; PC-DARTS and P-DARTS alike)
    "none": _op("zero"),
    "skip_connect": _SKIP,
    "avg_pool_3x3": _op("avg_pool", k=3),  # count_include_pad=False, as ours
    "max_pool_3x3": _op("max_pool", k=3),
    "sep_conv_3x3": _SEP[3],
    "sep_conv_5x5": _SEP[5],
    "sep_conv_7x7": _SEP[7],
    "dil_conv_3x3": _DIL[3],  # DilConv: separable, dilation 2
    "dil_conv_5x5": _DIL[5],
    # ReLU, 1×7 conv (stride on the width), 7×1 conv (stride on the height), BN: our
    # fact_conv, which the nasnet space calls conv_1x7_7x1.
    "conv_7x1_1x7": _op("fact_conv", k=7),
    # Dong & Yang, GDAS (CVPR 2019) and SETN (ICCV 2019), AutoDL-Projects: Conv313, the
    # 3-wide twin of conv_7x1_1x7 (the nasnet space's conv_1x3_3x1).
    "conv_3x1_1x3": _op("fact_conv", k=3),
    "nor_conv_1x1": _RELU_CONV_BN[1],  # ReLUConvBN
    "nor_conv_3x3": _RELU_CONV_BN[3],
    "nor_conv_7x7": _RELU_CONV_BN[7],
    "dua_sepc_3x3": _SEP[3],  # DualSepConv: two ReLU-sep-BN, as DARTS' SepConv
    "dua_sepc_5x5": _SEP[5],
    "dil_sepc_3x3": _DIL[3],  # SepConv with dilation 2, as DARTS' DilConv
    "dil_sepc_5x5": _DIL[5],
})


def spec_key(spec: Mapping[str, Any]) -> tuple[str, tuple[tuple[str, Any], ...]]:
    """A hashable form of an op spec: equal for two specs that build the same op."""
    return str(spec["op"]), tuple(sorted(dict(spec.get("params", {})).items()))


def builtin_cell_spaces() -> tuple[TwoInputCellSpace, ...]:
    """The registered two-input cell spaces, in registry order."""
    spaces = (SPACES.create(name) for name in SPACES)
    return tuple(space for space in spaces if isinstance(space, TwoInputCellSpace))


def known_ops(spaces: Iterable[TwoInputCellSpace] | None = None) -> dict[str, Mapping[str, Any]]:
    """Every op name the DARTS format reads: the DARTS family's, then those of our cell
    spaces' own names (``identity``, ``full_dil_conv_3x3``, ...) that mean one op in
    every space that has them, so that a cell we write with an op DARTS lacks reads back.
    A DARTS-family name always means DARTS' op; a name our spaces give two meanings is
    not read (``ambiguous_ops``)."""
    spaces = builtin_cell_spaces() if spaces is None else tuple(spaces)
    table = dict(DARTS_FAMILY_OPS)
    ambiguous = ambiguous_ops(spaces)
    for space in spaces:
        for name, spec in space.ops.items():
            if name not in ambiguous:
                table.setdefault(name, spec)
    return table


def ambiguous_ops(spaces: Iterable[TwoInputCellSpace]) -> dict[str, tuple[str, ...]]:
    """Our op names that mean different ops in different spaces (or another op than the
    DARTS-family op of that name): name -> the spaces that use it."""
    meanings: dict[str, dict[Any, list[str]]] = {}
    for name, spec in DARTS_FAMILY_OPS.items():
        meanings.setdefault(name, {}).setdefault(spec_key(spec), []).append("DARTS")
    for space in spaces:
        for name, spec in space.ops.items():
            meanings.setdefault(name, {}).setdefault(spec_key(spec), []).append(space.name)
    return {name: tuple(user for users in by_spec.values() for user in users)
            for name, by_spec in meanings.items() if len(by_spec) > 1}


def op_spec(name: Any, where: str, table: Mapping[str, Mapping[str, Any]]) -> Mapping[str, Any]:
    """The spec of op ``name``; an unknown name is a ``FormatError`` naming ``where``."""
    if not isinstance(name, str) or name not in table:
        users = ambiguous_ops(builtin_cell_spaces()).get(name) if isinstance(name, str) else None
        if users:
            raise FormatError(f"{where}: op {name!r} means different ops in {', '.join(users)}; "
                              f"write the DARTS-family name of the one meant")
        raise FormatError(f"{where}: unknown op {name!r}; DARTS-family ops: {', '.join(DARTS_FAMILY_OPS)}")
    return table[name]


def darts_name(spec: Mapping[str, Any], fallback: str) -> str:
    """The DARTS-family name of the op ``spec`` builds (DARTS' own spelling first), or
    ``fallback`` (our space's name) where the family has none."""
    key = spec_key(spec)
    return next((name for name, known in DARTS_FAMILY_OPS.items() if spec_key(known) == key), fallback)
