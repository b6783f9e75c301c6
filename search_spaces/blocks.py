"""The documented blocks as cells: residual, bottleneck (grouped, SE), pre-activation,
dense, transition, inception branches, depthwise-separable. Zoo entries and the
``blocks`` search space are built from these, so a classic net is a point of the space.
Widths are fractions of the stage width so that one cell serves every stage.
"""
from __future__ import annotations

from typing import Any, Sequence

from .dsl import cell, chain, edge, node


def basic_block(projection: str = "conv_bn", preact: bool = False, project: bool = False) -> dict[str, Any]:
    """Two 3×3 convolutions and a shortcut (He et al. 2016, "Deep Residual Learning for
    Image Recognition", https://arxiv.org/abs/1512.03385, Fig. 2). ``preact`` gives the
    pre-activation block of He et al. 2016b (https://arxiv.org/abs/1603.05027); see
    ``_preact`` for ``project``."""
    if preact:
        return _preact([edge("conv", 1, k=3, order="conv", reduce=True),
                        edge("conv", 2, k=3, order="bn_act_conv")], projection, project)
    return cell([
        node(edge("conv", 0, k=3, order="conv_bn_act")),
        node(edge("conv", 1, k=3, order="conv_bn"), edge("skip", 0, projection=projection)),
        node(edge("act", 2)),
    ])


def bottleneck(inner: float = 0.25, groups: int = 1, stride_in_1x1: bool = False, se_reduction: int | None = None,
               projection: str = "conv_bn", preact: bool = False, project: bool = False) -> dict[str, Any]:
    """1×1 reduce, 3×3 (grouped for ResNeXt), 1×1 expand, and a shortcut.

    ``inner`` is the 3×3 width as a fraction of the block's output width (0.25 in ResNet,
    0.5 in ResNeXt-50 32×4d and WRN-50-2). ``stride_in_1x1`` puts the stride in the first
    1×1 as the ResNet paper does; torchvision and timm put it in the 3×3 ("ResNet v1.5").
    ``se_reduction`` adds squeeze-and-excitation before the addition (Hu et al. 2018,
    https://arxiv.org/abs/1709.01507). ResNeXt: Xie et al. 2017, https://arxiv.org/abs/1611.05431.
    """
    if preact:
        return _preact([edge("conv", 1, width=inner, k=1, order="conv", reduce=stride_in_1x1),
                        edge("conv", 2, width=inner, k=3, groups=groups, order="bn_act_conv", reduce=not stride_in_1x1),
                        edge("conv", 3, k=1, order="bn_act_conv")], projection, project)
    nodes = [
        node(edge("conv", 0, width=inner, k=1, order="conv_bn_act", reduce=stride_in_1x1)),
        node(edge("conv", 1, width=inner, k=3, groups=groups, order="conv_bn_act", reduce=not stride_in_1x1)),
    ]
    expand = edge("conv", 2, k=1, order="conv_bn")
    if se_reduction is None:
        nodes.append(node(expand, edge("skip", 0, projection=projection)))
    else:
        nodes.append(node(expand))
        nodes.append(node(edge("se", 3, reduction=se_reduction), edge("skip", 0, projection=projection)))
    nodes.append(node(edge("act", len(nodes))))
    return cell(nodes)


def _preact(convs: Sequence[dict[str, Any]], projection: str, project: bool) -> dict[str, Any]:
    """Pre-activation: BN-ReLU first (state 1), then the convolutions. A projecting
    block's shortcut reads the pre-activated input; otherwise the shortcut is the identity
    on the block input (He et al. 2016b, Fig. 4e). A stage uses ``project=True`` for its
    first cell when its width or resolution changes."""
    shortcut = edge("skip", 1, projection=projection, reduce=True) if project else edge("identity", 0)
    nodes = [node(edge("bn", 0, reduce=False))]
    nodes += [node(conv) for conv in convs[:-1]]
    nodes.append(node(convs[-1], shortcut))
    return cell(nodes)


def dense_layer(bottleneck_width: int = 4, dropout: float = 0.0) -> dict[str, Any]:
    """BN-ReLU-1×1 conv (4k) - BN-ReLU-3×3 conv (k), concatenated to the input
    (Huang et al. 2017, "Densely Connected Convolutional Networks", https://arxiv.org/abs/1608.06993).
    The stage width is the growth rate k."""
    # The input is concatenated to the output, so the layer cannot carry a stride.
    nodes = [node(edge("conv", 0, width=bottleneck_width, k=1, order="bn_act_conv", reduce=False))]
    nodes.append(node(edge("conv", 1, k=3, order="bn_act_conv")))
    if dropout:
        nodes.append(node(edge("dropout", 2, p=dropout)))
    return cell(nodes, output=[0, len(nodes)])


