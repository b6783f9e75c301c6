"""Published cells and the cell-network skeletons (CIFAR and NASNet's ImageNet network)."""
import pytest
import torch

from search_spaces.build import build_network
from search_spaces.genotype import NetworkGenotype
from search_spaces.published import PUBLISHED, point, published
from search_spaces.skeletons import SkeletonError, cell_network
from search_spaces.spaces.base import SpaceError
from search_spaces.spaces import cell_space

NAMES = sorted(PUBLISHED)


def _build(genotype):
    return build_network(NetworkGenotype.from_dict(genotype).to_dict())


@pytest.mark.parametrize("name", NAMES)
def test_published_cells_are_members(name):
    cell = published(name)
    assert cell_space(cell.space).contains(cell.point)
    assert point(name) == {kind: [list(block) for block in blocks] for kind, blocks in cell.point.items()}


def test_unknown_published_cell_is_refused():
    with pytest.raises(SpaceError, match="'nasnet_b' is not a published cell"):
        published("nasnet_b")


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("release_output", [False, True])
def test_published_cells_build_into_a_cifar_network(name, release_output):
    cell = published(name)
    if release_output and cell.implementation_output is None:
        pytest.skip("the space's output rule is the release's")
    output = cell.implementation_output if release_output else None
    net = _build(cell_network(cell_space(cell.space), point(name), "cifar", N=1, F=8, num_classes=7, output=output)).eval()
    with torch.no_grad():
        out = net(torch.randn(2, 3, 32, 32))
    assert out.shape == (2, 7) and torch.isfinite(out).all()


@pytest.mark.parametrize("name", ["nasnet_a", "darts_v2"])
def test_auxiliary_head_in_training(name):
    cell = published(name)
    net = _build(cell_network(cell_space(cell.space), point(name), "cifar", N=1, F=8, aux=True, num_classes=7)).train()
    logits, aux = net(torch.randn(2, 3, 32, 32))
    assert logits.shape == (2, 7) and len(aux) == 1 and aux[0].shape == (2, 7)
    net.eval()
    with torch.no_grad():
        assert net(torch.randn(2, 3, 32, 32)).shape == (2, 7)


def test_auxiliary_head_positions():
    # NASNet's release: after the 16×16 normal cells, a 4×4 conv; DARTS': after the
    # second reduction cell, a 2×2 conv.
    nasnet = cell_network(cell_space("nasnet"), point("nasnet_a"), N=1, F=8, aux=True)
    darts = cell_network(cell_space("darts"), point("darts_v2"), N=1, F=8, aux=True)
    assert nasnet["aux_heads"][0]["after_stage"] == 2 and nasnet["aux_heads"][0]["layers"][-1]["params"]["k"] == 4
    assert darts["aux_heads"][0]["after_stage"] == 3 and darts["aux_heads"][0]["layers"][-1]["params"]["k"] == 2


def test_release_output_widens_nasnet_a():
    # NASNet-A (N @ 6 × 4F): the release concatenates six states in a normal cell.
    cell = published("nasnet_a")
    rule = _build(cell_network(cell_space("nasnet"), point("nasnet_a"), N=1, F=8))
    release = _build(cell_network(cell_space("nasnet"), point("nasnet_a"), N=1, F=8, output=cell.implementation_output))
    assert rule.out_channels == 5 * 32 and release.out_channels == 6 * 32


def test_darts_v2_has_the_papers_parameter_count():
    # DARTS (second order), 20 cells, 36 initial channels: 3.3M (the release prints
    # 3.349342 MB, auxiliary head excluded).
    net = _build(cell_network(cell_space("darts"), point("darts_v2"), N=6, F=36))
    assert sum(p.numel() for p in net.parameters()) == 3_349_342


def test_imagenet_skeleton_builds_with_an_odd_stem_cell_width():
    # F=20: the first stem cell has 5 filters; ENAS's reduction cell reduces state 0 by
    # an identity, which an odd width cannot factorize.
    genotype = cell_network(cell_space("nasnet"), point("enas"), "imagenet", N=1, F=20, input_size=48, num_classes=7)
    assert [stage["width"] for stage in genotype["stages"]] == [5, 10, 20, 40, 40, 80, 80]
    net = _build(genotype).eval()
    with torch.no_grad():
        out = net(torch.randn(2, 3, 48, 48))
    assert out.shape == (2, 7) and torch.isfinite(out).all()


def test_imagenet_presets():
    mobile = cell_network(cell_space("nasnet"), point("nasnet_a"), "imagenet")
    large = cell_network(cell_space("nasnet"), point("nasnet_a"), "imagenet", preset="large")
    assert mobile["input_size"] == [224, 224] and mobile["num_classes"] == 1000
    assert [s["width"] for s in mobile["stages"]] == [11, 22, 44, 88, 88, 176, 176]
    assert [s["repeats"] for s in mobile["stages"]] == [1, 1, 4, 1, 4, 1, 4]
    assert large["input_size"] == [331, 331] and large["stages"][2]["width"] == 168
    assert large["stem"][0]["channels"] == 96


@pytest.mark.parametrize("kwargs, message", [
    ({"skeleton": "svhn"}, "skeleton: 'svhn' is not one of cifar, imagenet"),
    ({"skeleton": "imagenet", "preset": "huge"}, "preset: 'huge' is not one of mobile, large"),
    ({"aux_position": "stem"}, "aux_position: 'stem' is not one of normal, reduction"),
    ({"aux": True, "input_size": 8}, "the auxiliary head needs a map of at least 5×5, got 4×4"),
    ({"N": 0}, r"N must be positive and F at least 1 \(the conv stem\), got N=0, F=32"),
    ({"skeleton": "imagenet", "F": 2}, "F at least 4"),
])
def test_skeleton_errors(kwargs, message):
    with pytest.raises(SkeletonError, match=message):
        cell_network(cell_space("nasnet"), point("nasnet_a"), **kwargs)


def test_skeleton_refuses_a_non_member():
    bad = point("nasnet_a")
    bad["normal"][0][0] = "sep_conv_9x9"
    with pytest.raises(SpaceError, match=r"point.normal\[0\]: 'sep_conv_9x9' is not an op of nasnet"):
        cell_network(cell_space("nasnet"), bad)
