"""NAS-Bench-201 arch strings as text."""
from __future__ import annotations

import pytest

from search_spaces.formats import FormatError, cell_text, looks_like_nb201, nb201_string, parse_nb201, read_cell
from search_spaces.spaces import make_space

BEST = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"


def test_read_and_printed_as_the_space_point():
    assert parse_nb201(f"  '{BEST}'\n") == BEST and looks_like_nb201(f'"{BEST}"')
    cell = read_cell(BEST + "\n")
    assert (cell.format, cell.space.name, cell.point) == ("nb201", "nasbench201", BEST)
    assert nb201_string(BEST) == BEST == cell_text(make_space("nasbench201"), BEST)


@pytest.mark.parametrize("text, fragment", [
    ("|nor_conv_3x3~0|+|conv~0|none~1|+|none~0|none~1|none~2|", "unknown op 'conv'"),
    ("|nor_conv_3x3~0|+|none~0|none~1|", "expected 3 '+'-separated nodes, got 2"),
    ("|nor_conv_3x3~1|+|none~0|none~1|+|none~0|none~1|none~2|", "node 1 input 0 is spelt ~1"),
    ("|" + "none~0|" * 400, "characters; an NB201 cell has fewer than"),
])
def test_bad_strings_are_one_line(text, fragment):
    with pytest.raises(FormatError) as caught:
        parse_nb201(text)
    assert fragment in str(caught.value) and "\n" not in str(caught.value)


def test_a_cell_without_the_format_is_refused():
    with pytest.raises(FormatError, match="a cell of the nasbench201 space has no darts form; it is written as nb201"):
        cell_text(make_space("nasbench201"), BEST, format="darts")
    with pytest.raises(FormatError, match="is not a NAS-Bench-201 cell"):
        nb201_string("|none~0|")
    with pytest.raises(FormatError, match="an NB201 string holds one cell"):
        read_cell(BEST, "X")
