"""Densely connected networks: DenseNet-121, -169, -201 and -264 (Huang et al. 2017,
"Densely Connected Convolutional Networks", https://arxiv.org/abs/1608.06993, Table 1):
DenseNet-BC with growth rate k=32, 1×1 bottlenecks of 4k maps and compression 0.5.
"""
from __future__ import annotations

from functools import partial
from typing import Any

from ..blocks import dense_layer, transition
from ..dsl import cell, edge, head, layer, network, node, stage
from .registry import Figures, ForeignName, ZooEntry

DENSENET_PAPER = "Densely Connected Convolutional Networks (Huang et al. 2017), https://arxiv.org/abs/1608.06993"
TORCHVISION = "torchvision.models"

# conv0, norm0, relu0, pool0 in torchvision's ``features``.
IMAGENET_STEM = (layer("conv", 64, stride=2, k=7, order="conv_bn_act"), layer("max_pool", stride=2, k=3, padding=1))
# torchvision's naming: ``features.conv0``, ``features.denseblock1.denselayer1.conv1``, ``classifier``.
TORCHVISION_KEYS = ("features.conv0.weight", "features.denseblock1.denselayer1.conv1.weight", "classifier.weight")
BLOCKS = {121: (6, 12, 24, 16), 169: (6, 12, 32, 32), 201: (6, 12, 48, 32), 264: (6, 12, 64, 48)}


def densenet(name: str, layers_per_block: tuple[int, ...], growth_rate: int = 32, bottleneck_width: int = 4,
             compression: float = 0.5, stem_width: int = 64) -> dict[str, Any]:
    """The ImageNet DenseNet-BC (Huang et al. 2017, Table 1): a 7×7/2 stem and max pool,
    dense blocks whose layers each add ``growth_rate`` maps, transitions that compress the
    maps by ``compression`` and halve the resolution, a closing BN-ReLU (torchvision's
    ``norm5``), global average pooling and the classifier."""
    stages = []
    channels = stem_width
    for index, count in enumerate(layers_per_block):
        stages.append(stage(dense_layer(bottleneck_width), count, width=growth_rate, name=f"denseblock{index + 1}"))
        channels += count * growth_rate
        if index < len(layers_per_block) - 1:
            channels = int(channels * compression)
            stages.append(stage(transition(), width=channels, stride=2, name=f"transition{index + 1}"))
    stages.append(stage(cell([node(edge("bn", 0, reduce=False))]), name="norm5"))
    return network(name, stages, stem=IMAGENET_STEM, head_spec=head("avg"))


# (torchvision's parameter count, torchvision's GFLOPS; None where torchvision has no such model)
TORCHVISION_FIGURES = {121: (7_978_856, 2.83e9), 169: (14_149_480, 3.36e9), 201: (20_013_928, 4.29e9),
                       264: (None, None)}


def entries() -> list[ZooEntry]:
    result = []
    for depth, (params, macs) in TORCHVISION_FIGURES.items():
        name = f"densenet{depth}"
        figures: tuple[Figures, ...] = ()
        if params is not None:
            # torchvision's GFLOPS count one multiply-add as one operation.
            figures = (Figures(f"{TORCHVISION}.{name} ({params:,} params, {macs / 1e9:.2f} GFLOPS)",
                               params=params, macs=macs),)
        else:
            # NOTE: DenseNet-264 is in neither torchvision nor the paper's tables (its Fig. 3
            # plots it); 33.3M is the size commonly quoted for it, and what this layout gives
            # (33,337,704 with 1000 classes).
            figures = (Figures("commonly quoted size of DenseNet-264 (k=32), 33.3M; not in the paper's tables",
                               params=33_300_000, params_tolerance=0.005),)
        foreign = (ForeignName(name, "paper", ("torchvision",), TORCHVISION_KEYS),) if params is not None else ()
        result.append(ZooEntry(name, "densenet", DENSENET_PAPER,
                               {"paper": partial(densenet, name, BLOCKS[depth])}, {"paper": figures},
                               notes="DenseNet-BC, k=32, as torchvision builds it (no dropout)", foreign_names=foreign))
    return result
