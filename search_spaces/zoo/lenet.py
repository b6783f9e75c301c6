"""LeNet-5 (LeCun et al. 1998, "Gradient-Based Learning Applied to Document Recognition",
Proc. IEEE 86(11), http://yann.lecun.com/exdb/publis/pdf/lecun-98.pdf, Sec. II.B and Fig. 2):
C1 6@5×5, S2 2×2 subsampling, C3 16@5×5, S4, C5 120@5×5, F6 84 units, 10 outputs.
"""
from __future__ import annotations

from functools import partial
from typing import Any

from ..dsl import chain, edge, head, network, stage
from .registry import Figures, ZooEntry

LENET_PAPER = ("Gradient-Based Learning Applied to Document Recognition (LeCun et al. 1998), "
               "http://yann.lecun.com/exdb/publis/pdf/lecun-98.pdf")

# Table I: the S2 maps each C3 map reads. Six read three adjacent maps, six read four
# adjacent maps, three read four non-adjacent maps, and the last reads all six.
C3_CONNECTIONS = (
    (0, 1, 2), (1, 2, 3), (2, 3, 4), (3, 4, 5), (0, 4, 5), (0, 1, 5),
    (0, 1, 2, 3), (1, 2, 3, 4), (2, 3, 4, 5), (0, 3, 4, 5), (0, 1, 4, 5), (0, 1, 2, 5),
    (0, 1, 3, 4), (1, 2, 4, 5), (0, 2, 3, 5),
    (0, 1, 2, 3, 4, 5),
)


def lenet5(name: str, paper: bool) -> dict[str, Any]:
    """LeNet-5 on a 32×32 grey image. ``paper``: C3 partially connected (Table I, 1,516
    parameters) and trainable subsampling (a coefficient and a bias per map, then the
    squashing function: S2 has 12 parameters, S4 32). Otherwise C3 is fully connected and
    S2/S4 are plain 2×2 average pooling, as most re-implementations do.
    """
    # NOTE: the paper's squashing function is A·tanh(S·a) with A = 1.7159, S = 2/3
    # (Appendix A); plain tanh has the same shape and no parameters.
    conv = partial(edge, "conv", 0, k=5, padding=0, order="conv_act", act="tanh")
    if paper:
        # NOTE: S2/S4 add the four inputs before the trainable coefficient; an average
        # differs by a factor of 4 that the coefficient absorbs.
        subsample = edge("avg_pool", 0, k=2, padding=0, trainable=True, act="tanh")
        c3 = edge("table_conv", 0, k=5, connections=[list(row) for row in C3_CONNECTIONS], act="tanh")
    else:
        subsample = edge("avg_pool", 0, k=2, padding=0)
        c3 = conv()
    stages = [
        stage(chain(conv(), subsample, reduce_at=1), width=6, stride=2, name="C1_S2"),
        stage(chain(c3, subsample, reduce_at=1), width=16, stride=2, name="C3_S4"),
        stage(chain(conv()), width=120, name="C5"),
    ]
    # NOTE: the paper's output layer is 10 Euclidean RBF units with fixed ±1 codes (Sec. II.B);
    # a linear classifier takes its place (850 parameters instead of the RBF's 840 fixed ones).
    return network(name, stages, head_spec=head("none", layers=[("fc", 84), ("act", "tanh")]),
                   input_size=32, input_channels=1, num_classes=10)


def entries() -> list[ZooEntry]:
    about_60k = "LeCun et al. 1998, Sec. II.B (about 60,000 trainable parameters)"
    return [ZooEntry(
        "lenet5", "lenet", LENET_PAPER,
        {"default": partial(lenet5, "lenet5", paper=False), "paper": partial(lenet5, "lenet5", paper=True)},
        {"default": (Figures(about_60k, params=60_000, params_tolerance=0.03),),
         "paper": (Figures(about_60k, params=60_000, params_tolerance=0.015),
                   # 340,908 connections count biases and subsampling too; multiply-adds are ~4% fewer.
                   Figures("LeCun et al. 1998, Sec. II.B (340,908 connections)", macs=340_908, macs_tolerance=0.05))},
        notes="default: fully connected C3, plain average pooling; paper: Table I's C3, trainable subsampling",
    )]
