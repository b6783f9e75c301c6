"""Residual networks: ResNet 18-152 and the CIFAR ResNets (He et al. 2016), pre-activation
ResNets (He et al. 2016b), Wide ResNets (Zagoruyko & Komodakis 2016), ResNeXt (Xie et
al. 2017) and SE-ResNet/SE-ResNeXt (Hu et al. 2018): one stage layout, different blocks.
"""
from __future__ import annotations

from functools import partial
from typing import Any

from ..blocks import basic_block, bottleneck
from ..dsl import edge, head, layer, network, node, cell, stage
from .registry import Figures, ForeignName, ZooEntry

RESNET_PAPER = "Deep Residual Learning for Image Recognition (He et al. 2016), https://arxiv.org/abs/1512.03385"
PREACT_PAPER = "Identity Mappings in Deep Residual Networks (He et al. 2016), https://arxiv.org/abs/1603.05027"
WRN_PAPER = "Wide Residual Networks (Zagoruyko & Komodakis 2016), https://arxiv.org/abs/1605.07146"
RESNEXT_PAPER = "Aggregated Residual Transformations for Deep Neural Networks (Xie et al. 2017), https://arxiv.org/abs/1611.05431"
SE_PAPER = "Squeeze-and-Excitation Networks (Hu et al. 2018), https://arxiv.org/abs/1709.01507"
TORCHVISION = "torchvision.models"

IMAGENET_STEM = (layer("conv", 64, stride=2, k=7, order="conv_bn_act"), layer("max_pool", stride=2, k=3, padding=1))
# NOTE: SENet's Caffe release (and its PyTorch port, timm's legacy_se* models) pools the stem
# with Caffe's ceil rounding and no padding: the same 56×56 map from 112×112, other windows.
CAFFE_STEM = (IMAGENET_STEM[0], layer("max_pool", stride=2, k=3, padding=0, ceil_mode=True))
DEPTHS = {18: (2, 2, 2, 2), 34: (3, 4, 6, 3), 50: (3, 4, 6, 3), 101: (3, 4, 23, 3), 152: (3, 8, 36, 3)}

# How torchvision and timm name a ResNet's tensors (conv1, bn1, layer1-4, fc); the legacy
# SENet port (Cadene's, in timm as legacy_se*) wraps the stem in layer0 and names its SE
# module se_module, timm's own SE-ResNets name it se.
RESNET_KEYS = ("conv1.weight", "layer1.0.conv1.weight", "fc.weight")
LEGACY_SENET_KEYS = ("layer0.conv1.weight", "layer1.0.se_module.fc1.weight", "last_linear.weight")
TIMM_SE_KEYS = ("conv1.weight", "layer1.0.se.fc1.weight", "fc.weight")
BOTH = ("torchvision", "timm")


def imagenet_resnet(name: str, depths: tuple[int, ...], block: dict[str, Any], expansion: int,
                    stem: tuple[dict[str, Any], ...] = IMAGENET_STEM) -> dict[str, Any]:
    """The ImageNet ResNet layout (He et al. 2016, Table 1): a 7×7/2 stem and max pool, four
    stages of widths 64-512 (times the block's expansion), strides 1, 2, 2, 2."""
    stages = [stage(block, repeats, width=64 * 2 ** i * expansion, stride=1 if i == 0 else 2, name=f"layer{i + 1}")
              for i, repeats in enumerate(depths)]
    return network(name, stages, stem=stem, head_spec=head("avg"))


def cifar_resnet(name: str, blocks_per_stage: int) -> dict[str, Any]:
    """The CIFAR-10 ResNets (He et al. 2016, Sec. 4.2): a 3×3 conv of 16 maps, three
    stages of 2n 3×3 layers at 16, 32, 64 maps, parameter-free (option A) shortcuts."""
    block = basic_block(projection="pad")
    stages = [stage(block, blocks_per_stage, width=16 * 2 ** i, stride=1 if i == 0 else 2, name=f"layer{i + 1}")
              for i in range(3)]
    return network(name, stages, stem=[layer("conv", 16, k=3, order="conv_bn_act")], input_size=32, num_classes=10)


