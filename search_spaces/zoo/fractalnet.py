"""FractalNet (Larsson et al. 2017, "FractalNet: Ultra-Deep Neural Networks without
Residuals", https://arxiv.org/abs/1605.07648, Sec. 2 and Fig. 1): blocks built by the fractal
expansion rule, joined by element-wise means, each followed by 2×2 max pooling; no residuals.

Local drop-path (Sec. 3.1) is the builder's drop on mean-joins: ``Network.set_drop_path(p)``
drops each joined path with probability p, always keeping one.
"""
from __future__ import annotations

from functools import partial
from typing import Any

from ..dsl import cell, edge, head, network, node, stage
from .registry import Figures, ZooEntry

FRACTALNET_PAPER = ("FractalNet: Ultra-Deep Neural Networks without Residuals (Larsson et al. 2017), "
                    "https://arxiv.org/abs/1605.07648")
CIFAR_FILTERS = (64, 128, 256, 512, 512)


def _conv(source: int) -> dict[str, Any]:
    # NOTE: the authors' Caffe nets give each convolution a bias and use BN without a learnt
    # scale and shift; here the convolution has no bias and BN is affine (C more parameters
    # per layer than Caffe's, 0.1% of the total).
    return edge("conv", source, k=3, order="conv_bn_act", reduce=False)


def fractal_block(columns: int) -> dict[str, Any]:
    """One fractal block of ``columns`` columns as a cell (Fig. 1): f_1(z) = conv(z),
    f_{C+1}(z) = join(f_C(f_C(z)), conv(z)).

    Joins are flattened as in Fig. 1: the join that closes the inner f_C and the join of
    f_{C+1} coincide, so one mean node joins every column that ends at a depth (the block's
    last join takes all ``columns`` paths, the one halfway down ``columns - 1``, ...). Each
    join node takes the last convolution of each of its paths as an edge, so local
    drop-path drops whole paths. Nodes that are not joins are spelt ``mean`` with one
    edge: the builder never drops a lone path of a mean node, as FractalNet never does.
    The block ends with a 2×2/2 max pool that carries the stage stride.
    """
    nodes: list[dict[str, Any]] = []

    def paths(depth_columns: int, source: int) -> list[dict[str, Any]]:
        """The ops that end the paths of f_C(source), still to be joined."""
        if depth_columns == 1:
            return [_conv(source)]
        nodes.append(node(*paths(depth_columns - 1, source), combine="mean"))
        middle = len(nodes)  # state index of that join (state 0 is the cell input)
        return paths(depth_columns - 1, middle) + [_conv(source)]

    nodes.append(node(*paths(columns, 0), combine="mean"))
    # NOTE: Fig. 1 pools after the block's last join (used here); the authors' Caffe
    # generator pools each column and then joins. Both give the same parameters.
    nodes.append(node(edge("max_pool", len(nodes), k=2, padding=0, reduce=True), combine="mean"))
    return cell(nodes)


def fractalnet(name: str, columns: int = 4, filters: tuple[int, ...] = CIFAR_FILTERS) -> dict[str, Any]:
    """The CIFAR FractalNet (Sec. 4): B = len(filters) blocks of ``columns`` columns, so
    B·2^(C-1) convolutional layers on the deepest path, 32×32 inputs pooled to 1×1, and a
    linear classifier."""
    stages = [stage(fractal_block(columns), width=width, stride=2, name=f"block{index + 1}")
              for index, width in enumerate(filters)]
    return network(name, stages, head_spec=head("avg"), input_size=32, num_classes=10)


# NOTE: the paper's Table 1 gives 38.6M parameters for the 20-layer (C=3) net and 22.9M for
# the 40-layer one, but the layout it describes (and the authors' Caffe generator,
# github.com/gustavla/fractalnet) gives 33.7M and 76.1M. The 33.7M count is what PyTorch
# reimplementations report too (khanrc/pt.fractalnet's notes, which reach 38.9M only by adding
# a 1×1 convolution that doubles the maps at each block's entry); no layout reproducing
# 22.9M for 40 layers is documented, so the 40-layer net carries no checkable count.
REIMPLEMENTATION_C3 = Figures("khanrc/pt.fractalnet notes: 33.7M for the 20-layer C=3 net "
                              "(the paper's Table 1 says 38.6M; see the NOTE)",
                              params=33_700_000, params_tolerance=0.005)


def entries() -> list[ZooEntry]:
    return [ZooEntry(
        "fractalnet", "fractalnet", FRACTALNET_PAPER,
        {"c4": partial(fractalnet, "fractalnet", 4), "c3": partial(fractalnet, "fractalnet", 3)},
        {"c3": (REIMPLEMENTATION_C3,)},
        notes="c4: 40 layers (B=5, C=4), 76.1M params here vs 22.9M in Table 1; c3: 20 layers, "
              "33.7M here vs 38.6M in Table 1 (the described layout does not give the paper's counts)",
    )]
