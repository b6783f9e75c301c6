"""VGG (Simonyan & Zisserman 2015, Table 1): five stages of 3×3 convolutions, each closed
by 2×2 max pooling, then three fully connected layers. Configurations A (11 weight
layers), A-LRN, B (13), C (16, with 1×1 convolutions), D (16) and E (19); the ``bn``
variants are torchvision's vgg*_bn (BN after each convolution, whose bias is kept).
"""
from __future__ import annotations

from functools import partial
from typing import Any

from ..blocks import plain_convs
from ..dsl import chain, classifier_mlp, edge, head, network, stage
from .alexnet import LRN
from .registry import Figures, ForeignName, ZooEntry

VGG_PAPER = ("Very Deep Convolutional Networks for Large-Scale Image Recognition (Simonyan & Zisserman 2015), "
             "https://arxiv.org/abs/1409.1556")
RESNET_PAPER = "He et al. 2016, Sec. 4.1"
TORCHVISION = "torchvision.models"

# torchvision's naming: ``features`` (convolutions, BN, ReLUs and poolings by index), ``classifier``.
TORCHVISION_KEYS = ("features.0.weight", "classifier.0.weight")
WIDTHS = (64, 128, 256, 512, 512)
# Table 1: convolutions per stage.
CONVS_PER_STAGE = {"A": (1, 1, 2, 2, 2), "B": (2, 2, 2, 2, 2), "C": (2, 2, 3, 3, 3), "D": (2, 2, 3, 3, 3),
                   "E": (2, 2, 4, 4, 4)}


def vgg(name: str, config: str, batch_norm: bool = False, lrn: bool = False) -> dict[str, Any]:
    """A configuration of Table 1 at 224×224. ``lrn``: A-LRN's LRN after the first
    convolution; configuration C makes the last convolution of stages 3-5 a 1×1."""
    order = "conv_bn_act" if batch_norm else "conv_act"
    bias = True if batch_norm else None
    stages = []
    for index, (count, width) in enumerate(zip(CONVS_PER_STAGE[config], WIDTHS)):
        if lrn and index == 0:
            # Sec. 2.2: A-LRN normalizes with the parameters of Krizhevsky et al. (2012).
            block = chain(edge("conv", 0, k=3, order=order), edge("lrn", 0, **LRN),
                          edge("max_pool", 0, k=2, padding=0), reduce_at=2)
        else:
            block = plain_convs(count, order=order, bias=bias, one_by_one_last=config == "C" and index >= 2)
        stages.append(stage(block, width=width, stride=2, name=f"stage{index + 1}"))
    # NOTE: the adaptive 7×7 average pooling is torchvision's; at 224×224 it is the identity,
    # and the paper's dense evaluation (FC layers as convolutions) is left to the user.
    return network(name, stages, head_spec=head("avg", pool_size=7,
                                                layers=classifier_mlp((4096, 4096), 0.5, dropout_first=False)))


# name -> (configuration, Table 2 parameters in millions, torchvision counts without/with BN,
# torchvision GFLOPS (multiply-adds), He et al. 2016's multiply-adds)
VGG_NETS = {
    "vgg11": ("A", 133, (132_863_336, 132_868_840), 7.61e9, None),
    "vgg13": ("B", 133, (133_047_848, 133_053_736), 11.31e9, None),
    "vgg16_c": ("C", 134, None, None, None),
    "vgg16": ("D", 138, (138_357_544, 138_365_992), 15.47e9, 15.3e9),
    "vgg19": ("E", 144, (143_667_240, 143_678_248), 19.63e9, 19.6e9),
}


def entries() -> list[ZooEntry]:
    result = []
    for name, (config, millions, torchvision, gflops, resnet_macs) in VGG_NETS.items():
        # Table 2 rounds to the million: a relative tolerance of 0.5 / 133.
        paper = [Figures(f"Simonyan & Zisserman 2015, Table 2 ({millions}M)", params=millions * 10 ** 6,
                         params_tolerance=0.004)]
        if resnet_macs:
            paper.append(Figures(f"{RESNET_PAPER} ({resnet_macs / 1e9:.1f} billion FLOPs, multiply-adds)",
                                 macs=resnet_macs))
        bn: list[Figures] = []
        if torchvision:
            plain_count, bn_count = torchvision
            ops = f"{gflops / 1e9:.2f} GFLOPS, multiply-adds"
            paper.append(Figures(f"{TORCHVISION}.{name} ({ops})", params=plain_count, macs=gflops))
            bn.append(Figures(f"{TORCHVISION}.{name}_bn ({ops})", params=bn_count, macs=gflops))
        foreign = (ForeignName(name, "paper", ("torchvision",), TORCHVISION_KEYS),
                   ForeignName(f"{name}_bn", "bn", ("torchvision",), (*TORCHVISION_KEYS, "features.1.running_mean")))
        result.append(ZooEntry(name, "vgg", VGG_PAPER,
                               {"paper": partial(vgg, name, config), "bn": partial(vgg, name, config, batch_norm=True)},
                               {"paper": tuple(paper), "bn": tuple(bn)},
                               notes=f"configuration {config}; bn: BN after each convolution (torchvision)",
                               foreign_names=foreign if torchvision else ()))
    # NOTE: A-LRN has no BN variant: BN and LRN together appear nowhere.
    result.append(ZooEntry("vgg11_lrn", "vgg", VGG_PAPER, {"paper": partial(vgg, "vgg11_lrn", "A", lrn=True)},
                           {"paper": (Figures("Simonyan & Zisserman 2015, Table 2 (133M)", params=133_000_000,
                                              params_tolerance=0.004),)},
                           notes="configuration A-LRN"))
    return result
