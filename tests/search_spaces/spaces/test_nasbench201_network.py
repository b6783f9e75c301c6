"""NAS-Bench-201's network as our builder makes it: NB201's parameter counts, its tensor
order, and its outputs against an independent formulation of the paper's network (and
against the authors' xautodl code where that is installed)."""
from __future__ import annotations

import random

import pytest
import torch
from torch import nn

from nasbench.networks.weights import load_weights
from search_spaces.build import build_network
from search_spaces.spaces.nasbench201 import NasBench201Space, parse_arch

BEST_CELL = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"


def our_network(point: str, num_classes: int = 10, input_size: int = 32) -> nn.Module:
    genotype = NasBench201Space().network(point, num_classes=num_classes, input_size=input_size)
    return build_network(genotype.to_dict())


def relu_conv_bn(c_in: int, c_out: int, k: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.ReLU(), nn.Conv2d(c_in, c_out, k, stride, k // 2, bias=False), nn.BatchNorm2d(c_out))


class ReferenceCell(nn.Module):
    """Node j sums op(i -> j) over i < j; the cell's output is node 3 (paper, Sec. 2.1)."""

    def __init__(self, point: str, channels: int):
        super().__init__()
        self.edges = parse_arch(point)
        makers = {"nor_conv_3x3": lambda: relu_conv_bn(channels, channels, 3),
                  "nor_conv_1x1": lambda: relu_conv_bn(channels, channels, 1),
                  "avg_pool_3x3": lambda: nn.AvgPool2d(3, 1, 1, count_include_pad=False),
                  "skip_connect": nn.Identity, "none": nn.Identity}
        self.ops = nn.ModuleList(makers[op]() for _, _, op in self.edges)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nodes = [x, 0, 0, 0]
        for (source, target, op), module in zip(self.edges, self.ops):
            nodes[target] = nodes[target] + (module(nodes[source]) * (0.0 if op == "none" else 1.0))
        return nodes[3]


class ReferenceReduction(nn.Module):
    """The residual block between stages: two ReLU-conv-BN 3x3 (the first at stride 2),
    shortcut 2x2 average pooling then a bias-free 1x1 conv."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.conv_a = relu_conv_bn(c_in, c_out, 3, 2)
        self.conv_b = relu_conv_bn(c_out, c_out, 3)
        self.shortcut = nn.Sequential(nn.AvgPool2d(2, 2), nn.Conv2d(c_in, c_out, 1, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv_b(self.conv_a(x)) + self.shortcut(x)


def reference_network(point: str, num_classes: int, cells: int = 5, channels: int = 16) -> nn.Sequential:
    """The paper's Fig. 1 skeleton, written independently of our builder."""
    layers: list[nn.Module] = [nn.Conv2d(3, channels, 3, 1, 1, bias=False), nn.BatchNorm2d(channels)]
    for stage in range(3):
        width = channels * 2 ** stage
        if stage:
            layers.append(ReferenceReduction(width // 2, width))
        layers += [ReferenceCell(point, width) for _ in range(cells)]
    width = channels * 4
    layers += [nn.BatchNorm2d(width), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(width, num_classes)]
    return nn.Sequential(*layers)


def randomise_batch_norms(network: nn.Module, seed: int) -> None:
    """Non-trivial running statistics and affine parameters, so that eval mode tests them."""
    generator = torch.Generator().manual_seed(seed)
    for module in network.modules():
        if isinstance(module, nn.BatchNorm2d):
            for tensor, low, high in ((module.running_mean, -0.5, 0.5), (module.running_var, 0.5, 2.0),
                                      (module.weight.data, 0.5, 1.5), (module.bias.data, -0.5, 0.5)):
                tensor.copy_(torch.rand(tensor.shape, generator=generator) * (high - low) + low)


def test_best_cell_has_nb201s_parameter_count():
    assert sum(p.numel() for p in our_network(BEST_CELL).parameters()) == 1_073_466


def test_the_reduction_shortcut_is_a_bias_free_1x1_conv():
    shortcut_convs = [m for m in our_network(BEST_CELL).modules()
                      if isinstance(m, nn.Conv2d) and m.kernel_size == (1, 1) and m.in_channels != m.out_channels]
    assert len(shortcut_convs) == 2 and all(conv.bias is None for conv in shortcut_convs)


@pytest.mark.parametrize("point, num_classes, input_size", [
    (BEST_CELL, 10, 32),
    ("|avg_pool_3x3~0|+|none~0|skip_connect~1|+|nor_conv_1x1~0|none~1|avg_pool_3x3~2|", 120, 16),
])
def test_outputs_equal_an_independent_formulation_with_the_same_weights(point, num_classes, input_size):
    torch.manual_seed(0)
    reference = reference_network(point, num_classes)
    randomise_batch_norms(reference, seed=1)
    ours = our_network(point, num_classes, input_size)
    load_weights(ours, reference.state_dict())  # by order: the two register their tensors alike
    images = torch.randn(2, 3, input_size, input_size, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        assert torch.allclose(ours.eval()(images), reference.eval()(images), atol=1e-6, rtol=0)


def test_an_xautodl_tiny_network_checkpoint_loads_and_computes_the_same():
    """The authors' code (``pip install --no-deps xautodl``); skipped where it is absent."""
    pytest.importorskip("xautodl")
    from xautodl.models.cell_infers.tiny_network import TinyNetwork
    from xautodl.models.cell_searchs.genotypes import Structure

    space = NasBench201Space()
    rng = random.Random(0)
    for point in [BEST_CELL] + [space.sample(rng) for _ in range(3)]:
        torch.manual_seed(0)
        reference = TinyNetwork(16, 5, Structure.str2structure(point), 10)
        randomise_batch_norms(reference, seed=1)
        ours = our_network(point)
        assert sum(p.numel() for p in ours.parameters()) == sum(p.numel() for p in reference.parameters())
        load_weights(ours, reference.state_dict())
        images = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(2))
        with torch.no_grad():
            _, logits = reference.eval()(images)
            assert torch.allclose(ours.eval()(images), logits, atol=1e-6, rtol=0), point
