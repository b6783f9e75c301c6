"""AlexNet (Krizhevsky et al. 2012) and its revision ZFNet (Zeiler & Fergus 2014): five
convolutional layers with local response normalization and overlapping max pooling, then
three fully connected layers. The first layer (and ZFNet's second, also strided) is the
stem; each later group of convolutions closed by a pooling is a stage.
"""
from __future__ import annotations

from functools import partial
from typing import Any

from ..dsl import chain, classifier_mlp, edge, head, layer, network, stage
from .registry import Figures, ForeignName, ZooEntry

ALEXNET_PAPER = ("ImageNet Classification with Deep Convolutional Neural Networks (Krizhevsky et al. 2012), "
                 "https://papers.nips.cc/paper/4824-imagenet-classification-with-deep-convolutional-neural-networks")
ZFNET_PAPER = "Visualizing and Understanding Convolutional Networks (Zeiler & Fergus 2014), https://arxiv.org/abs/1311.2901"
TORCHVISION = "torchvision.models"

# Sec. 3.3: k = 2, n = 5, α = 1e-4, β = 0.75.
# NOTE: nn.LocalResponseNorm divides α by n (as Caffe does); the paper's formula multiplies
# the plain sum of squares by α, so α·n is passed to reproduce it.
LRN = {"size": 5, "alpha": 1e-4, "beta": 0.75, "k": 2.0}  # Sec. 3.3
OVERLAPPING_POOL = {"k": 3, "padding": 0}  # Sec. 3.4: z = 3, s = 2
FC_LAYERS = (4096, 4096)


def alexnet(name: str, groups: int = 1) -> dict[str, Any]:
    """The network of Fig. 2 on a 227×227 crop, as one tower: 96@11×11/4, 256@5×5,
    384@3×3, 384@3×3, 256@3×3; LRN after conv1 and conv2; max pooling after LRN and conv5.
    ``groups=2`` splits conv2, conv4 and conv5 as the paper's two GPUs do (conv3 and the
    fully connected layers read both halves)."""
    # NOTE: the paper's 224×224 input does not give the 55×55 maps of Fig. 2 with an
    # unpadded 11×11/4 convolution; 227 does (Caffe's reference model uses it too).
    # NOTE: with groups=2 the LRN still spans the boundary between the two halves (maps 47
    # and 48), which the paper's GPUs do not; it has no parameters.
    stem = [layer("conv", 96, stride=4, k=11, padding=0, order="conv_act"),
            layer("lrn", **LRN),
            layer("max_pool", stride=2, **OVERLAPPING_POOL)]
    conv = partial(edge, "conv", 0, order="conv_act")
    stages = [
        stage(chain(conv(k=5, groups=groups), edge("lrn", 0, **LRN), edge("max_pool", 0, **OVERLAPPING_POOL),
                    reduce_at=2), width=256, stride=2, name="conv2"),
        stage(chain(conv(channels=384, k=3), conv(channels=384, k=3, groups=groups),
                    conv(channels=256, k=3, groups=groups), edge("max_pool", 0, **OVERLAPPING_POOL),
                    reduce_at=3), width=384, stride=2, name="conv3_5"),
    ]
    # Sec. 4.2: dropout on the outputs of the first two fully connected layers.
    return network(name, stages, stem=stem, input_size=227,
                   head_spec=head("none", layers=classifier_mlp(FC_LAYERS, 0.5, dropout_first=False)))


def alexnet_torchvision(name: str) -> dict[str, Any]:
    """torchvision's AlexNet, after Krizhevsky 2014 ("One weird trick for parallelizing
    convolutional neural networks", https://arxiv.org/abs/1404.5997): one tower of 64, 192,
    384, 256, 256 filters, no LRN, adaptive average pooling to 6×6, dropout before each
    hidden fully connected layer."""
    stem = [layer("conv", 64, stride=4, k=11, padding=2, order="conv_act"),
            layer("max_pool", stride=2, **OVERLAPPING_POOL)]
    conv = partial(edge, "conv", 0, k=3, order="conv_act")
    stages = [
        stage(chain(edge("conv", 0, k=5, order="conv_act"), edge("max_pool", 0, **OVERLAPPING_POOL), reduce_at=1),
              width=192, stride=2, name="conv2"),
        stage(chain(conv(channels=384), conv(channels=256), conv(channels=256), edge("max_pool", 0, **OVERLAPPING_POOL),
                    reduce_at=3), width=384, stride=2, name="conv3_5"),
    ]
    return network(name, stages, stem=stem,
                   head_spec=head("avg", pool_size=6, layers=classifier_mlp(FC_LAYERS, 0.5, dropout_first=True)))


