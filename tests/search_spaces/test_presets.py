"""Each paper's evaluation setting: the published cells in their papers' networks meet the
papers' figures (parameters here on the meta device, MACs in the slow test), DARTS's
ImageNet network has the authors' layout, ENAS's cells their extra input conv, and
AmoebaNet's 1x7_7x1 the release's bottleneck."""
import pytest
import torch

from nasbench.networks.rebuild import measure
from nasbench.networks.layer_table import check_figures
from search_spaces.build import build_network
from search_spaces.genotype import NetworkGenotype
from search_spaces.ops import default_catalog
from search_spaces.published import PUBLISHED, point, published
from search_spaces.skeletons import (EVALUATION_SETTINGS, SkeletonError, cell_network, resolve_preset,
                                     setting_of_space)
from search_spaces.spaces.base import SpaceError
from search_spaces.spaces import cell_space

FIGURES = [(name, key) for name, cell in sorted(PUBLISHED.items()) for key in cell.figures]


def _paper_network(name: str, key: str, **overrides) -> dict:
    """The published cell ``name`` in its setting's ``key`` network (cifar, mobile, large)."""
    cell = published(name)
    skeleton = "cifar" if key == "cifar" else "imagenet"
    return cell_network(cell_space(cell.space), point(name), skeleton, preset=key if key != "cifar" else "mobile",
                        setting=cell.setting, output=cell.implementation_output, **overrides)


def _meta_params(genotype: dict) -> int:
    with torch.device("meta"):
        net = build_network(NetworkGenotype.from_dict(genotype).to_dict())
    return sum(p.numel() for name, p in net.named_parameters() if not name.startswith("aux_heads"))


@pytest.mark.parametrize("name, key", FIGURES)
def test_published_cells_have_their_papers_parameters(name, key):
    params = _meta_params(_paper_network(name, key))
    for figure in published(name).figures_for(key):
        assert abs(params - figure.params) <= figure.params_tolerance * figure.params, (figure.source, params)


@pytest.mark.slow
@pytest.mark.parametrize("name, key", FIGURES)
def test_published_cells_meet_every_figure(name, key):
    checks = check_figures(measure(_paper_network(name, key)), published(name).figures_for(key))
    failed = [check.line() for check in checks if not check.passed]
    assert checks and not failed, failed


# DARTS's model.py (NetworkCIFAR(36, 10, 20), NetworkImageNet(48, 1000, 14) with DARTS_V2,
# run here); ENAS's micro_child.py at 18 layers builds 4,587,372 without a classifier bias
# (ours has 10 more).
@pytest.mark.parametrize("name, key, params", [("darts_v2", "cifar", 3_349_342), ("darts_v2", "mobile", 4_718_752),
                                               ("enas", "cifar", 4_587_372 + 10)])
def test_exact_counts_of_the_authors_code(name, key, params):
    assert _meta_params(_paper_network(name, key)) == params


def test_darts_imagenet_network_layout():
    genotype = _paper_network("darts_v2", "mobile", aux=True)
    assert [layer["channels"] for layer in genotype["stem"]] == [24, 48]
    assert [layer["stride"] for layer in genotype["stem"]] == [2, 2]
    assert [(s["name"], s["width"], s["repeats"], s["stride"]) for s in genotype["stages"]] == [
        ("stem1", 48, 1, 2), ("normal1", 48, 4, 1), ("reduction1", 96, 1, 2), ("normal2", 96, 4, 1),
        ("reduction2", 192, 1, 2), ("normal3", 192, 4, 1)]
    aux = genotype["aux_heads"][0]
    assert aux["after_stage"] == 4  # the second reduction cell, 7×7
    assert aux["layers"][1]["stride"] == 2 and aux["layers"][-1]["params"]["k"] == 2
    assert aux["layers"][-1]["params"]["order"] == "conv_act"  # no BN, as the release
    assert genotype["head"]["layers"] == [] and genotype["input_size"] == [224, 224]


def test_darts_imagenet_network_runs_with_its_auxiliary_head():
    cell = published("darts_v2")
    # 160×160: 20×20 after the stem, 5×5 after the second reduction (the aux head's least)
    genotype = cell_network(cell_space("darts"), point("darts_v2"), "imagenet", N=1, F=8, input_size=160, num_classes=7, aux=True)
    torch.manual_seed(0)
    net = build_network(genotype).train()
    logits, aux = net(torch.randn(2, 3, 160, 160))
    assert logits.shape == (2, 7) and aux[0].shape == (2, 7) and cell.setting == "darts"
    net.eval()
    with torch.no_grad():
        assert torch.isfinite(net(torch.randn(2, 3, 160, 160))).all()


def test_enas_cells_convolve_their_newer_input_once_more():
    space = cell_space("nasnet")
    plain = space.cell(point("enas"), "reduce")
    enas = space.cell(point("enas"), "reduce", newer_input_conv=True)
    extra = enas["nodes"][0]["edges"][0]
    assert extra["input"] == 1 and extra["reduce"] is False and extra["params"]["k"] == 1
    assert len(enas["nodes"]) == len(plain["nodes"]) + 1
    # block 0 reads state 1 twice: now the extra node (2), strided as a cell input
    assert [(e["input"], e.get("reduce")) for e in enas["nodes"][1]["edges"]] == [(2, True), (2, True)]
    assert enas["output"] == [state + 1 for state in plain["output"]]
    genotype = cell_network(cell_space("nasnet"), point("enas"), setting="enas", N=1, F=8, num_classes=7)
    net = build_network(genotype).eval()
    with torch.no_grad():
        assert net(torch.randn(2, 3, 32, 32)).shape == (2, 7)


