"""Tests from the zoo registry: every entry and variant round-trips through JSON, meets
every figure registered beside it, and runs one forward pass at its native input size
with an odd class count (to catch hard-coded heads). A new entry is covered by adding it."""
import pytest
import torch

from nasbench.networks.rebuild import measure
from nasbench.networks.layer_table import check_figures
from search_spaces.build import build_network
from search_spaces.genotype import NetworkGenotype
from search_spaces.zoo import ZooError, zoo

CASES = [(name, variant) for name, entry in zoo().items() for variant in entry.variants]


@pytest.mark.parametrize("name, variant", CASES)
def test_entry_meets_its_figures(name, variant):
    genotype = NetworkGenotype.from_dict(zoo()[name].genotype(variant))
    assert NetworkGenotype.from_json(genotype.to_json()) == genotype
    checks = check_figures(measure(genotype.to_dict()), zoo()[name].figures_for(variant))
    failed = [check.line() for check in checks if not check.passed]
    assert not failed, failed


@pytest.mark.parametrize("name, variant", CASES)
def test_entry_runs_at_native_size(name, variant):
    torch.manual_seed(0)
    genotype = NetworkGenotype.from_dict(zoo()[name].genotype(variant))
    net = build_network(genotype.to_dict(), num_classes=7).eval()
    with torch.no_grad():
        out = net(torch.randn(1, genotype.input_channels, *genotype.input_size))
    assert out.shape == (1, 7) and torch.isfinite(out).all()


def test_torchvision_counts_named_in_the_issue():
    expected = {"resnet18": 11_689_512, "resnet34": 21_797_672, "resnet50": 25_557_032, "vgg16": 138_357_544,
                "densenet121": 7_978_856, "resnext50_32x4d": 25_028_904}
    for name, params in expected.items():
        assert measure(zoo()[name].genotype()).params == params, name
    alexnet = measure(zoo()["alexnet"].genotype("torchvision")).params
    googlenet = measure(zoo()["googlenet"].genotype("torchvision")).params_without_aux
    assert (alexnet, googlenet) == (61_100_840, 6_624_904)


def test_every_entry_has_a_figure_or_says_why():
    for name, entry in zoo().items():
        assert entry.figures_for() or entry.notes, name


def test_unknown_variant_is_a_zoo_error():
    with pytest.raises(ZooError, match="resnet18 has no variant 'x'; variants: paper"):
        zoo()["resnet18"].genotype("x")
