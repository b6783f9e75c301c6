"""Network in Network (Lin et al. 2014, https://arxiv.org/abs/1312.4400): each "mlpconv"
layer is a k×k convolution followed by two 1×1 convolutions (a small MLP shared across
positions); the last one produces one map per class, and global average pooling replaces
the fully connected classifier (Sec. 3.2).
"""
from __future__ import annotations

from functools import partial
from typing import Any

from ..dsl import chain, edge, head, layer, network, stage
from .registry import ZooEntry

NIN_PAPER = "Network In Network (Lin et al. 2014), https://arxiv.org/abs/1312.4400"

# NOTE: the paper's models were released as Caffe definitions, whose pooling rounds up;
# ceil_mode reproduces their map sizes (ImageNet: 54, 27, 13, 6; CIFAR: 32, 16, 8).
POOL = {"k": 3, "padding": 0, "ceil_mode": True}


def mlpconv(k: int, widths: tuple[int | str, int | str, int | str]) -> list[dict[str, Any]]:
    """A k×k convolution and two 1×1 convolutions, each followed by ReLU.

    NOTE: the released models keep a ReLU after the last 1×1 convolution, the one that
    produces the class maps, so the pooled scores are non-negative; so does this one."""
    return [edge("conv", 0, channels=widths[0], k=k, order="conv_act"),
            edge("conv", 0, channels=widths[1], k=1, order="conv_act"),
            edge("conv", 0, channels=widths[2], k=1, order="conv_act")]


def nin_imagenet(name: str) -> dict[str, Any]:
    """The ImageNet NiN of the authors' released model (the paper reports CIFAR, SVHN and
    MNIST only): mlpconv 96@11×11/4, 256@5×5, 384@3×3 and 1024@3×3, each with two 1×1
    layers, max pooling 3×3/2 after the first three, dropout before the last, whose final
    1×1 layer gives the class maps."""
    stem = [layer("conv", 96, stride=4, k=11, padding=0, order="conv_act"),
            layer("conv", 96, k=1, order="conv_act"),
            layer("conv", 96, k=1, order="conv_act"),
            layer("max_pool", stride=2, **POOL)]
    stages = [
        stage(chain(*mlpconv(5, (256, 256, 256)), edge("max_pool", 0, **POOL), reduce_at=3),
              width=256, stride=2, name="mlpconv2"),
        stage(chain(*mlpconv(3, (384, 384, 384)), edge("max_pool", 0, **POOL), reduce_at=3),
              width=384, stride=2, name="mlpconv3"),
        stage(chain(edge("dropout", 0, p=0.5), *mlpconv(3, (1024, 1024, "classes"))), width=1024, name="mlpconv4"),
    ]
    return network(name, stages, stem=stem, head_spec=head("avg", classifier=False))


def nin_cifar(name: str) -> dict[str, Any]:
    """The CIFAR-10 NiN (Sec. 4.2, the authors' released definition): three mlpconv layers
    (192@5×5, 160, 96; 192@5×5, 192, 192; 192@3×3, 192, 10), 3×3/2 max then average pooling
    after the first two, each followed by dropout 0.5."""
    stages = [
        stage(chain(*mlpconv(5, (192, 160, 96)), edge("max_pool", 0, **POOL), edge("dropout", 0, p=0.5),
                    reduce_at=3), width=192, stride=2, name="mlpconv1"),
        stage(chain(*mlpconv(5, (192, 192, 192)), edge("avg_pool", 0, **POOL), edge("dropout", 0, p=0.5),
                    reduce_at=3), width=192, stride=2, name="mlpconv2"),
        stage(chain(*mlpconv(3, (192, 192, "classes"))), width=192, name="mlpconv3"),
    ]
    return network(name, stages, head_spec=head("avg", classifier=False), input_size=32, num_classes=10)


def entries() -> list[ZooEntry]:
    # The paper gives no parameter or operation counts; none are registered.
    return [ZooEntry("nin", "nin", NIN_PAPER,
                     {"imagenet": partial(nin_imagenet, "nin"), "cifar": partial(nin_cifar, "nin")},
                     {}, notes="imagenet: the released ImageNet model; cifar: the paper's CIFAR-10 model")]
