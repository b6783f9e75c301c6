"""The NAS-Bench-201 cell space: format, round trips, mutation."""
from __future__ import annotations

import random

import pytest

from search_spaces.spaces.base import Space, SpaceError
from search_spaces.spaces.nasbench201 import EDGES, OPS, NasBench201Space, parse_arch, format_arch

RESNET_LIKE = "|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|none~2|"


@pytest.fixture
def space() -> NasBench201Space:
    return NasBench201Space()


def test_follows_the_space_protocol(space):
    assert isinstance(space, Space)
    assert [d.size for d in space.decisions()] == [5] * 6
    assert len({d.name for d in space.decisions()}) == 6


def test_encode_decode_round_trip(space):
    rng = random.Random(0)
    for _ in range(200):
        point = space.sample(rng)
        assert space.contains(point)
        assert space.decode(space.encode(point)) == point
        assert space.key(point) == point


def test_every_index_list_decodes_to_a_member(space):
    rng = random.Random(1)
    for _ in range(100):
        indices = [rng.randrange(len(OPS)) for _ in EDGES]
        point = space.decode(indices)
        assert space.contains(point) and space.encode(point) == indices


def test_edges_of_a_known_cell():
    assert parse_arch(RESNET_LIKE) == [
        (0, 1, "nor_conv_3x3"),
        (0, 2, "none"),
        (1, 2, "nor_conv_3x3"),
        (0, 3, "skip_connect"),
        (1, 3, "none"),
        (2, 3, "none"),
    ]
    assert format_arch([op for _, _, op in parse_arch(RESNET_LIKE)]) == RESNET_LIKE


def test_mutation_changes_exactly_one_edge(space):
    rng = random.Random(2)
    for _ in range(200):
        parent = space.sample(rng)
        child = space.mutate(parent, rng)
        assert space.contains(child)
        assert sum(a != b for a, b in zip(space.encode(parent), space.encode(child))) == 1


def test_same_rng_same_samples(space):
    first = [space.sample(random.Random(7)) for _ in range(3)]
    assert first == [space.sample(random.Random(7)) for _ in range(3)]


@pytest.mark.parametrize(
    "bad",
    [
        None,
        42,
        "",
        "|nor_conv_3x3~0|",
        "|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|",
        "|conv_5x5~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|none~2|",
        "|nor_conv_3x3~1|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|none~2|",
        "|nor_conv_3x3~0|+|none~0|+|skip_connect~0|none~1|none~2|",
        "nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|none~2|",
        "|nor_conv_3x3|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|none~2|",
    ],
)
def test_malformed_points_are_refused(space, bad):
    assert not space.contains(bad)
    with pytest.raises(SpaceError):
        space.encode(bad)
    with pytest.raises(SpaceError):
        space.key(bad)


@pytest.mark.parametrize("indices", [[0] * 5, [0] * 7, [0, 0, 0, 0, 0, 5], [0, 0, 0, 0, 0, -1], [0, 0, 0, 0, 0, True]])
def test_bad_index_lists_are_refused(space, indices):
    with pytest.raises(SpaceError):
        space.decode(indices)


def test_error_names_the_problem(space):
    with pytest.raises(SpaceError, match="unknown op 'conv_5x5'"):
        space.encode("|conv_5x5~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|none~2|")