def preact_cifar(name: str, blocks_per_stage: int, widths: tuple[int, ...], bottleneck_block: bool,
                 dropout: float = 0.0) -> dict[str, Any]:
    """Pre-activation CIFAR networks: He et al. 2016b (ResNet-164/1001, bottleneck, widths
    64-256) and Wide ResNets (WRN-d-k, basic blocks, widths 16k, 32k, 64k); a closing BN-ReLU."""
    stages = []
    for index, width in enumerate(widths):
        stride = 1 if index == 0 else 2
        make = partial(bottleneck, inner=0.25, preact=True, projection="conv") if bottleneck_block \
            else partial(basic_block, preact=True, projection="conv")
        stages.append(stage(make(project=False), blocks_per_stage, width=width, stride=stride,
                            first_cell=make(project=True), name=f"block{index + 1}"))
    stages.append(stage(cell([node(edge("bn", 0, reduce=False))]), name="final_bn_relu"))
    return network(name, stages, stem=[layer("conv", 16, k=3, order="conv")], input_size=32, num_classes=10)


def _variants(depth: int) -> dict[str, Any]:
    depths = DEPTHS[depth]
    if depth < 50:
        return {"paper": lambda: imagenet_resnet(f"resnet{depth}", depths, basic_block(), 1)}
    return {
        "paper": lambda: imagenet_resnet(f"resnet{depth}", depths, bottleneck(stride_in_1x1=True), 4),
        "torchvision": lambda: imagenet_resnet(f"resnet{depth}", depths, bottleneck(stride_in_1x1=False), 4),
    }


# (params of torchvision's model, multiply-adds from He et al. 2016, Table 1)
IMAGENET_FIGURES = {18: (11_689_512, 1.8e9), 34: (21_797_672, 3.6e9), 50: (25_557_032, 3.8e9),
                    101: (44_549_160, 7.6e9), 152: (60_192_808, 11.3e9)}
CIFAR_FIGURES = {20: 0.27e6, 32: 0.46e6, 44: 0.66e6, 56: 0.85e6, 110: 1.7e6, 1202: 19.4e6}


def entries() -> list[ZooEntry]:
    result = []
    for depth, (params, macs) in IMAGENET_FIGURES.items():
        variants = _variants(depth)
        paper = Figures(f"He et al. 2016, Table 1 ({macs / 1e9:.1f}×10⁹ FLOPs, multiply-adds)", macs=macs)
        torchvision = Figures(f"{TORCHVISION}.resnet{depth}", params=params)
        figures = {"paper": (paper, torchvision)}
        if "torchvision" in variants:
            figures["torchvision"] = (torchvision,)
        # timm's resnet18-152 are torchvision's layout (v1.5 for the bottleneck nets).
        foreign = (ForeignName(f"resnet{depth}", "paper" if depth < 50 else "torchvision", BOTH, RESNET_KEYS),)
        notes = "" if depth < 50 else "paper: stride in the first 1×1; torchvision: in the 3×3 (v1.5)"
        result.append(ZooEntry(f"resnet{depth}", "resnet", RESNET_PAPER, variants, figures, notes=notes,
                               foreign_names=foreign))
    for depth, params in CIFAR_FIGURES.items():
        n = (depth - 2) // 6
        result.append(ZooEntry(f"resnet{depth}_cifar", "resnet", RESNET_PAPER,
                               {"paper": partial(cifar_resnet, f"resnet{depth}_cifar", n)},
                               {"paper": (Figures("He et al. 2016, Table 6", params=int(params), params_tolerance=0.03),)}))
    result += [
        ZooEntry("preact_resnet164", "resnet", PREACT_PAPER,
                 {"paper": partial(preact_cifar, "preact_resnet164", 18, (64, 128, 256), True)},
                 {"paper": (Figures("He et al. 2016b, Table 2 (1.7M)", params=1_700_000, params_tolerance=0.03),)}),
        ZooEntry("preact_resnet1001", "resnet", PREACT_PAPER,
                 {"paper": partial(preact_cifar, "preact_resnet1001", 111, (64, 128, 256), True)},
                 {"paper": (Figures("He et al. 2016b, Table 2 (10.2M)", params=10_200_000, params_tolerance=0.03),)}),
        ZooEntry("wrn28_10", "resnet", WRN_PAPER,
                 {"paper": partial(preact_cifar, "wrn28_10", 4, (160, 320, 640), False)},
                 {"paper": (Figures("Zagoruyko & Komodakis 2016, Table 4 (36.5M)", params=36_500_000,
                                    params_tolerance=0.01),)}),
        *wide_and_grouped(),
        se_entry("se_resnet50", {}, "Hu et al. 2018, Table 2 (28.1M, 3.87 GFLOPs)", 28_100_000, 3.87e9,
                 timm_params=28_088_024),
        se_entry("se_resnext50_32x4d", {"inner": 0.5, "groups": 32},
                 "Hu et al. 2018, Table 2 (27.6M, 4.25 GFLOPs)", 27_600_000, 4.25e9,
                 timm_params=27_559_896),
    ]
    return result


