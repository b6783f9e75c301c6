"""The field's cell formats, read and written: DARTS' ``Genotype(...)`` (and its JSON),
NAS-Bench-201 arch strings. ``read_cell`` turns text into a point of one of our spaces,
``cell_text`` writes a point back; see ``cell_text`` for the formats and ``darts_ops``
for what each DARTS-family op name means. The package may import the spaces (a cell
read lands in the space that holds it), the genotype and ``search_spaces``' lower layers.
"""
from __future__ import annotations

from .cell_text import FORMATS, TextCell, cell_from_json, cell_text, looks_like_cell_text, read_cell
from .darts_cell import OWN_OPS_SPACE, CellPoint, cell_point, genotype_of, own_ops_space
from .darts_genotype import DartsGenotype, genotype_names, looks_like_darts_json, parse_genotype
from .darts_ops import DARTS_FAMILY_OPS
from .errors import FormatError
from .nb201_string import looks_like_nb201, nb201_string, parse_nb201

__all__ = ["DARTS_FAMILY_OPS", "FORMATS", "OWN_OPS_SPACE", "CellPoint", "DartsGenotype", "FormatError", "TextCell",
           "cell_from_json", "cell_point", "cell_text", "genotype_names", "genotype_of", "looks_like_cell_text",
           "looks_like_darts_json", "looks_like_nb201", "nb201_string", "own_ops_space", "parse_genotype",
           "parse_nb201", "read_cell"]
