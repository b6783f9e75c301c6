"""The plain-CNN families of the zoo (LeNet-5, AlexNet, ZFNet, VGG, NiN): every variant
builds, runs once at its native size with an odd number of classes, and matches its
recorded figures; torchvision's parameter counts exactly, in torchvision's order."""
from __future__ import annotations

import torch
from torch.utils.flop_counter import FlopCounterMode

from search_spaces.build import build_network
from search_spaces.genotype import NetworkGenotype
from search_spaces.zoo import zoo

NUM_CLASSES = 7
NAMES = ("lenet5", "alexnet", "zfnet", "vgg11", "vgg11_lrn", "vgg13", "vgg16_c", "vgg16", "vgg19", "nin")
CASES = [(name, variant) for name in NAMES for variant in zoo()[name].variants]

# torchvision.models: (entry, variant) -> num_params
TORCHVISION_COUNTS = {
    ("alexnet", "torchvision"): 61_100_840,
    ("vgg11", "paper"): 132_863_336, ("vgg11", "bn"): 132_868_840,
    ("vgg13", "paper"): 133_047_848, ("vgg13", "bn"): 133_053_736,
    ("vgg16", "paper"): 138_357_544, ("vgg16", "bn"): 138_365_992,
    ("vgg19", "paper"): 143_667_240, ("vgg19", "bn"): 143_678_248,
}


def _genotype(name: str, variant: str) -> NetworkGenotype:
    return NetworkGenotype.from_dict(zoo()[name].genotype(variant))


def _params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def _on_meta(name: str, variant: str):
    """Built without allocating weights: parameter counts and multiply-adds come from
    shapes alone, so the 140M-parameter VGGs cost nothing here."""
    genotype = _genotype(name, variant)
    with torch.device("meta"):
        net = build_network(genotype.to_dict()).eval()
        with FlopCounterMode(display=False) as counter:
            net(torch.zeros(1, genotype.input_channels, *genotype.input_size))
    return net, counter.get_total_flops() / 2


def test_lenet5_paper_layers():
    """Table I's C3 has 1,516 parameters; trainable S2 and S4 have 12 and 32."""
    net, _ = _on_meta("lenet5", "paper")
    c1_s2, c3_s4 = net.stages[0][0], net.stages[1][0]
    assert _params(c3_s4.nodes[0]) == 1_516
    assert (_params(c1_s2.nodes[1]), _params(c3_s4.nodes[1])) == (12, 32)
    default, _ = _on_meta("lenet5", "default")
    assert _params(default.stages[1][0].nodes[0]) == 16 * (6 * 25 + 1)
    assert _params(default.stages[0][0].nodes[1]) == 0


def test_alexnet_two_gpu_groups():
    """conv2, conv4 and conv5 read half of their input maps; conv3 reads all of them."""
    net, _ = _on_meta("alexnet", "two_gpu")
    weights = [tuple(p.shape) for p in net.parameters() if p.dim() == 4]
    assert weights == [(96, 3, 11, 11), (256, 48, 5, 5), (384, 256, 3, 3), (384, 192, 3, 3), (256, 192, 3, 3)]


def test_parameter_order_follows_torchvision():
    """Positional loading of torchvision state dicts: conv (weight, bias) then BN per layer
    in the features, then the classifier's three Linear layers."""
    vgg, _ = _on_meta("vgg11", "bn")
    shapes = [tuple(t.shape) for t in vgg.state_dict().values()]
    assert shapes[:7] == [(64, 3, 3, 3), (64,), (64,), (64,), (64,), (64,), ()]
    assert shapes[-6:] == [(4096, 25088), (4096,), (4096, 4096), (4096,), (1000, 4096), (1000,)]
    alexnet, _ = _on_meta("alexnet", "torchvision")
    weights = [tuple(p.shape) for p in alexnet.parameters() if p.dim() > 1]
    assert weights == [(64, 3, 11, 11), (192, 64, 5, 5), (384, 192, 3, 3), (256, 384, 3, 3), (256, 256, 3, 3),
                       (4096, 9216), (4096, 4096), (1000, 4096)]
    layers = [type(m).__name__ for m in alexnet.head.layers]
    assert layers == ["Dropout", "Linear", "ReLU", "Dropout", "Linear", "ReLU", "Linear"]


def test_nin_has_no_fully_connected_layer():
    for variant, classes_conv in (("imagenet", (NUM_CLASSES, 1024, 1, 1)), ("cifar", (NUM_CLASSES, 192, 1, 1))):
        net = build_network(zoo()["nin"].genotype(variant), num_classes=NUM_CLASSES)
        assert not any(isinstance(m, torch.nn.Linear) for m in net.modules())
        assert tuple([p for p in net.parameters() if p.dim() == 4][-1].shape) == classes_conv
