"""DARTS' Genotype(...) text and JSON: read safely, written back, refused in one line."""
from __future__ import annotations

import json

import pytest

from search_spaces.formats import FormatError, genotype_names, parse_genotype
from search_spaces.formats.darts_genotype import DartsGenotype, genotype_from_json

# DARTS_V2 as the authors' cnn/genotypes.py spells it (one line, lists for concat).
DARTS_V2 = ("DARTS_V2 = Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), "
            "('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), "
            "('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), "
            "('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), ('skip_connect', 2), "
            "('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])")
# The same cell in D-X-Y's nested form, many lines, comments, and his two extra fields.
DARTS_V2_NESTED = """
DARTS_V2 = Genotype(
  normal=[
    (('sep_conv_3x3', 0), ('sep_conv_3x3', 1)), # step 1
    (('sep_conv_3x3', 0), ('sep_conv_3x3', 1)),
    (('sep_conv_3x3', 1), ('skip_connect', 0)),
    (('skip_connect', 0), ('dil_conv_3x3', 2))
  ],
  normal_concat=range(2, 6),
  reduce=[
    (('max_pool_3x3', 0), ('max_pool_3x3', 1)),
    (('skip_connect', 2), ('max_pool_3x3', 1)),
    (('max_pool_3x3', 0), ('skip_connect', 2)),
    (('skip_connect', 2), ('max_pool_3x3', 1))
  ],
  reduce_concat=list(range(2, 6)),
  connectN=None, connects=None,
)
"""
GENOTYPES_PY = f"""from collections import namedtuple
Genotype = namedtuple('Genotype', 'normal normal_concat reduce reduce_concat')
PRIMITIVES = ['none', 'max_pool_3x3']
{DARTS_V2}
OTHER = Genotype(normal=[('skip_connect', 0), ('skip_connect', 1)], normal_concat=[2],
                 reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1)], reduce_concat=[2])
DARTS = DARTS_V2
"""


def test_one_line_nested_and_bare_forms_read_alike():
    flat = parse_genotype(DARTS_V2)
    assert flat.name == "DARTS_V2"
    assert flat.normal[3] == ("skip_connect", 0, "dil_conv_3x3", 2) and flat.reduce_concat == (2, 3, 4, 5)
    assert parse_genotype(DARTS_V2_NESTED) == flat
    assert parse_genotype(DARTS_V2.split(" = ", 1)[1]) == DartsGenotype(*[getattr(flat, f) for f in
                                                                          ("normal", "normal_concat", "reduce",
                                                                           "reduce_concat")])


def test_positional_fields_read_as_the_namedtuple_does():
    text = "Genotype([('skip_connect', 0), ('skip_connect', 1)], [2], [('max_pool_3x3', 0), ('max_pool_3x3', 1)], [2])"
    assert parse_genotype(text).reduce == (("max_pool_3x3", 0, "max_pool_3x3", 1),)


def test_a_file_of_several_genotypes_is_picked_by_name():
    assert genotype_names(GENOTYPES_PY) == ["DARTS_V2", "OTHER", "DARTS"]
    assert parse_genotype(GENOTYPES_PY, "DARTS").normal == parse_genotype(DARTS_V2).normal
    assert parse_genotype(GENOTYPES_PY, "OTHER").normal_concat == (2,)
    with pytest.raises(FormatError, match=r"^3 genotypes \(DARTS_V2, OTHER, DARTS\); pick one by name$"):
        parse_genotype(GENOTYPES_PY)
    with pytest.raises(FormatError, match="no genotype named 'V3'; the text names DARTS_V2, OTHER, DARTS"):
        parse_genotype(GENOTYPES_PY, "V3")


def test_text_and_json_round_trip():
    genotype = parse_genotype(DARTS_V2)
    assert parse_genotype(genotype.to_text()) == genotype
    assert genotype.to_text() == DARTS_V2
    data = json.loads(json.dumps(genotype.to_dict()))
    assert genotype_from_json(data, "DARTS_V2") == genotype


def test_json_takes_nested_pairs_and_dxy_weights():
    data = {"normal": [[["sep_conv_3x3", 0, 0.9], ["skip_connect", 1, 0.4]]], "normal_concat": [2],
            "reduce": [["max_pool_3x3", 0], ["max_pool_3x3", 1]], "reduce_concat": [2], "connectN": None}
    genotype = genotype_from_json(data)
    assert genotype.normal == (("sep_conv_3x3", 0, "skip_connect", 1),)


