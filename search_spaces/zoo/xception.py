"""Xception (Chollet 2017, "Xception: Deep Learning with Depthwise Separable Convolutions",
https://arxiv.org/abs/1610.02357, Fig. 5): an entry flow of strided residual blocks, eight
middle-flow blocks of three separable convolutions, and an exit flow, on 299×299 inputs.
Laid out as Keras' ``Xception`` and timm's ``legacy_xception`` (Cadene's port of it):
convolutions without bias, each followed by batch norm.
"""
from __future__ import annotations

from typing import Any

from ..dsl import cell, chain, edge, head, layer, network, node, stage
from .registry import Figures, ZooEntry

XCEPTION_PAPER = ("Xception: Deep Learning with Depthwise Separable Convolutions (Chollet 2017), "
                  "https://arxiv.org/abs/1610.02357")

# Keras' block1_conv1/conv2: 3×3 convolutions without padding (299 -> 149 -> 147).
STEM = (layer("conv", 32, stride=2, k=3, padding=0, order="conv_bn_act"),
        layer("conv", 64, k=3, padding=0, order="conv_bn_act"))


def strided_block(first_order: str = "act_sep_bn", first_channels: int | None = None) -> dict[str, Any]:
    """Two separable convolutions and a 3×3/2 max pool, plus a 1×1/2 conv-BN shortcut
    (Fig. 5, entry and exit flows). The shortcut comes first, as Keras and timm register
    it; ``first_order="sep_bn"`` drops the leading ReLU of the first entry block, whose
    input is already rectified by the stem; ``first_channels`` sets the first separable
    convolution's width (728 in the exit flow's block; the stage width otherwise)."""
    return cell([
        node(edge("skip", 0, projection="conv_bn", reduce=True)),
        node(edge("sep_conv", 0, channels=first_channels, order=first_order, reduce=False)),
        node(edge("sep_conv", 2, order="act_sep_bn")),
        node(edge("max_pool", 3, k=3, padding=1, reduce=True)),
        node(edge("identity", 4), edge("identity", 1)),
    ])


def middle_block() -> dict[str, Any]:
    """Three ReLU-separable conv-BN units and the identity shortcut (Fig. 5, middle flow)."""
    return cell([
        node(edge("sep_conv", 0, order="act_sep_bn", reduce=False)),
        node(edge("sep_conv", 1, order="act_sep_bn")),
        node(edge("sep_conv", 2, order="act_sep_bn"), edge("identity", 0, reduce=False)),
    ])


def xception(name: str = "xception") -> dict[str, Any]:
    stages = [
        stage(strided_block(first_order="sep_bn"), width=128, stride=2, name="block2"),
        stage(strided_block(), width=256, stride=2, name="block3"),
        stage(strided_block(), width=728, stride=2, name="block4"),
        stage(middle_block(), 8, width=728, name="middle_flow"),
        stage(strided_block(first_channels=728), width=1024, stride=2, name="block13"),
        # Exit flow: separable conv-BN-ReLU at 1536 then at 2048 maps, no shortcut.
        stage(chain(edge("sep_conv", 0, channels=1536, order="sep_bn_act"), edge("sep_conv", 0, order="sep_bn_act")),
              width=2048, name="block14"),
    ]
    return network(name, stages, stem=STEM, head_spec=head("avg"), input_size=299)


def entries() -> list[ZooEntry]:
    return [ZooEntry(
        "xception", "xception", XCEPTION_PAPER, {"paper": xception},
        {"paper": (Figures("Chollet 2017, Table 3 (22,855,952 parameters; Keras and timm's legacy_xception alike)",
                           params=22_855_952),)},
        notes="no dropout before the classifier (the paper's optional FC layers are left out, as in Keras)")]
