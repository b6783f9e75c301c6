"""DenseNet, Xception, MobileNet v1 and FractalNet in the zoo: every variant builds and runs
once at its native size with an odd number of classes, matches its recorded figures
(torchvision's DenseNet counts exactly), and FractalNet trains with local drop-path."""
from __future__ import annotations

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from search_spaces.build import build_network
from search_spaces.genotype import NetworkGenotype
from search_spaces.zoo import zoo
from search_spaces.zoo.fractalnet import fractal_block, fractalnet

NUM_CLASSES = 7
NAMES = ("densenet121", "densenet169", "densenet201", "densenet264", "xception", "mobilenet_v1", "fractalnet")
CASES = [(name, variant) for name in NAMES for variant in zoo()[name].variants]

TORCHVISION_COUNTS = {"densenet121": 7_978_856, "densenet169": 14_149_480, "densenet201": 20_013_928}


def _genotype(name: str, variant: str | None = None) -> NetworkGenotype:
    return NetworkGenotype.from_dict(zoo()[name].genotype(variant))


def _params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def _on_meta(name: str, variant: str, count_macs: bool = True):
    """Parameter count and multiply-adds from shapes alone, without allocating weights."""
    genotype = _genotype(name, variant)
    with torch.device("meta"):
        net = build_network(genotype.to_dict()).eval()
        if not count_macs:
            return net, None
        with FlopCounterMode(display=False) as counter:
            net(torch.zeros(1, genotype.input_channels, *genotype.input_size))
    return net, counter.get_total_flops() / 2


@pytest.mark.parametrize("name", sorted(TORCHVISION_COUNTS))
def test_densenet_counts_equal_torchvision(name):
    net, _ = _on_meta(name, "paper", count_macs=False)
    assert _params(net) == TORCHVISION_COUNTS[name]


def test_xception_and_mobilenet_exact_counts():
    assert _params(_on_meta("xception", "paper", count_macs=False)[0]) == 22_855_952
    assert _params(_on_meta("mobilenet_v1", "1.0", count_macs=False)[0]) == 4_231_976


@pytest.mark.parametrize("columns, joins", [(2, [2]), (3, [2, 3]), (4, [2, 3, 2, 4])])
def test_fractal_joins_merge_every_column_ending_at_a_depth(columns, joins):
    """Fig. 1: 2^C - 1 convolutions, the deepest path 2^(C-1) long, and one join per depth
    where columns end together, taking all of them."""
    block = fractal_block(columns)
    edges = [edge for node in block["nodes"] for edge in node["edges"]]
    assert sum(edge["op"] == "conv" for edge in edges) == 2 ** columns - 1
    assert [len(node["edges"]) for node in block["nodes"] if len(node["edges"]) > 1] == joins
    depth = [0]  # convolutions on the deepest path to each state
    for node in block["nodes"]:
        depth.append(max(depth[edge["input"]] + (edge["op"] == "conv") for edge in node["edges"]))
    assert depth[-1] == 2 ** (columns - 1)


@pytest.mark.parametrize("drop", [0.15, 1.0])
def test_local_drop_path_keeps_a_path_at_every_join(drop):
    """At drop 1 every join keeps exactly one path and no lone path is dropped, so the
    output stays finite and gradients flow."""
    torch.manual_seed(0)
    net = build_network(fractalnet("fractalnet", columns=3, filters=(8, 16, 16, 16, 16)), num_classes=NUM_CLASSES)
    net.train()
    net.set_drop_path(drop)
    logits = net(torch.randn(4, 3, 32, 32))
    assert logits.shape == (4, NUM_CLASSES) and torch.isfinite(logits).all()
    logits.sum().backward()
    assert all(torch.isfinite(p.grad).all() for p in net.parameters() if p.grad is not None)


def test_fractalnet_runs_in_training_with_drop_path():
    torch.manual_seed(0)
    genotype = _genotype("fractalnet")
    net = build_network(genotype.to_dict(), num_classes=NUM_CLASSES).train()
    net.set_drop_path(0.15)
    with torch.no_grad():
        logits = net(torch.randn(2, genotype.input_channels, *genotype.input_size))
    assert logits.shape == (2, NUM_CLASSES) and torch.isfinite(logits).all()
