"""Every registered space's neighbourhood (the support of ``mutate``) and predictor
features (path encoding for cell spaces, one-hot for blocks)."""
import random

import pytest

from search_spaces.spaces import SPACES, make_space
from search_spaces.spaces.encodings import path_encoding, path_feature_count, path_index
from search_spaces.spaces.nasbench201 import NasBench201Space

FEATURE_SIZES = {"nasbench201": 84, "nasnet": 9516, "amoeba": 2336, "darts": 1596, "blocks": 241}
# A cell space's canonical key costs milliseconds and its neighbourhood holds 136-300 points.
SLOW_NEIGHBOURHOODS = ("nasnet", "amoeba")


@pytest.mark.parametrize("name", [pytest.param(name, marks=[pytest.mark.slow] if name in SLOW_NEIGHBOURHOODS else [])
                                  for name in sorted(SPACES)])
def test_neighbours_are_every_mutation_once(name):
    space, rng = make_space(name), random.Random(name)
    point = space.sample(rng)
    neighbours = space.neighbours(point)
    keys = [space.key(neighbour) for neighbour in neighbours]
    assert len(set(keys)) == len(keys) and space.key(point) not in keys
    assert all(space.contains(neighbour) for neighbour in neighbours)
    for _ in range(10):
        assert space.key(space.mutate(point, rng)) in keys


@pytest.mark.parametrize("name", sorted(SPACES))
def test_features_have_one_length_and_tell_points_apart(name):
    space, rng = make_space(name), random.Random(1)
    points = [space.sample(rng) for _ in range(5)]
    features = [space.features(point) for point in points]
    assert {len(row) for row in features} == {FEATURE_SIZES[name]}
    assert all(value in (0.0, 1.0) for row in features for value in row)
    assert len({tuple(row) for row in features}) > 1


def test_nasbench201_neighbourhood_is_24_cells():
    space = NasBench201Space()
    cell = "|nor_conv_3x3~0|+|nor_conv_3x3~0|none~1|+|skip_connect~0|nor_conv_1x1~1|avg_pool_3x3~2|"
    neighbours = space.neighbours(cell)
    assert len(neighbours) == 24 and space.neighbours(cell) == neighbours  # a fixed order
    assert neighbours[0] == "|none~0|+|nor_conv_3x3~0|none~1|+|skip_connect~0|nor_conv_1x1~1|avg_pool_3x3~2|"


def test_nasbench201_path_encoding():
    """Paths 0-3, 0-1-3, 0-2-3, 0-1-2-3; ``none`` cuts the path 0-1-2-3 here."""
    space = NasBench201Space()
    cell = "|nor_conv_3x3~0|+|nor_conv_3x3~0|none~1|+|skip_connect~0|nor_conv_1x1~1|avg_pool_3x3~2|"
    ops = ("skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
    expected = {path_index([ops.index("skip_connect")], 4),
                path_index([ops.index("nor_conv_3x3"), ops.index("nor_conv_1x1")], 4),
                path_index([ops.index("nor_conv_3x3"), ops.index("avg_pool_3x3")], 4)}
    features = space.features(cell)
    assert {index for index, value in enumerate(features) if value} == expected
    assert not any(space.features("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"))


def test_path_index_orders_short_paths_first():
    assert path_feature_count(4, 3) == 84
    assert [path_index(path, 4) for path in ([0], [3], [0, 0], [3, 3], [0, 0, 0], [3, 3, 3])] == [0, 3, 4, 19, 20, 83]
    assert path_encoding([[1, 2, 3, 0], []], 4, 3) == [0.0] * 84  # too long, empty: left out


def test_darts_none_cuts_paths():
    space = make_space("darts")
    cell = [["none", 0, "none", 1], ["none", 0, "none", 2], ["none", 1, "none", 3], ["none", 0, "none", 4]]
    assert not any(space.features({"normal": cell, "reduce": cell}))
