"""Xception (Chollet 2017, "Xception: Deep Learning with Depthwise Separable Convolutions",
https://arxiv.org/abs/1610.02357, Fig. 5): an entry flow of strided residual blocks, eight
middle-flow blocks of three separable convolutions, and an exit flow, on 299×299 inputs.
Laid out as Keras' ``Xception`` and timm's ``legacy_xception`` (Cadene's port of it):
convolutions without bias, each followed by batch norm.
"""
from __future__ import annotations

from typing import Any

from ..blocks import separable_exit, separable_middle, separable_residual
from ..dsl import head, layer, network, stage
from .registry import Figures, ForeignName, ZooEntry

XCEPTION_PAPER = ("Xception: Deep Learning with Depthwise Separable Convolutions (Chollet 2017), "
                  "https://arxiv.org/abs/1610.02357")

# Keras' block1_conv1/conv2: 3×3 convolutions without padding (299 -> 149 -> 147).
STEM = (layer("conv", 32, stride=2, k=3, padding=0, order="conv_bn_act"),
        layer("conv", 64, k=3, padding=0, order="conv_bn_act"))


def xception(name: str = "xception") -> dict[str, Any]:
    stages = [
        # NOTE: Keras has no ReLU before block2's first separable conv; its input (the stem's
        # output) is already rectified, so the ReLU kept here is the identity and the block
        # is the same as blocks 3 and 4 (and the same as the blocks space's).
        stage(separable_residual(), width=128, stride=2, name="block2"),
        stage(separable_residual(), width=256, stride=2, name="block3"),
        stage(separable_residual(), width=728, stride=2, name="block4"),
        stage(separable_middle(), 8, width=728, name="middle_flow"),
        stage(separable_residual(first_channels=728), width=1024, stride=2, name="block13"),
        # Exit flow: separable conv-BN-ReLU at 1536 then at 2048 maps, no shortcut.
        stage(separable_exit(), width=2048, name="block14"),
    ]
    return network(name, stages, stem=STEM, head_spec=head("avg"), input_size=299)


def entries() -> list[ZooEntry]:
    return [ZooEntry(
        "xception", "xception", XCEPTION_PAPER, {"paper": xception},
        {"paper": (Figures("Chollet 2017, Table 3 (22,855,952 parameters; Keras and timm's legacy_xception alike)",
                           params=22_855_952),)},
        notes="no dropout before the classifier (the paper's optional FC layers are left out, as in Keras)",
        foreign_names=(ForeignName("legacy_xception", "paper", ("timm",),
                                   ("conv1.weight", "block1.skip.weight", "block1.rep.0.conv1.weight")),))]