# name, torchvision's name, depth, inner width (of the block's output), groups, torchvision's params
WIDE_AND_GROUPED = (
    ("wrn50_2", "wide_resnet50_2", 50, 0.5, 1, 68_883_240),
    ("wrn101_2", "wide_resnet101_2", 101, 0.5, 1, 126_886_696),
    ("resnext50_32x4d", "resnext50_32x4d", 50, 0.5, 32, 25_028_904),
    ("resnext101_32x8d", "resnext101_32x8d", 101, 1.0, 32, 88_791_336),
    ("resnext101_64x4d", "resnext101_64x4d", 101, 1.0, 64, 83_455_272),
)


def wide_and_grouped() -> list[ZooEntry]:
    """torchvision's wide ResNets (WRN-50-2, WRN-101-2: the ImageNet bottleneck nets with a
    twice wider 3×3, Zagoruyko & Komodakis 2016, Sec. 4.3) and ResNeXts (Xie et al. 2017,
    Table 1): stride in the 3×3, as in both papers' releases; timm's models of the same
    names are the same networks."""
    result = []
    for name, torchvision_name, depth, inner, groups, params in WIDE_AND_GROUPED:
        paper = WRN_PAPER if groups == 1 else RESNEXT_PAPER
        figures = [Figures(f"{TORCHVISION}.{torchvision_name}", params=params)]
        if name == "resnext50_32x4d":
            figures.append(Figures("Xie et al. 2017, Table 1 (4.2×10⁹ FLOPs)", macs=4.2e9))
        block = bottleneck(inner=inner, groups=groups)
        result.append(ZooEntry(name, "resnet", paper,
                               {"torchvision": partial(imagenet_resnet, name, DEPTHS[depth], block, 4)},
                               {"torchvision": tuple(figures)},
                               foreign_names=(ForeignName(torchvision_name, "torchvision", BOTH, RESNET_KEYS),)))
    return result


def se_entry(name: str, block_args: dict[str, Any], figure_source: str, params: int, macs: float,
             timm_params: int | None = None) -> ZooEntry:
    """An SE network (Hu et al. 2018): ``paper`` is the authors' Caffe release as timm's
    legacy_* port has it (ResNet: stride in the first 1×1; ResNeXt: in the 3×3; Caffe's
    ceil-mode stem pooling), ``timm`` is timm's own SE net of the name (stride in the 3×3,
    torchvision's stem)."""
    stride_in_1x1 = block_args.get("groups", 1) == 1
    paper_block = bottleneck(stride_in_1x1=stride_in_1x1, se_reduction=16, **block_args)
    timm_block = bottleneck(stride_in_1x1=False, se_reduction=16, **block_args)
    timm_name = name.replace("se_", "se")
    paper_figures = [Figures(figure_source, params=params, params_tolerance=0.01, macs=macs)]
    if timm_params is not None:
        paper_figures.append(Figures(f"timm.legacy_{timm_name}", params=timm_params))
    return ZooEntry(name, "resnet", SE_PAPER,
                    {"paper": partial(imagenet_resnet, name, DEPTHS[50], paper_block, 4, CAFFE_STEM),
                     "timm": partial(imagenet_resnet, name, DEPTHS[50], timm_block, 4)},
                    {"paper": tuple(paper_figures),
                     "timm": (Figures(f"timm.{timm_name}", params=timm_params),) if timm_params else ()},
                    notes="paper: the authors' Caffe release (timm's legacy_ port); timm: timm's own layout",
                    foreign_names=(ForeignName(f"legacy_{timm_name}", "paper", ("timm",), LEGACY_SENET_KEYS),
                                   ForeignName(timm_name, "timm", ("timm",), TIMM_SE_KEYS)))