def test_amoeba_1x7_7x1_is_the_releases_bottleneck():
    op = default_catalog().build("fact_conv", 40, 40, 2, {"k": 7, "bottleneck": 4})
    # 1×1 40->10, 1×7 and 7×1 at 10, 1×1 10->40, each with a BN
    assert sum(p.numel() for p in op.parameters()) == 400 + 700 + 700 + 400 + 2 * (10 + 10 + 10 + 40)
    assert op(torch.randn(1, 40, 15, 15)).shape == (1, 40, 8, 8)
    plain = default_catalog().build("fact_conv", 40, 40, 1, {"k": 7})
    assert sum(p.numel() for p in plain.parameters()) == 2 * 7 * 40 * 40 + 80
    assert cell_space("amoeba").ops["conv_1x7_7x1_bottleneck"]["params"]["bottleneck"] == 4


def test_each_space_has_its_papers_setting():
    assert [setting_of_space(name) for name in ("nasnet", "amoeba", "darts", "own_ops")] == [
        "nasnet", "amoeba", "darts", "darts"]
    assert {cell.setting for cell in PUBLISHED.values()} <= set(EVALUATION_SETTINGS)
    assert published("enas").setting == "enas" and published("enas").space == "nasnet"


def test_overrides_and_their_errors():
    chosen = resolve_preset("darts", "imagenet", stem="nasnet", aux_position="normal", N=2)
    assert (chosen.stem, chosen.aux_position, chosen.N, chosen.F) == ("nasnet", "normal", 2, 48)
    assert resolve_preset("nasnet", "cifar", setting="darts").F == 36
    with pytest.raises(SkeletonError, match="setting: 'pdarts' is not one of nasnet, amoeba, darts, enas"):
        resolve_preset("darts", setting="pdarts")
    with pytest.raises(SkeletonError, match="stem: 'resnet' is not one of conv, nasnet, darts"):
        resolve_preset("darts", stem="resnet")
    with pytest.raises(SkeletonError, match="the darts setting has no 'large' ImageNet network"):
        resolve_preset("darts", "imagenet", preset="large")


def test_space_network_takes_setting_and_stem():
    space = cell_space("darts")
    imagenet = space.network(point("darts_v2"), skeleton={"name": "imagenet"}).to_dict()
    assert imagenet["stages"][0]["name"] == "stem1" and imagenet["num_classes"] == 1000
    nasnet_stem = space.network(point("darts_v2"), skeleton={"name": "imagenet", "stem": "nasnet"}).to_dict()
    assert nasnet_stem["stages"][0]["name"] == "stem_cell1" and nasnet_stem["stages"][2]["width"] == 48
    with pytest.raises(SpaceError, match="stem: 'vgg' is not one of"):
        space.network(point("darts_v2"), skeleton={"stem": "vgg"})


# DARTS-family cells evaluated in DARTS's ImageNet network, as points of the darts space
# (PC-DARTS's PC_DARTS_image and P-DARTS's PDARTS from the authors' genotypes.py), with the
# parameters and conv+classifier MACs of the authors' NetworkImageNet(48, 1000, 14) run
# here: PC-DARTS 5,342,464 / 581,627,328 (paper 5.3M / 597M), P-DARTS 4,944,352 /
# 542,819,328 (paper 4.9M / 557M).
DARTS_FAMILY = {
    "pc_darts_image": ({"normal": [["skip_connect", 1, "sep_conv_3x3", 0], ["sep_conv_3x3", 0, "skip_connect", 1],
                                   ["sep_conv_3x3", 1, "sep_conv_3x3", 3], ["sep_conv_3x3", 1, "dil_conv_5x5", 4]],
                        "reduce": [["sep_conv_3x3", 0, "skip_connect", 1], ["dil_conv_5x5", 2, "max_pool_3x3", 1],
                                   ["sep_conv_3x3", 2, "sep_conv_3x3", 1], ["sep_conv_5x5", 0, "sep_conv_3x3", 3]]},
                       5_342_464, 581_627_328),
    "pdarts": ({"normal": [["skip_connect", 0, "dil_conv_3x3", 1], ["skip_connect", 0, "sep_conv_3x3", 1],
                           ["sep_conv_3x3", 1, "sep_conv_3x3", 3], ["sep_conv_3x3", 0, "dil_conv_5x5", 4]],
                "reduce": [["avg_pool_3x3", 0, "sep_conv_5x5", 1], ["sep_conv_3x3", 0, "dil_conv_5x5", 2],
                           ["max_pool_3x3", 0, "dil_conv_3x3", 1], ["dil_conv_3x3", 1, "dil_conv_5x5", 3]]},
               4_944_352, 542_819_328),
}


@pytest.mark.parametrize("name", sorted(DARTS_FAMILY))
def test_darts_family_cells_in_dartss_imagenet_network(name):
    cell, params, _ = DARTS_FAMILY[name]
    assert _meta_params(cell_network(cell_space("darts"), cell, "imagenet")) == params


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(DARTS_FAMILY))
def test_darts_family_cells_macs_in_dartss_imagenet_network(name):
    cell, _, macs = DARTS_FAMILY[name]
    assert measure(cell_network(cell_space("darts"), cell, "imagenet")).macs == macs
