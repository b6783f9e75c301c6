"""The Inception family of the zoo: every variant builds, runs at its native size, returns
its auxiliary outputs in training, and matches its recorded figures (torchvision's
parameter counts exactly)."""
from __future__ import annotations

import pytest
import torch

from search_spaces.build import build_network
from search_spaces.genotype import NetworkGenotype
from search_spaces.zoo import zoo

NUM_CLASSES = 7
AUX_OUTPUTS = {"googlenet": 2, "inception_v3": 1}
CASES = [(name, variant) for name in AUX_OUTPUTS for variant in zoo()[name].variants]


@pytest.fixture(scope="module")
def built():
    """Each network is built once per module (building runs a forward pass to size the
    auxiliary heads, and these nets take seconds on two cores)."""
    cache: dict[tuple[str, str, int | None], tuple[NetworkGenotype, torch.nn.Module]] = {}

    def build(name: str, variant: str, num_classes: int | None = None):
        key = (name, variant, num_classes)
        if key not in cache:
            genotype = NetworkGenotype.from_dict(zoo()[name].genotype(variant))
            cache[key] = genotype, build_network(genotype.to_dict(), num_classes=num_classes)
        return cache[key]

    return build


def _params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize("name,variant", CASES)
def test_forward_at_native_size_and_aux_outputs_in_training(built, name, variant):
    torch.manual_seed(0)
    genotype, net = built(name, variant, NUM_CLASSES)
    with torch.no_grad():
        logits = net.eval()(torch.randn(1, genotype.input_channels, *genotype.input_size))
    assert logits.shape == (1, NUM_CLASSES) and torch.isfinite(logits).all()
    net.train()
    with torch.no_grad():
        logits, aux = net(torch.randn(2, genotype.input_channels, *genotype.input_size))
    assert logits.shape == (2, NUM_CLASSES)
    assert len(aux) == AUX_OUTPUTS[name]
    assert all(out.shape == (2, NUM_CLASSES) and torch.isfinite(out).all() for out in aux)


def test_torchvision_counts_are_exact(built):
    expected = {"googlenet": (6_624_904, 13_004_888), "inception_v3": (23_834_568, 27_161_264)}
    for name, (without_aux, with_aux) in expected.items():
        _, net = built(name, "torchvision")
        assert (_params(net) - _params(net.aux_heads), _params(net)) == (without_aux, with_aux)


def test_parameter_order_follows_torchvision(built):
    """The split branches of Inception-E: branch1x1, 3x3_1, 3x3_2a (1×3), 3x3_2b (3×1),
    3x3dbl_1, 3x3dbl_2, 3x3dbl_3a, 3x3dbl_3b, branch_pool; GoogLeNet's branches 1-4."""
    _, v3 = built("inception_v3", "torchvision")
    mixed_7b = [tuple(p.shape) for p in v3.stages[9].parameters() if p.dim() == 4]
    assert mixed_7b == [(320, 1280, 1, 1), (384, 1280, 1, 1), (384, 384, 1, 3), (384, 384, 3, 1),
                        (448, 1280, 1, 1), (384, 448, 3, 3), (384, 384, 1, 3), (384, 384, 3, 1), (192, 1280, 1, 1)]
    _, googlenet = built("googlenet", "torchvision")
    first = [tuple(p.shape) for p in googlenet.parameters() if p.dim() > 1][:9]
    assert first == [(64, 3, 7, 7), (64, 64, 1, 1), (192, 64, 3, 3), (64, 192, 1, 1), (96, 192, 1, 1),
                     (128, 96, 3, 3), (16, 192, 1, 1), (32, 16, 3, 3), (32, 192, 1, 1)]
    last = [tuple(p.shape) for p in googlenet.parameters() if p.dim() > 1][-7:]
    assert last == [(128, 512, 1, 1), (1024, 2048), (1000, 1024), (128, 528, 1, 1), (1024, 2048), (1000, 1024),
                    (1000, 1024)]