def zfnet(name: str, widths: tuple[int, int, int]) -> dict[str, Any]:
    """ZFNet (Fig. 3): AlexNet with a 7×7/2 first layer and a 5×5/2 second layer; each of
    the first two layers is ReLU, 3×3/2 max pooling, then contrast normalization across maps.
    ``widths``: the maps of layers 3-5 (Fig. 3: 384, 384, 256; Table 2's larger model (b):
    512, 1024, 512)."""
    # NOTE: the paper states no paddings. Padding 1 on the first layer and ceil-mode pooling
    # (as in Caffe) reproduce Fig. 3's map sizes: 110, 55, 26, 13, 13, 6.
    pool = {"k": 3, "padding": 0, "ceil_mode": True}
    # NOTE: "contrast normalized across feature maps" is taken to be AlexNet's LRN.
    stem = [layer("conv", 96, stride=2, k=7, padding=1, order="conv_act"),
            layer("max_pool", stride=2, **pool),
            layer("lrn", **LRN),
            layer("conv", 256, stride=2, k=5, padding=0, order="conv_act"),
            layer("max_pool", stride=2, **pool),
            layer("lrn", **LRN)]
    convs = [edge("conv", 0, channels=width, k=3, order="conv_act") for width in widths]
    stages = [stage(chain(*convs, edge("max_pool", 0, **pool), reduce_at=3), width=widths[0], stride=2,
                    name="layers3_5")]
    return network(name, stages, stem=stem,
                   head_spec=head("none", layers=classifier_mlp(FC_LAYERS, 0.5, dropout_first=False)))


def entries() -> list[ZooEntry]:
    tower = "arithmetic from the layer sizes of Krizhevsky et al. 2012, Fig. 2"
    sixty_million = Figures("Krizhevsky et al. 2012, Sec. 1 (60 million parameters)", params=60_000_000,
                            params_tolerance=0.02)
    zf_sizes = "arithmetic from the layer sizes of Zeiler & Fergus 2014 (the paper gives no count)"
    return [
        ZooEntry("alexnet", "alexnet", ALEXNET_PAPER,
                 {"paper": partial(alexnet, "alexnet"),
                  "two_gpu": partial(alexnet, "alexnet", groups=2),
                  "torchvision": partial(alexnet_torchvision, "alexnet")},
                 {"paper": (Figures(f"{tower}, one ungrouped tower", params=62_378_344),),
                  "two_gpu": (sixty_million, Figures(f"{tower}, two towers", params=60_965_224)),
                  "torchvision": (Figures(f"{TORCHVISION}.alexnet (0.71 GFLOPS, multiply-adds)", params=61_100_840,
                                          macs=0.714e9),)},
                 notes="paper: one tower at 227×227; two_gpu: conv2, conv4, conv5 in 2 groups; "
                       "torchvision: the 'one weird trick' widths",
                 # torchvision's classifier: dropout, fc (index 1), ReLU, dropout, fc (4), ReLU, fc (6).
                 foreign_names=(ForeignName("alexnet", "torchvision", ("torchvision",),
                                            ("features.0.weight", "classifier.1.weight")),)),
        ZooEntry("zfnet", "alexnet", ZFNET_PAPER,
                 {"paper": partial(zfnet, "zfnet", (512, 1024, 512)),
                  "fig3": partial(zfnet, "zfnet", (384, 384, 256))},
                 {"paper": (Figures(f"{zf_sizes}, Table 2 model (b)", params=107_627_624),),
                  "fig3": (Figures(f"{zf_sizes}, Fig. 3", params=62_357_608),)},
                 notes="paper: layers 3-5 of 512, 1024, 512 maps (Table 2's larger model (b)); "
                       "fig3: 384, 384, 256 as drawn in Fig. 3"),
    ]
