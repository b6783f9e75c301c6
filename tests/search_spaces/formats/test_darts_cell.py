"""DARTS-format cells as points of our cell spaces: each op name means the op it builds."""
from __future__ import annotations

import random

import pytest
import torch

from search_spaces.build import build_network
from search_spaces.formats import (DARTS_FAMILY_OPS, OWN_OPS_SPACE, FormatError, cell_text, parse_genotype,
                                   read_cell)
from search_spaces.formats.darts_ops import builtin_cell_spaces, spec_key
from search_spaces.published import point as published_point
from search_spaces.skeletons import cell_network
from search_spaces.spaces import make_space

# DARTS_V2 and the NASNet cell as DARTS' cnn/genotypes.py writes them; SETN and its
# conv_3x1_1x3 as D-X-Y's AutoDL-Projects (nas_infer_model/DXYs/genotypes.py) does.
DARTS_V2 = ("Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), "
            "('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], "
            "normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), "
            "('max_pool_3x3', 1), ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), "
            "('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])")
NASNET = ("Genotype(normal=[('sep_conv_5x5', 1), ('sep_conv_3x3', 0), ('sep_conv_5x5', 0), ('sep_conv_3x3', 0), "
          "('avg_pool_3x3', 1), ('skip_connect', 0), ('avg_pool_3x3', 0), ('avg_pool_3x3', 0), ('sep_conv_3x3', 1), "
          "('skip_connect', 1)], normal_concat=[2, 3, 4, 5, 6], reduce=[('sep_conv_5x5', 1), ('sep_conv_7x7', 0), "
          "('max_pool_3x3', 1), ('sep_conv_7x7', 0), ('avg_pool_3x3', 1), ('sep_conv_5x5', 0), ('skip_connect', 3), "
          "('avg_pool_3x3', 2), ('sep_conv_3x3', 2), ('max_pool_3x3', 1)], reduce_concat=[4, 5, 6])")
SETN = """SETN = Genotype(
  normal=[(('skip_connect', 0), ('sep_conv_5x5', 1)), (('sep_conv_5x5', 0), ('sep_conv_3x3', 1)),
          (('sep_conv_5x5', 1), ('sep_conv_5x5', 3)), (('max_pool_3x3', 1), ('conv_3x1_1x3', 4))],
  normal_concat=[2, 3, 4, 5],
  reduce=[(('sep_conv_3x3', 0), ('sep_conv_5x5', 1)), (('avg_pool_3x3', 0), ('sep_conv_5x5', 1)),
          (('avg_pool_3x3', 0), ('sep_conv_5x5', 1)), (('avg_pool_3x3', 0), ('skip_connect', 1))],
  reduce_concat=[2, 3, 4, 5], connectN=None, connects=None)"""


def _edge_ops(space, point, kind):
    return [(edge["op"], edge.get("params", {})) for node in space.cell(point, kind)["nodes"] for edge in node["edges"]]


def test_darts_v2_lands_in_the_darts_space_as_the_published_cell():
    cell = read_cell(DARTS_V2)
    assert (cell.format, cell.space.name, cell.output, cell.own_space) == ("darts", "darts", None, False)
    assert cell.point == published_point("darts_v2")


def test_dil_conv_is_separable_in_every_space_and_the_nasnet_full_conv_has_its_own_name():
    # A 5-node cell with DARTS' dil_conv_3x3 and sep_conv_7x7 fits no nasnet op (its
    # dilated conv is full) but amoeba's dil_sep_conv_3x3 is DARTS' DilConv.
    pairs = [("dil_conv_3x3", 0), ("sep_conv_7x7", 1)] * 5
    text = f"Genotype(normal={pairs}, normal_concat=[2, 3, 4, 5, 6], reduce={pairs}, reduce_concat=[2, 3, 4, 5, 6])"
    cell = read_cell(text)
    assert cell.space.name == "amoeba" and cell.point["normal"][0][0] == "dil_sep_conv_3x3"
    assert ("sep_conv", {"k": 3, "dilation": 2}) in _edge_ops(cell.space, cell.point, "normal")
    nasnet = make_space("nasnet")
    assert nasnet.ops["full_dil_conv_3x3"]["op"] == "conv" and "dil_conv_3x3" not in nasnet.ops
    for space in builtin_cell_spaces():
        for name in set(space.ops) & set(DARTS_FAMILY_OPS):
            assert spec_key(space.ops[name]) == spec_key(DARTS_FAMILY_OPS[name]), (space.name, name)


