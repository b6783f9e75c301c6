"""MobileNet v1 (Howard et al. 2017, "MobileNets: Efficient Convolutional Neural Networks for
Mobile Vision Applications", https://arxiv.org/abs/1704.04861, Table 1): a 3×3/2 convolution
and thirteen depthwise-separable blocks, with the width multiplier α of Sec. 3.3.
"""
from __future__ import annotations

from functools import partial
from typing import Any

from ..blocks import depthwise_separable
from ..dsl import head, layer, network, stage
from .registry import Figures, ZooEntry

MOBILENET_PAPER = ("MobileNets: Efficient Convolutional Neural Networks for Mobile Vision Applications "
                   "(Howard et al. 2017), https://arxiv.org/abs/1704.04861")

# (pointwise width, repeats, stride of the first) for the thirteen blocks of Table 1.
# NOTE: Table 1 prints the last depthwise layer as "s2" on a 7×7 input that it keeps at
# 7×7; it has stride 1, as in every released implementation.
BLOCKS = ((64, 1, 1), (128, 2, 2), (256, 2, 2), (512, 6, 2), (1024, 2, 2))


def mobilenet_v1(name: str, alpha: float = 1.0, input_size: int = 224) -> dict[str, Any]:
    """MobileNet v1 at width multiplier ``alpha``: every layer's maps scaled by α and
    truncated (``int(32 * α)``, as Keras does), ReLU after every BN, global average
    pooling and the classifier (the paper's FC)."""
    stem = [layer("conv", int(32 * alpha), stride=2, k=3, order="conv_bn_act")]
    stages = [stage(depthwise_separable(), repeats, width=int(width * alpha), stride=stride, name=f"conv_dw{index + 1}")
              for index, (width, repeats, stride) in enumerate(BLOCKS)]
    return network(name, stages, stem=stem, head_spec=head("avg"), input_size=input_size)


# Howard et al. 2017, Table 6 (width multiplier, at 224×224): million multiply-adds, million parameters.
WIDTH_FIGURES = {1.0: (569, 4.2), 0.75: (325, 2.6), 0.5: (149, 1.3), 0.25: (41, 0.5)}
# Table 7 (resolution, at α = 1): million multiply-adds.
RESOLUTION_FIGURES = {192: 418, 160: 290, 128: 186}


def _paper(alpha: float, size: int, mult_adds: float, params: float) -> Figures:
    table = "Table 6" if size == 224 else "Table 7"
    # The paper rounds parameters to 0.1M: allow half of that (1.2% at α=1, 10% at α=0.25).
    return Figures(f"Howard et al. 2017, {table} ({mult_adds:g}M mult-adds, {params:g}M params)",
                   params=int(params * 1e6), params_tolerance=0.05 / params, macs=mult_adds * 1e6)


def entries() -> list[ZooEntry]:
    variants: dict[str, Any] = {}
    figures: dict[str, tuple[Figures, ...]] = {}
    for alpha, (mult_adds, params) in WIDTH_FIGURES.items():
        key = "1.0" if alpha == 1.0 else f"{alpha:g}"
        variants[key] = partial(mobilenet_v1, "mobilenet_v1", alpha)
        figures[key] = (_paper(alpha, 224, mult_adds, params),)
    figures["1.0"] += (Figures("Keras MobileNet (alpha=1.0, 1000 classes): 4,231,976 trainable parameters",
                               params=4_231_976),)
    for size, mult_adds in RESOLUTION_FIGURES.items():
        key = f"1.0_{size}"
        variants[key] = partial(mobilenet_v1, "mobilenet_v1", 1.0, size)
        figures[key] = (_paper(1.0, size, mult_adds, 4.2),)
    return [ZooEntry("mobilenet_v1", "mobilenet", MOBILENET_PAPER, variants, figures,
                     notes="variants: width multiplier α (Table 6) and α=1 at lower resolutions (Table 7)")]
