"""The NAS-Bench-201 network around a cell (Dong & Yang 2020, "NAS-Bench-201: Extending the
Scope of Reproducible Neural Architecture Search", https://arxiv.org/abs/2001.00326, Fig. 1):
a 3×3 conv stem, three stages of N cells at C, 2C, 4C channels joined by residual
reduction blocks, BN-ReLU, global pooling and a linear classifier (N=5, C=16 in the paper)."""
from __future__ import annotations

from typing import Any, Sequence

from ..dsl import cell, edge, head, layer, network, node, stage

# NAS-Bench-201's ops in our catalog: ReLU-Conv-BN convolutions, 3×3 average pooling,
# the identity, and zero.
OP_EDGES = {
    "nor_conv_1x1": lambda source: edge("conv", source, k=1, order="act_conv_bn"),
    "nor_conv_3x3": lambda source: edge("conv", source, k=3, order="act_conv_bn"),
    "avg_pool_3x3": lambda source: edge("avg_pool", source, k=3),
    "skip_connect": lambda source: edge("identity", source),
    "none": lambda source: edge("zero", source),
}


def nasbench201_cell(edges: Sequence[tuple[int, int, str]]) -> dict[str, Any]:
    """The cell of a NAS-Bench-201 cell's ``(source, target, op)`` edges
    (``nasbench201.parse_arch``): node j sums op(i→j) over i < j; output node 3."""
    incoming: dict[int, list[dict[str, Any]]] = {1: [], 2: [], 3: []}
    for source, target, op in edges:
        incoming[target].append(OP_EDGES[op](source))
    return cell([node(*incoming[target]) for target in (1, 2, 3)])


def residual_reduction() -> dict[str, Any]:
    """NAS-Bench-201's reduction block (its ``ResNetBasicblock`` at stride 2): two
    ReLU-conv-BN 3×3 convs on the main path; the shortcut is 2×2 average pooling then a
    1×1 conv without bias and without BN.

    Nodes are listed in the reference code's registration order (conv a, conv b, then the
    shortcut), so the state_dict lists its tensors in the order of an NB201 (xautodl)
    ``TinyNetwork`` checkpoint and ``nasbench.networks.weights.load_weights`` pairs them exactly.
    """
    return cell([
        node(edge("conv", 0, k=3, order="act_conv_bn")),
        node(edge("conv", 1, k=3, order="act_conv_bn", reduce=False)),
        node(edge("avg_pool", 0, k=2, padding=0, count_include_pad=True)),
        node(edge("conv", 3, k=1, order="conv", bias=False, reduce=False), edge("identity", 2, reduce=False)),
    ])


def nasbench201_network(edges: Sequence[tuple[int, int, str]], name: str, cells_per_stage: int = 5,
                        filters: int = 16, num_classes: int = 10, input_size: int = 32,
                        input_channels: int = 3) -> dict[str, Any]:
    """The NAS-Bench-201 network genotype (plain dict) around the cell of ``edges``
    (``nasbench201.parse_arch``), named ``name``."""
    body = nasbench201_cell(edges)
    stages = [stage(body, cells_per_stage, width=filters, name="cells1"),
              stage(residual_reduction(), width=2 * filters, stride=2, name="reduce1"),
              stage(body, cells_per_stage, width=2 * filters, name="cells2"),
              stage(residual_reduction(), width=4 * filters, stride=2, name="reduce2"),
              stage(body, cells_per_stage, width=4 * filters, name="cells3"),
              stage(cell([node(edge("bn", 0, reduce=False))]), name="lastact")]
    return network(name, stages, stem=[layer("conv", filters, k=3, order="conv_bn")],
                   head_spec=head("avg"), input_size=input_size, input_channels=input_channels,
                   num_classes=num_classes)