def transition() -> dict[str, Any]:
    """DenseNet transition: BN-ReLU-1×1 conv to the stage width, then 2×2 average pooling."""
    return cell([node(edge("conv", 0, k=1, order="bn_act_conv", reduce=False)),
                 node(edge("avg_pool", 1, k=2, padding=0, count_include_pad=True, reduce=True))])


def branches(*paths: Sequence[dict[str, Any]], inputs: int = 1) -> dict[str, Any]:
    """Parallel paths from the cell input, concatenated (Inception modules, Szegedy et al.
    2015, https://arxiv.org/abs/1409.4842). Each path is a list of ``edge(op, 0, ...)``;
    the first op of a path carries the stage stride unless another one says ``reduce=True``."""
    nodes: list[dict[str, Any]] = []
    ends: list[int] = []
    for path in paths:
        reducer = next((i for i, op in enumerate(path) if op.get("reduce")), 0)
        source = 0
        for index, op in enumerate(path):
            nodes.append(node({**op, "input": source, "reduce": index == reducer}))
            source = inputs + len(nodes) - 1
        ends.append(source)
    return cell(nodes, output=ends, inputs=inputs)


def depthwise_separable(width_ratio: float = 1.0) -> dict[str, Any]:
    """MobileNet's 3×3 depthwise conv-BN-ReLU then 1×1 pointwise conv-BN-ReLU
    (Howard et al. 2017, https://arxiv.org/abs/1704.04861, Fig. 3)."""
    return cell([
        node(edge("dw_conv", 0, k=3, order="conv_bn_act")),
        node(edge("conv", 1, k=1, order="conv_bn_act", width=width_ratio)),
    ])


def plain_convs(count: int, k: int = 3, order: str = "conv_bn_act", pool: str | None = "max_pool",
                one_by_one_last: bool = False, bias: bool | None = None) -> dict[str, Any]:
    """``count`` k×k convolutions and a closing 2×2 pooling that carries the stride (VGG,
    Simonyan & Zisserman 2015, https://arxiv.org/abs/1409.1556); ``one_by_one_last`` makes
    the last convolution 1×1 (VGG configuration C). ``bias``: the conv op's default (a
    bias only without BN) unless given; torchvision's vgg*_bn keep it before their BN."""
    extra = {} if bias is None else {"bias": bias}
    nodes = []
    for index in range(count):
        kernel = 1 if one_by_one_last and index == count - 1 else k
        nodes.append(node(edge("conv", index, k=kernel, order=order, reduce=False, **extra)))
    if pool:
        nodes.append(node(edge(pool, count, k=2, padding=0, reduce=True)))
    return cell(nodes)


def separable_residual(first_channels: int | None = None) -> dict[str, Any]:
    """Two ReLU-separable conv-BN units and a 3×3/2 max pool, plus a 1×1/2 conv-BN shortcut
    (Xception, Chollet 2017, https://arxiv.org/abs/1610.02357, Fig. 5, entry and exit flows). The shortcut comes first, as Keras and timm register
    it; ``first_channels`` sets the first separable convolution's width (728 in the exit
    flow's block; the stage width otherwise)."""
    return cell([
        node(edge("skip", 0, projection="conv_bn", reduce=True)),
        node(edge("sep_conv", 0, channels=first_channels, order="act_sep_bn", reduce=False)),
        node(edge("sep_conv", 2, order="act_sep_bn")),
        node(edge("max_pool", 3, k=3, padding=1, reduce=True)),
        node(edge("identity", 4), edge("identity", 1)),
    ])


def separable_middle() -> dict[str, Any]:
    """Three ReLU-separable conv-BN units and a shortcut: the identity in Xception (Fig. 5,
    middle flow), a 1×1 projection where the widths differ."""
    return cell([
        node(edge("sep_conv", 0, order="act_sep_bn", reduce=False)),
        node(edge("sep_conv", 1, order="act_sep_bn")),
        node(edge("sep_conv", 2, order="act_sep_bn"), edge("skip", 0, reduce=False)),
    ])


def separable_exit() -> dict[str, Any]:
    """Separable conv-BN-ReLU at 3/4 of the stage width (1536 of 2048), then at the stage
    width, no shortcut (Fig. 5, the end of the exit flow)."""
    return chain(edge("sep_conv", 0, width=0.75, order="sep_bn_act"), edge("sep_conv", 0, order="sep_bn_act"))
