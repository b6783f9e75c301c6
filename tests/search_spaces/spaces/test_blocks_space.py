"""The blocks macro space: classic zoo networks are points of it; sampling, encoding and
mutation stay inside it; sampled points build."""
import random

import pytest
import torch

from search_spaces.build import build_network
from search_spaces.genotype import NetworkGenotype
from search_spaces.spaces.blocks_space import BlocksSpace, blocks_network, classic_points
from search_spaces.zoo import zoo


@pytest.mark.parametrize("name, variant", sorted(classic_points(), key=str))
def test_classic_networks_are_points_of_the_space(name, variant):
    point = classic_points()[(name, variant)]
    assert BlocksSpace().contains(point)
    classic = NetworkGenotype.from_dict(zoo()[name].genotype(variant))
    built = NetworkGenotype.from_dict(blocks_network(point, input_size=classic.input_size[0]))
    assert built.key() == classic.key()


def test_encode_decode_and_mutation_stay_in_the_space():
    space, rng = BlocksSpace(), random.Random(0)
    for _ in range(300):
        point = space.sample(rng)
        assert space.contains(point)
        assert space.decode(space.encode(point)) == point
        child = space.mutate(point, rng)
        assert space.contains(child) and space.key(child) != space.key(point)


def test_sampled_points_build_and_run():
    space, rng = BlocksSpace(), random.Random(1)
    for _ in range(3):
        point = space.sample(rng)
        point["stem"] = "cifar"
        for spec in point["stages"]:
            spec["width"], spec["stride"] = max(64, min(spec["width"], 128)), 1
        if not space.contains(point):
            continue
        net = build_network(NetworkGenotype.from_dict(blocks_network(point, num_classes=7, input_size=32)).to_dict())
        assert net.eval()(torch.randn(1, 3, 32, 32)).shape == (1, 7)
