"""The NASNet-style cell spaces: membership, decisions, mutation, canonical keys."""
import json
import random

import pytest
import torch

from search_spaces.build import build_network
from search_spaces.genotype import NetworkGenotype
from search_spaces.skeletons import cell_network
from search_spaces.spaces.base import Space, SpaceError
from search_spaces.spaces import cell_space, cell_space_names

SPACES = sorted(cell_space_names())


@pytest.fixture(params=SPACES)
def space(request):
    return cell_space(request.param)


def test_is_a_space(space):
    assert isinstance(space, Space)


def test_unknown_space_is_refused():
    with pytest.raises(SpaceError, match="'enas' is not a cell space; known: nasnet, amoeba, darts"):
        cell_space("enas")


@pytest.mark.parametrize("name, ops, blocks", [("nasnet", 13, 5), ("amoeba", 8, 5), ("darts", 8, 4)])
def test_decisions_follow_the_papers(name, ops, blocks):
    space = cell_space(name)
    decisions = space.decisions()
    assert len(decisions) == 2 * blocks * 4
    assert decisions[0].name == "normal.block0.input_a" and decisions[4 * blocks].name == "reduce.block0.input_a"
    for block in range(blocks):
        input_a, input_b, op_a, op_b = decisions[4 * block: 4 * block + 4]
        assert input_a.size == block + 2
        assert input_b.size == (block + 1 if name == "darts" else block + 2)
        assert op_a.size == op_b.size == ops


def test_sample_is_a_json_member(space):
    for seed in range(50):
        point = space.sample(random.Random(seed))
        assert space.contains(point)
        assert space.contains(json.loads(json.dumps(point)))


def test_encode_decode_round_trip(space):
    for seed in range(50):
        rng = random.Random(seed)
        point = space.sample(rng)
        indices = space.encode(point)
        assert space.decode(indices) == point
        raw = [rng.randrange(decision.size) for decision in space.decisions()]
        assert space.encode(space.decode(raw)) == raw


def test_decode_refuses_bad_indices(space):
    indices = space.encode(space.sample(random.Random(0)))
    with pytest.raises(SpaceError, match="needs"):
        space.decode(indices[:-1])
    indices[0] = 2  # block 0 may only read states 0 and 1
    with pytest.raises(SpaceError, match="normal.block0.input_a index 2 not in 0..1"):
        space.decode(indices)


def test_mutate_gives_a_different_member_one_element_away(space):
    for seed in range(100):
        rng = random.Random(seed)
        parent = space.sample(rng)
        child = space.mutate(parent, rng)
        assert space.contains(child)
        assert space.key(child) != space.key(parent)
        changed = [(kind, index, slot) for kind in ("normal", "reduce") for index, block in enumerate(parent[kind])
                   for slot in range(4) if child[kind][index][slot] != block[slot]]
        assert len(changed) == 1


def test_mutate_leaves_its_parent_alone(space):
    parent = space.sample(random.Random(3))
    copy = json.loads(json.dumps(parent))
    space.mutate(parent, random.Random(4))
    assert parent == copy


def test_key_ignores_the_order_of_a_blocks_pair(space):
    for seed in range(20):
        point = space.sample(random.Random(seed))
        swapped = json.loads(json.dumps(point))
        op_a, in_a, op_b, in_b = swapped["reduce"][1]
        swapped["reduce"][1] = [op_b, in_b, op_a, in_a]
        assert space.key(swapped) == space.key(point)


def test_key_ignores_the_numbering_of_independent_blocks():
    space = cell_space("nasnet")
    point = {"normal": [["sep_conv_3x3", 0, "identity", 1], ["max_pool_3x3", 1, "conv_1x1", 0],
                        ["avg_pool_3x3", 2, "identity", 3], ["conv_3x3", 4, "identity", 0],
                        ["sep_conv_5x5", 1, "identity", 1]],
             "reduce": [["sep_conv_7x7", 1, "sep_conv_5x5", 0]] * 5}
    # Blocks 0 and 1 read only the cell inputs: swapping them and renumbering their
    # readers spells the same cell.
    renumbered = json.loads(json.dumps(point))
    renumbered["normal"][0], renumbered["normal"][1] = point["normal"][1], point["normal"][0]
    renumbered["normal"][2] = ["avg_pool_3x3", 3, "identity", 2]
    assert space.key(renumbered) == space.key(point)
    different = json.loads(json.dumps(point))
    different["normal"][2] = ["avg_pool_3x3", 2, "identity", 2]
    assert space.key(different) != space.key(point)


@pytest.mark.parametrize("mutate, message", [
    (lambda p: p.pop("reduce"), "expected the keys 'normal' and 'reduce'"),
    (lambda p: p["normal"].pop(), "point.normal: expected a list of"),
    (lambda p: p["normal"][0].__setitem__(0, "conv_9x9"), r"point.normal\[0\]: 'conv_9x9' is not an op of"),
    (lambda p: p["reduce"][1].__setitem__(3, 3), r"point.reduce\[1\]: input 3 is not an earlier state \(0..2\)"),
    (lambda p: p["reduce"][1].__setitem__(1, True), r"point.reduce\[1\]: input True is not an earlier state"),
    (lambda p: p["normal"].__setitem__(0, ["sep_conv_3x3", 0]), r"point.normal\[0\]: expected \[op_a, input_a"),
])
def test_check_names_the_bad_field(space, mutate, message):
    point = space.sample(random.Random(1))
    mutate(point)
    assert not space.contains(point)
    with pytest.raises(SpaceError, match=message):
        space.check(point)


def test_darts_refuses_a_block_reading_one_state_twice():
    space = cell_space("darts")
    point = space.sample(random.Random(0))
    point["normal"][2] = ["sep_conv_3x3", 1, "skip_connect", 1]
    with pytest.raises(SpaceError, match=r"point.normal\[2\]: both inputs are state 1"):
        space.check(point)


def test_unused_states_make_the_output():
    space = cell_space("nasnet")
    point = {"normal": [["identity", 1, "identity", 1]] * 5, "reduce": [["identity", 1, "identity", 1]] * 5}
    cell = space.cell(point, "reduce")
    # State 0 is unused: a strided identity node carries it to the reduced size.
    assert cell["output"] == [7, 2, 3, 4, 5, 6]
    assert cell["nodes"][-1]["edges"] == [{"op": "skip", "input": 0, "params": {"projection": "factorized"}}]
    assert cell_space("darts").output_states([["none", 0, "none", 1]] * 4) == [2, 3, 4, 5]


def test_sampled_cells_build_and_run(space):
    for seed in range(2):
        point = space.sample(random.Random(seed))
        genotype = cell_network(space, point, N=1, F=4, num_classes=7, input_size=16)
        net = build_network(NetworkGenotype.from_dict(genotype).to_dict()).eval()
        with torch.no_grad():
            out = net(torch.randn(2, 3, 16, 16))
        assert out.shape == (2, 7) and torch.isfinite(out).all()