def test_old_nasnet_points_that_say_dil_conv_still_build_the_full_conv():
    nasnet = make_space("nasnet")
    old = {kind: [["dil_conv_3x3", 0, "identity", 1]] * 5 for kind in ("normal", "reduce")}
    checked = nasnet.check(old)
    assert checked["normal"][0][0] == "full_dil_conv_3x3" and nasnet.key(old) == nasnet.key(checked)
    assert ("conv", {"k": 3, "dilation": 2, "order": "act_conv_bn"}) in _edge_ops(nasnet, old, "normal")


def test_skip_connect_and_conv_7x1_1x7_take_the_nasnet_spellings():
    cell = read_cell(NASNET)
    assert cell.space.name == "nasnet" and cell.output is None  # its concat is the unused-states rule
    assert cell.point["normal"][2] == ["avg_pool_3x3", 1, "identity", 0]
    one = "Genotype(normal=[('conv_7x1_1x7', 0), ('skip_connect', 1)] * 5, normal_concat=[6], " \
          "reduce=[('conv_7x1_1x7', 0), ('skip_connect', 1)] * 5, reduce_concat=[6])"
    with pytest.raises(FormatError, match="is not a literal"):  # '*' is an expression, not a literal
        read_cell(one)
    pairs = [("conv_7x1_1x7", 0), ("skip_connect", 1)] * 5
    cell = read_cell(f"Genotype(normal={pairs}, normal_concat=[6], reduce={pairs}, reduce_concat=[6])")
    assert cell.space.name == "nasnet" and cell.point["normal"][0] == ["conv_1x7_7x1", 0, "identity", 1]
    assert cell.output == {"normal": (6,), "reduce": (6,)}


def test_a_cell_that_fits_no_space_gets_its_own_and_builds():
    cell = read_cell(SETN)
    assert cell.own_space and cell.space.name == OWN_OPS_SPACE and cell.space.blocks == 4
    assert set(cell.space.op_names) == {"skip_connect", "sep_conv_5x5", "sep_conv_3x3", "max_pool_3x3",
                                        "conv_3x1_1x3", "avg_pool_3x3"}
    assert cell.space.ops["conv_3x1_1x3"]["op"] == "fact_conv"
    network = build_network(cell_network(cell.space, cell.point, "cifar", N=1, F=8), seed=0)
    assert network(torch.zeros(2, 3, 32, 32)).shape == (2, 10)
    assert read_cell(cell_text(cell.space, cell.point, cell.output, "SETN")).point == cell.point


@pytest.mark.parametrize("space_name", ["nasnet", "amoeba", "darts"])
def test_points_written_as_darts_text_read_back_as_the_same_cells(space_name):
    space, rng = make_space(space_name), random.Random(0)
    for _ in range(20):
        point = space.sample(rng)
        cell = read_cell(cell_text(space, point, name="G"))
        for kind in ("normal", "reduce"):
            assert cell.space.cell(cell.point, kind, cell.output and cell.output[kind]) == space.cell(point, kind)


def test_an_output_that_departs_from_the_rule_is_kept():
    text = cell_text(make_space("darts"), published_point("darts_v2"), {"normal": [5, 4], "reduce": [2, 3, 4, 5]})
    assert "normal_concat=[5, 4]" in text
    assert read_cell(text).output == {"normal": (5, 4), "reduce": (2, 3, 4, 5)}


@pytest.mark.parametrize("text, fragment", [
    (DARTS_V2.replace("'dil_conv_3x3'", "'dil_conv_9x9'"),
     "DARTS genotype: normal, node 3: unknown op 'dil_conv_9x9'; DARTS-family ops: none, skip_connect"),
    (DARTS_V2.replace("('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5]",
                      "], reduce_concat=[2, 3, 4]"),
     "the normal cell has 4 nodes and the reduction cell 3"),
])
def test_cells_no_space_can_hold_are_one_line(text, fragment):
    with pytest.raises(FormatError) as caught:
        read_cell(text)
    assert fragment in str(caught.value) and "\n" not in str(caught.value)


def test_a_genotypes_file_is_picked_by_name():
    text = f"A = {DARTS_V2}\nB = {NASNET}\n"
    assert read_cell(text, "B").space.name == "nasnet"
    with pytest.raises(FormatError, match="2 genotypes"):
        read_cell(text)
    assert parse_genotype(text, "A").name == "A"
