"""Two fixed reference classifiers for benchmarks and tests, written by hand.

They stand in for networks of the genotype builder where a benchmark needs a known,
stable workload; searches build their networks from genotypes, never from here.
"""
from __future__ import annotations

from torch import Tensor, nn


class BasicBlock(nn.Module):
    """Two 3×3 conv-bn layers and a shortcut (He et al., "Deep Residual Learning", 2016)."""

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False),
            nn.BatchNorm2d(out_channels),
        )
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            # NOTE: projection shortcut (option B of the paper) rather than zero-padding (A).
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        return self.relu(self.body(x) + self.shortcut(x))


class SmallResNet(nn.Module):
    """The CIFAR ResNet of He et al. 2016 (§4.2): a 3×3 stem, three stages of widths
    ``width``, ``2*width``, ``4*width`` at strides 1, 2, 2, global average pooling and a
    linear head. ``blocks=1`` is ResNet-8, ``blocks=3`` ResNet-20.
    """

    def __init__(self, num_classes: int = 10, in_channels: int = 3, width: int = 16,
                 blocks: int = 1) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, width, 3, 1, 1, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(inplace=True),
        )
        layers: list[nn.Module] = []
        channels = width
        for stage, stride in enumerate((1, 2, 2)):
            out_channels = width * 2 ** stage
            for block in range(blocks):
                layers.append(BasicBlock(channels, out_channels, stride if block == 0 else 1))
                channels = out_channels
        self.stages = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                                  nn.Linear(channels, num_classes))

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.stages(self.stem(x)))


class ConvGroup(nn.Module):
    """conv → 2×2 max-pool → bn → GELU → conv → bn → GELU: one block of the airbench net."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
            nn.MaxPool2d(2),
            nn.BatchNorm2d(out_channels),
            nn.GELU(),
            nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.GELU(),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.layers(x)


class AirbenchNet(nn.Module):
    """An 8-layer net in the style of Jordan's airbench ("94% on CIFAR-10 in 3.29 Seconds on
    a Single GPU", 2024, arXiv:2404.00498): a conv stem, three conv groups, global max
    pooling and a linear head whose output is scaled down.

    NOTE: the stem is a plain 3×3 conv-bn-GELU instead of the fixed patch-whitening conv,
    batch norm keeps PyTorch's defaults, and pooling is adaptive so that any input size
    works.
    """

    def __init__(self, num_classes: int = 10, in_channels: int = 3,
                 widths: tuple[int, int, int, int] = (24, 64, 256, 256),
                 logit_scale: float = 1 / 9) -> None:
        super().__init__()
        stem_width, *group_widths = widths
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, stem_width, 3, padding=1, bias=False),
            nn.BatchNorm2d(stem_width),
            nn.GELU(),
        )
        groups, channels = [], stem_width
        for width in group_widths:
            groups.append(ConvGroup(channels, width))
            channels = width
        self.groups = nn.Sequential(*groups)
        self.pool = nn.Sequential(nn.AdaptiveMaxPool2d(1), nn.Flatten())
        self.head = nn.Linear(channels, num_classes, bias=False)
        self.logit_scale = logit_scale

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.pool(self.groups(self.stem(x)))) * self.logit_scale


REFERENCE_NETS = ("resnet", "airbench")


def reference_net(name: str, num_classes: int, in_channels: int,
                  width_scale: float = 1.0) -> nn.Module:
    """``resnet`` (SmallResNet, width 16) or ``airbench`` (AirbenchNet), widths scaled."""
    if name == "resnet":
        return SmallResNet(num_classes, in_channels, width=max(1, round(16 * width_scale)))
    if name == "airbench":
        widths = tuple(max(1, round(w * width_scale)) for w in (24, 64, 256, 256))
        return AirbenchNet(num_classes, in_channels, widths=widths)
    raise KeyError(f"reference net {name!r} is not one of {', '.join(REFERENCE_NETS)}")