@pytest.mark.parametrize("text, fragment", [
    ("Genotype(normal=__import__('os').system('true'), normal_concat=[2], reduce=[], reduce_concat=[2])",
     "normal: \"__import__('os').system('true')\" is not a literal"),
    ("Genotype(normal=[open('/tmp/nasbench_formats_probe', 'w')], normal_concat=[2], reduce=[], reduce_concat=[2])",
     "is not a literal"),
    ("Genotype(normal=[('sep_conv_3x3', 0)], normal_concat=[2], reduce=[('a', 0), ('b', 1)], reduce_concat=[2])",
     "normal: 1 (op, input) pair, an odd number; each node takes two"),
    ("Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 3)], normal_concat=[2], reduce=[('a', 0), ('b', 1)], "
     "reduce_concat=[2])", "normal: node 0 reads state 3; it can read 0..1"),
    ("Genotype(normal=[('x', 0), ('y', 1)], normal_concat=[2, 9], reduce=[('a', 0), ('b', 1)], reduce_concat=[2])",
     "normal_concat: 9 is not a state of the cell (0..2)"),
    ("Genotype(normal=[('x', 0), ('y', 1)], normal_concat=[2, 2], reduce=[('a', 0), ('b', 1)], reduce_concat=[2])",
     "names a state twice"),
    ("Genotype(normal=[('x', 0), ('y', 1)], normal_concat=[2], reduce=[('a', 0), ('b', 1)])",
     "lacks the field 'reduce_concat'"),
    ("Genotype(normal=[('x', 0), ('y', 1)], normal_concat=[2], reduce=[('a', 0), ('b', 1)], reduce_concat=[2], "
     "extra=1)", "Genotype has no field 'extra'"),
    ("Genotype(normal=[('x', 0), ('y', 1)], normal_concat=[2], reduce=[('a', 0), ('b', 1)], reduce_concat=[2], "
     "connects=[1])", "connects: D-X-Y's extra connections are not supported"),
    ("Genotype(normal=[('x', 0), ('y', 1)], normal_concat=range(2, 10**9), reduce=[('a', 0), ('b', 1)], "
     "reduce_concat=[2])", "is not a literal"),
    ("Genotype(normal=[('x', 0), ('y', 1)", "not a Python expression: '[' was never closed at line 1, column 17"),
    ("x = 3", "no Genotype(...) expression found"),
    ("Genotype(normal=" + "[" * 50 + "]" * 50 + ")", "normal: nested too deeply"),
    ("Genotype(normal=" + "[" * 300 + "]" * 300 + ")", "not a Python expression: too many nested parentheses"),
])
def test_bad_text_is_one_line(text, fragment, tmp_path):
    with pytest.raises(FormatError) as caught:
        parse_genotype(text)
    message = str(caught.value)
    assert fragment in message and "\n" not in message


def test_nothing_in_the_text_runs(tmp_path):
    probe = tmp_path / "probe"
    text = (f"import os\nos.system('touch {probe}')\nGenotype = print\n"
            f"G = Genotype(normal=[('skip_connect', 0), ('skip_connect', 1)], normal_concat=[2], "
            f"reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1)], reduce_concat=[2])")
    assert parse_genotype(text).name == "G"
    assert not probe.exists()


@pytest.mark.parametrize("data, fragment", [
    ([1], "expected an object, got list"),
    ({"normal": [], "normal_concat": [2], "reduce": [], "reduce_concat": [2]}, "normal: expected a non-empty list"),
    ({"normal": [["x", 0], ["y", 1]], "normal_concat": [2], "reduce": [["x", 0], ["y", 1]]},
     "missing field 'reduce_concat'"),
    ({"normal": [["x", 0], ["y", True]], "normal_concat": [2], "reduce": [["x", 0], ["y", 1]], "reduce_concat": [2]},
     "is neither an (op, input) pair nor a node"),
    ({"normal": [["x", 0], ["y", 1]], "normal_concat": ["2"], "reduce": [["x", 0], ["y", 1]], "reduce_concat": [2]},
     "normal_concat: expected a non-empty list of states"),
    ({"normals": 1, "normal_concat": [2]}, "unknown field 'normals'"),
])
def test_bad_json_is_one_line(data, fragment):
    with pytest.raises(FormatError) as caught:
        genotype_from_json(data)
    assert fragment in str(caught.value) and "\n" not in str(caught.value)
