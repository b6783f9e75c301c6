"""A cell written in one of the field's formats -> a point of one of our spaces, and back.

The formats (``FORMATS``): ``darts``, DARTS' ``Genotype(...)`` expression or source, or
its ``_asdict()`` JSON (``darts_genotype``), mapped to a cell-space point by what each op
builds (``darts_cell``); ``nb201``, a NAS-Bench-201 arch string (``nb201_string``), a
point of the ``nasbench201`` space as it stands.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from ..genotype import GenotypeError, parse_json
from ..spaces.base import Space
from ..spaces.cell_spaces import TwoInputCellSpace
from ..spaces.nasbench201 import NasBench201Space
from .darts_cell import cell_point, genotype_of
from .darts_genotype import DartsGenotype, genotype_from_json, looks_like_darts_json, looks_like_darts_text, parse_genotype
from .errors import FormatError
from .nb201_string import looks_like_nb201, nb201_string, parse_nb201

FORMATS = ("darts", "nb201")


@dataclass(frozen=True)
class TextCell:
    """A cell read from text: the ``format`` it was written in, the ``space`` that holds
    it (a registered space, or with ``own_space`` one built from its ops), its ``point``
    there, the states each cell concatenates where they differ from the space's rule
    (``output``), and the ``name`` it was assigned to (``""``: none)."""

    format: str
    space: Space
    point: Any
    output: Mapping[str, Sequence[int]] | None = None
    name: str = ""
    own_space: bool = False


def looks_like_cell_text(text: str) -> bool:
    """Whether ``text`` is meant as a cell in one of ``FORMATS`` (a cheap test on its
    spelling, before it is parsed; JSON is told apart by ``read_cell``)."""
    return looks_like_darts_text(text) or looks_like_nb201(text)


def read_cell(text: str, name: str | None = None, spaces: Sequence[TwoInputCellSpace] | None = None) -> TextCell:
    """The cell ``text`` holds: an NB201 string, DARTS' ``Genotype(...)`` (``name`` picks
    one of several assignments) or its JSON. ``spaces``: the cell spaces a DARTS cell may
    go to (default: the registered ones, else its own). ``FormatError`` says what is wrong."""
    stripped = text.strip()
    if looks_like_nb201(stripped):
        if name is not None:
            raise FormatError(f"an NB201 string holds one cell; there is no {name!r} to pick")
        return TextCell("nb201", NasBench201Space(), parse_nb201(stripped))
    if stripped.startswith("{"):
        try:
            data = parse_json(stripped)
        except GenotypeError as exc:
            raise FormatError(f"DARTS genotype JSON: {exc}") from None
        if name is not None:
            raise FormatError(f"a JSON genotype holds one cell; there is no {name!r} to pick")
        return cell_from_json(data, spaces=spaces)
    if looks_like_darts_text(stripped):
        return darts_cell(parse_genotype(stripped, name), spaces)
    raise FormatError("not a cell: expected a DARTS Genotype(...) expression, its JSON, or an NB201 string "
                      "(|op~0|+|op~0|op~1|+...)")


def cell_from_json(data: Any, name: str = "", spaces: Sequence[TwoInputCellSpace] | None = None) -> TextCell:
    """The cell of a DARTS ``_asdict()`` JSON object (already parsed); ``spaces`` as for
    ``read_cell``."""
    if not looks_like_darts_json(data):
        raise FormatError("DARTS genotype JSON: expected the fields normal, normal_concat, reduce, reduce_concat")
    return darts_cell(genotype_from_json(data, name), spaces)


def darts_cell(genotype: DartsGenotype, spaces: Sequence[TwoInputCellSpace] | None = None) -> TextCell:
    """The cell of a DARTS genotype, in the first of ``spaces`` that holds it (``cell_point``)."""
    found = cell_point(genotype, spaces)
    return TextCell("darts", found.space, found.point, found.output, genotype.name, found.own_space)


def cell_text(space: Space, point: Any, output: Mapping[str, Sequence[int]] | None = None, name: str = "",
              format: str | None = None) -> str:
    """``point`` of ``space`` written in ``format`` (default: the space's own: ``darts``
    for a two-input cell space, ``nb201`` for NAS-Bench-201); ``FormatError`` where the
    cell has no such form."""
    natural = "darts" if isinstance(space, TwoInputCellSpace) else "nb201" if isinstance(space, NasBench201Space) \
        else None
    format = format or natural
    if format not in FORMATS:
        raise FormatError(f"format: {format!r} is not one of {', '.join(FORMATS)}")
    if format != natural:
        raise FormatError(f"a cell of the {space.name} space has no {format} form"
                          + (f"; it is written as {natural}" if natural else ""))
    if isinstance(space, TwoInputCellSpace):
        return genotype_of(space, point, output, name).to_text()
    return nb201_string(point)
