"""The op catalog: every operation a genotype may name, one constructor signature.

Each op is built as ``constructor(C_in, C_out, stride, **params)`` (DARTS' ``OPS`` table,
Liu et al. 2019, https://arxiv.org/abs/1806.09055, with parameters instead of one name
per kernel size). This file imports torch alone: ``nasbench.rebuild --export net.py``
copies it verbatim into a standalone source file.
"""
from __future__ import annotations

import inspect
import math
from collections import OrderedDict
from types import MappingProxyType
from typing import Callable, Mapping, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from .errors import NasError


class OpError(NasError, ValueError):
    """An op is unknown, got a parameter it does not take, or cannot map C_in to C_out."""


ACTIVATIONS: Mapping[str, Callable[[], nn.Module]] = MappingProxyType({
    "relu": lambda: nn.ReLU(inplace=False),
    "relu6": lambda: nn.ReLU6(inplace=False),
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "gelu": nn.GELU,
    "none": nn.Identity,
})


def make_activation(name: str) -> nn.Module:
    if name not in ACTIVATIONS:
        raise OpError(f"act: {name!r} is not an activation; known: {', '.join(ACTIVATIONS)}")
    return ACTIVATIONS[name]()


def _pair(value: int | Sequence[int]) -> tuple[int, int]:
    if isinstance(value, int):
        return (value, value)
    if len(value) != 2:
        raise OpError(f"k: expected an int or [kh, kw], got {list(value)!r}")
    return (int(value[0]), int(value[1]))


def _same_padding(kernel: tuple[int, int], dilation: int) -> tuple[int, int]:
    return ((kernel[0] - 1) // 2 * dilation, (kernel[1] - 1) // 2 * dilation)


def _require_same_channels(name: str, C_in: int, C_out: int) -> None:
    if C_in != C_out:
        raise OpError(f"{name} keeps channels, but C_in={C_in} and C_out={C_out}")


class Chain(nn.Sequential):
    """A sequence of named layers; used where a paper writes 'conv-bn-relu' and the like."""

    def __init__(self, layers: Mapping[str, nn.Module]):
        super().__init__(OrderedDict(layers))


def _order_tokens(order: str) -> list[str]:
    tokens = order.split("_")
    allowed = {"conv", "bn", "relu", "act"}
    for token in tokens:
        if token not in allowed:
            raise OpError(f"order: {order!r} has {token!r}; use conv, bn and act joined by '_'")
    if tokens.count("conv") != 1:
        raise OpError(f"order: {order!r} must hold exactly one 'conv'")
    return tokens


def conv(C_in: int, C_out: int, stride: int, k: int | Sequence[int] = 3, groups: int | str = 1,
         dilation: int = 1, padding: int | Sequence[int] | None = None, bias: bool | None = None,
         order: str = "conv_bn_act", act: str = "relu", bn_eps: float = 1e-5) -> nn.Module:
    """k×k convolution with optional batch norm and activation in a given order.

    ``order`` spells the sequence: ``conv_bn_act`` (post-activation, He et al. 2016),
    ``bn_act_conv`` (pre-activation, "Identity Mappings in Deep Residual Networks",
    https://arxiv.org/abs/1603.05027), ``act_conv_bn`` (NASNet/DARTS ReLU-Conv-BN),
    ``conv_act`` (AlexNet, VGG), ``conv``. ``groups`` may be ``"depthwise"`` (MobileNet).
    """
    tokens = _order_tokens(order)
    kernel = _pair(k)
    n_groups = C_in if groups == "depthwise" else int(groups)
    if n_groups < 1 or C_in % n_groups or C_out % n_groups:
        raise OpError(f"groups: {groups!r} must divide C_in={C_in} and C_out={C_out}")
    pad = _same_padding(kernel, dilation) if padding is None else _pair(padding)
    use_bias = ("bn" not in tokens) if bias is None else bool(bias)
    layers: dict[str, nn.Module] = {}
    seen_conv = False
    for token in tokens:
        if token == "conv":
            layers["conv"] = nn.Conv2d(C_in, C_out, kernel, stride=stride, padding=pad,
                                       dilation=dilation, groups=n_groups, bias=use_bias)
            seen_conv = True
        elif token == "bn":
            layers["bn"] = nn.BatchNorm2d(C_out if seen_conv else C_in, eps=bn_eps)
        else:
            layers["act"] = make_activation(act)
    return Chain(layers)


def dw_conv(C_in: int, C_out: int, stride: int, k: int = 3, dilation: int = 1, order: str = "conv_bn_act",
            act: str = "relu", bn_eps: float = 1e-5) -> nn.Module:
    """Depthwise k×k convolution: one filter per map, channels kept (MobileNet, Howard et
    al. 2017, https://arxiv.org/abs/1704.04861)."""
    _require_same_channels("dw_conv", C_in, C_out)
    return conv(C_in, C_out, stride, k=k, groups=C_in, dilation=dilation, order=order, act=act, bn_eps=bn_eps)


class TableConv(nn.Module):
    """A convolution whose output maps each read a chosen subset of input maps.

    LeNet-5's C3 layer (LeCun et al. 1998, "Gradient-Based Learning Applied to Document
    Recognition", Table I): 16 maps over subsets of S2's 6 maps, 1,516 parameters.
    """

    def __init__(self, C_in: int, C_out: int, stride: int, k: int, connections: Sequence[Sequence[int]]):
        super().__init__()
        if len(connections) != C_out:
            raise OpError(f"connections: {len(connections)} rows for C_out={C_out}")
        for row in connections:
            if not row or any(not 0 <= i < C_in for i in row):
                raise OpError(f"connections: row {list(row)} must name input maps in 0..{C_in - 1}")
        for index, row in enumerate(connections):
            self.register_buffer(f"inputs{index}", torch.tensor(list(row), dtype=torch.long), persistent=False)
        self.maps = nn.ModuleList(nn.Conv2d(len(row), 1, k, stride=stride) for row in connections)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outputs = [conv_map(x.index_select(1, getattr(self, f"inputs{i}"))) for i, conv_map in enumerate(self.maps)]
        return torch.cat(outputs, dim=1)


def table_conv(C_in: int, C_out: int, stride: int, k: int = 5,
               connections: Sequence[Sequence[int]] = (), act: str = "none") -> nn.Module:
    """LeNet-5's partially connected convolution (see ``TableConv``), then an activation."""
    return Chain({"conv": TableConv(C_in, C_out, stride, k, connections), "act": make_activation(act)})


class SepConv(nn.Module):
    """Depthwise-separable convolution: depthwise k×k then pointwise 1×1.

    Xception (Chollet 2017, https://arxiv.org/abs/1610.02357) applies it once between
    ReLU and BN; NASNet and DARTS apply ReLU-sep-BN twice (``repeats=2``).
    """

    def __init__(self, C_in: int, C_out: int, stride: int, k: int = 3, dilation: int = 1, repeats: int = 1,
                 order: str = "act_sep_bn", act: str = "relu", bn_eps: float = 1e-5):
        super().__init__()
        allowed = {"act_sep_bn", "sep_bn_act", "sep_bn", "act_sep"}
        if order not in allowed:
            raise OpError(f"order: {order!r} is not one of {', '.join(sorted(allowed))}")
        units = []
        # NOTE: the middle width is C_in, as in DARTS' SepConv.
        for index in range(repeats):
            c_in = C_in
            c_out = C_out if index == repeats - 1 else C_in
            layers: dict[str, nn.Module] = {}
            for token in order.split("_"):
                if token == "act":
                    layers["act"] = make_activation(act)
                elif token == "sep":
                    pad = (k - 1) // 2 * dilation
                    layers["depthwise"] = nn.Conv2d(c_in, c_in, k, stride=stride if index == 0 else 1,
                                                    padding=pad, dilation=dilation, groups=c_in, bias=False)
                    layers["pointwise"] = nn.Conv2d(c_in, c_out, 1, bias=False)
                else:
                    layers["bn"] = nn.BatchNorm2d(c_out, eps=bn_eps)
            units.append(Chain(layers))  # type: ignore[arg-type]
        self.units = nn.Sequential(*units)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.units(x)


def sep_conv(C_in: int, C_out: int, stride: int, k: int = 3, dilation: int = 1, repeats: int = 1,
             order: str = "act_sep_bn", act: str = "relu", bn_eps: float = 1e-5) -> nn.Module:
    """Depthwise-separable convolution (see ``SepConv``)."""
    return SepConv(C_in, C_out, stride, k, dilation, repeats, order, act, bn_eps)


def fact_conv(C_in: int, C_out: int, stride: int, k: int = 7, act: str = "relu", bn_eps: float = 1e-5,
              bottleneck: int = 1) -> nn.Module:
    """Factorized 1×k then k×1 convolution, ReLU first and BN last (Szegedy et al. 2016,
    "Rethinking the Inception Architecture", https://arxiv.org/abs/1512.00567; NASNet's
    '1x7 then 7x1 convolution'). ``bottleneck`` > 1: AmoebaNet's release (tensorflow/tpu
    amoeba_net/network_utils.py) runs the pair at ``C_out // bottleneck`` maps between a
    ReLU-1×1 conv-BN in and one out, with BN-ReLU between the 1×k and the k×1."""
    pad = (k - 1) // 2
    inner = C_out // bottleneck if bottleneck > 1 else 0
    if inner < 1:
        return Chain({
            "act": make_activation(act),
            "conv_1xk": nn.Conv2d(C_in, C_in, (1, k), stride=(1, stride), padding=(0, pad), bias=False),
            "conv_kx1": nn.Conv2d(C_in, C_out, (k, 1), stride=(stride, 1), padding=(pad, 0), bias=False),
            "bn": nn.BatchNorm2d(C_out, eps=bn_eps),
        })
    return Chain({
        "reduce": conv(C_in, inner, 1, k=1, order="act_conv_bn", act=act, bn_eps=bn_eps),
        "conv_1xk": conv(inner, inner, (1, stride), k=(1, k), order="act_conv_bn", act=act, bn_eps=bn_eps),
        "conv_kx1": conv(inner, inner, (stride, 1), k=(k, 1), order="act_conv_bn", act=act, bn_eps=bn_eps),
        "expand": conv(inner, C_out, 1, k=1, order="act_conv_bn", act=act, bn_eps=bn_eps),
    })


class PoolScale(nn.Module):
    """LeNet-5's trainable subsampling: pooled sum times a learned coefficient plus a bias
    per map (LeCun et al. 1998, layer S2)."""

    def __init__(self, channels: int):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.weight.view(1, -1, 1, 1) + self.bias.view(1, -1, 1, 1)


def _pool(kind: str, C_in: int, C_out: int, stride: int, k: int, padding: int | None, ceil_mode: bool,
          count_include_pad: bool, trainable: bool, act: str) -> nn.Module:
    _require_same_channels(f"{kind}_pool", C_in, C_out)
    pad = (k - 1) // 2 if padding is None else padding
    if kind == "max":
        pool: nn.Module = nn.MaxPool2d(k, stride=stride, padding=pad, ceil_mode=ceil_mode)
    else:
        pool = nn.AvgPool2d(k, stride=stride, padding=pad, ceil_mode=ceil_mode, count_include_pad=count_include_pad)
    if not trainable and act == "none":
        return pool
    layers: dict[str, nn.Module] = {"pool": pool}
    if trainable:
        layers["scale"] = PoolScale(C_in)
    layers["act"] = make_activation(act)
    return Chain(layers)


def max_pool(C_in: int, C_out: int, stride: int, k: int = 3, padding: int | None = None,
             ceil_mode: bool = False, trainable: bool = False, act: str = "none") -> nn.Module:
    """k×k max pooling; ``k=3, padding=0`` with stride 2 is AlexNet's overlapping pooling."""
    return _pool("max", C_in, C_out, stride, k, padding, ceil_mode, True, trainable, act)


def avg_pool(C_in: int, C_out: int, stride: int, k: int = 3, padding: int | None = None,
             ceil_mode: bool = False, count_include_pad: bool = False, trainable: bool = False,
             act: str = "none") -> nn.Module:
    """k×k average pooling; ``trainable`` adds LeNet-5's per-map coefficient and bias."""
    return _pool("avg", C_in, C_out, stride, k, padding, ceil_mode, count_include_pad, trainable, act)


def adaptive_avg_pool(C_in: int, C_out: int, stride: int, size: int = 1) -> nn.Module:
    """Average pooling to a fixed ``size``×``size`` output, whatever the input resolution
    (torchvision's GoogLeNet auxiliary heads pool to 4×4 before their 1×1 conv)."""
    _require_same_channels("adaptive_avg_pool", C_in, C_out)
    if stride != 1:
        raise OpError("adaptive_avg_pool sets its output size; it takes no stride")
    return nn.AdaptiveAvgPool2d(size)


def identity(C_in: int, C_out: int, stride: int) -> nn.Module:
    """The identity; only where shapes already match."""
    _require_same_channels("identity", C_in, C_out)
    if stride != 1:
        raise OpError(f"identity cannot apply stride {stride}; use 'skip' to project")
    return nn.Identity()


class FactorizedReduce(nn.Module):
    """Halve the resolution with two offset stride-2 1×1 convolutions, concatenated
    (NASNet / DARTS ``FactorizedReduce``)."""

    def __init__(self, C_in: int, C_out: int, bn_eps: float = 1e-5):
        super().__init__()
        # NOTE: an odd C_out is split C//2 + (C - C//2); NASNet and DARTS assume even widths.
        self.act = nn.ReLU(inplace=False)
        self.conv_1 = nn.Conv2d(C_in, C_out // 2, 1, stride=2, bias=False)
        self.conv_2 = nn.Conv2d(C_in, C_out - C_out // 2, 1, stride=2, bias=False)
        self.bn = nn.BatchNorm2d(C_out, eps=bn_eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.act(x)
        shifted = F.pad(x[:, :, 1:, 1:], (0, 1, 0, 1))
        return self.bn(torch.cat([self.conv_1(x), self.conv_2(shifted)], dim=1))


class PadShortcut(nn.Module):
    """ResNet option A: subsample and zero-pad the channels, parameter-free
    (He et al. 2016, https://arxiv.org/abs/1512.03385, Sec. 4.2, CIFAR ResNets)."""

    def __init__(self, C_in: int, C_out: int, stride: int):
        super().__init__()
        if C_out < C_in:
            raise OpError(f"zero-padding shortcut cannot shrink channels {C_in} -> {C_out}")
        self.stride = stride
        self.extra = C_out - C_in

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride > 1:
            x = x[:, :, ::self.stride, ::self.stride]
        front = self.extra // 2
        return F.pad(x, (0, 0, 0, 0, front, self.extra - front))


def skip(C_in: int, C_out: int, stride: int, projection: str = "conv_bn", bn_eps: float = 1e-5) -> nn.Module:
    """A residual shortcut: the identity when shapes match, else a projection.

    ``projection``: ``conv_bn`` (1×1 conv + BN, ResNet option B), ``conv`` (1×1 conv alone,
    pre-activation ResNets), ``pad`` (option A), ``factorized`` (NASNet/DARTS reduction).
    """
    if C_in == C_out and stride == 1:
        return nn.Identity()
    if projection == "conv_bn":
        return Chain({"conv": nn.Conv2d(C_in, C_out, 1, stride=stride, bias=False),
                      "bn": nn.BatchNorm2d(C_out, eps=bn_eps)})
    if projection == "conv":
        return Chain({"conv": nn.Conv2d(C_in, C_out, 1, stride=stride, bias=False)})
    if projection == "pad":
        return PadShortcut(C_in, C_out, stride)
    if projection == "factorized":
        if stride != 2:
            raise OpError(f"factorized projection needs stride 2, got {stride}")
        return FactorizedReduce(C_in, C_out, bn_eps)
    raise OpError(f"projection: {projection!r} is not one of conv_bn, conv, pad, factorized")


class Zero(nn.Module):
    """The 'none' op: zeros of the output shape (DARTS, NAS-Bench-201)."""

    def __init__(self, C_out: int, stride: int):
        super().__init__()
        self.C_out = C_out
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x[:, :1, ::self.stride, ::self.stride]
        return x.new_zeros(x.shape[0], self.C_out, x.shape[2], x.shape[3])


def zero(C_in: int, C_out: int, stride: int) -> nn.Module:
    """Zeros of the output shape."""
    return Zero(C_out, stride)


class SqueezeExcite(nn.Module):
    """Squeeze-and-excitation: channel weights from globally pooled features
    (Hu et al. 2018, https://arxiv.org/abs/1709.01507), bottleneck ratio ``reduction``."""

    def __init__(self, channels: int, reduction: int = 16, divisor: int = 1):
        super().__init__()
        hidden = max(divisor, int(channels / reduction + divisor / 2) // divisor * divisor)
        self.fc1 = nn.Conv2d(channels, hidden, 1)
        self.act = nn.ReLU(inplace=False)
        self.fc2 = nn.Conv2d(hidden, channels, 1)
        self.gate = nn.Sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = x.mean((2, 3), keepdim=True)
        return x * self.gate(self.fc2(self.act(self.fc1(scale))))


def se(C_in: int, C_out: int, stride: int, reduction: int = 16, divisor: int = 1) -> nn.Module:
    """Squeeze-and-excitation (see ``SqueezeExcite``)."""
    _require_same_channels("se", C_in, C_out)
    if stride != 1:
        raise OpError("se cannot apply a stride")
    return SqueezeExcite(C_in, reduction, divisor)


def lrn(C_in: int, C_out: int, stride: int, size: int = 5, alpha: float = 1e-4, beta: float = 0.75,
        k: float = 2.0) -> nn.Module:
    """Local response normalization across ``size`` adjacent maps with AlexNet's formula
    b = a / (k + α Σ a²)^β and its constants k=2, n=5, α=1e-4, β=0.75 (Krizhevsky et al.
    2012, Sec. 3.3). α multiplies the plain sum, as in the paper."""
    _require_same_channels("lrn", C_in, C_out)
    if stride != 1:
        raise OpError("lrn cannot apply a stride")
    # NOTE: PyTorch (like Caffe) divides alpha by size; scaling it back gives the paper's sum.
    return nn.LocalResponseNorm(size, alpha=alpha * size, beta=beta, k=k)


def bn(C_in: int, C_out: int, stride: int, act: str = "relu", bn_eps: float = 1e-5) -> nn.Module:
    """Batch norm then an activation: the closing BN-ReLU of pre-activation nets."""
    _require_same_channels("bn", C_in, C_out)
    if stride != 1:
        raise OpError("bn cannot apply a stride")
    return Chain({"bn": nn.BatchNorm2d(C_in, eps=bn_eps), "act": make_activation(act)})


def act(C_in: int, C_out: int, stride: int, fn: str = "relu") -> nn.Module:
    """An activation alone (the ReLU after a residual addition)."""
    _require_same_channels("act", C_in, C_out)
    if stride != 1:
        raise OpError("act cannot apply a stride")
    return make_activation(fn)


def dropout(C_in: int, C_out: int, stride: int, p: float = 0.5) -> nn.Module:
    """Dropout (NiN's dropout between mlpconv blocks)."""
    _require_same_channels("dropout", C_in, C_out)
    return nn.Dropout(p)


# --- parameter validation -------------------------------------------------------------
# A genotype is data read from files: each parameter is checked against what its op can
# build before anything is built, so a bad value (``dilation: 0``, ``p: 5``, a NaN) is
# refused with its name instead of failing, or allocating, mid-build.

ParameterCheck = Callable[[object], "str | None"]


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)) and math.isfinite(value)


def _int_at_least(minimum: int, maximum: int | None = None) -> ParameterCheck:
    upper = "" if maximum is None else f" and <= {maximum}"

    def check(value: object) -> str | None:
        if _is_int(value) and value >= minimum and (maximum is None or value <= maximum):
            return None
        return f"expected an integer >= {minimum}{upper}"
    return check


def _int_or_pair(minimum: int, maximum: int) -> ParameterCheck:
    single = _int_at_least(minimum, maximum)

    def check(value: object) -> str | None:
        if isinstance(value, (list, tuple)) and len(value) == 2 and all(single(v) is None for v in value):
            return None
        return None if single(value) is None else f"expected an integer or a pair of integers in {minimum}..{maximum}"
    return check


def _optional(inner: ParameterCheck) -> ParameterCheck:
    return lambda value: None if value is None else inner(value)


def _number(low: float, high: float = math.inf, low_open: bool = False) -> ParameterCheck:
    def check(value: object) -> str | None:
        if _is_number(value) and (value > low if low_open else value >= low) and value <= high:
            return None
        bound = f"> {low}" if low_open else f">= {low}"
        return f"expected a finite number {bound}" + ("" if high == math.inf else f" and <= {high}")
    return check


def _boolean(value: object) -> str | None:
    return None if isinstance(value, bool) else "expected true or false"


def _one_of(*choices: str) -> ParameterCheck:
    return lambda value: None if value in choices and isinstance(value, str) else f"expected one of {', '.join(choices)}"


def _conv_order(value: object) -> str | None:
    if not isinstance(value, str):
        return "expected a string such as conv_bn_act"
    try:
        _order_tokens(value)
    except OpError as exc:
        return str(exc).split(": ", 1)[1]
    return None


def _groups(value: object) -> str | None:
    return None if value == "depthwise" or (_is_int(value) and value >= 1) else "expected an integer >= 1 or 'depthwise'"


def _connections(value: object) -> str | None:
    if isinstance(value, (list, tuple)) and all(
            isinstance(row, (list, tuple)) and row and all(_is_int(i) and i >= 0 for i in row) for row in value):
        return None
    return "expected a list of non-empty lists of input map indices"


MAX_KERNEL = 1024  # wider than any input a genotype is built for; keeps one op's size sane
_ACTIVATION = _one_of(*ACTIVATIONS)
_KERNEL = _int_at_least(1, MAX_KERNEL)
PARAMETER_CHECKS: Mapping[str, ParameterCheck] = MappingProxyType({
    # by parameter name, for every op that takes it ...
    "k": _KERNEL, "dilation": _int_at_least(1, MAX_KERNEL), "padding": _optional(_int_or_pair(0, MAX_KERNEL)),
    "groups": _groups, "bias": _optional(_boolean), "act": _ACTIVATION, "fn": _ACTIVATION,
    "bn_eps": _number(0.0, low_open=True), "repeats": _int_at_least(1, 64), "connections": _connections,
    "ceil_mode": _boolean, "count_include_pad": _boolean, "trainable": _boolean,
    "size": _int_at_least(1, MAX_KERNEL), "projection": _one_of("conv_bn", "conv", "pad", "factorized"),
    "reduction": _number(0.0, low_open=True), "divisor": _int_at_least(1), "p": _number(0.0, 1.0),
    "bottleneck": _int_at_least(1, 64),
    "alpha": _number(0.0), "beta": _number(0.0), "order": _conv_order,
    # ... and as "op.parameter" where an op gives the name another meaning
    "conv.k": _int_or_pair(1, MAX_KERNEL), "lrn.k": _number(0.0),
    "sep_conv.order": _one_of("act_sep_bn", "sep_bn_act", "sep_bn", "act_sep"),
})


def _plain_value(value: object) -> str | None:
    """The check for a parameter no rule names (an op added with ``with_op``): JSON
    scalars, or a flat list of them, with finite numbers."""
    items = list(value) if isinstance(value, (list, tuple)) else [value]
    for item in items:
        if isinstance(item, float) and not math.isfinite(item):
            return "expected a finite number"
        if item is not None and not isinstance(item, (bool, int, float, str)):
            return "expected a number, string, true/false, null or a flat list of them"
    return None


OpConstructor = Callable[..., nn.Module]


class OpCatalog:
    """An immutable name -> constructor table; ``with_op`` returns an extended copy and
    refuses a name that is already taken. ``keeps_channels`` names the ops whose output
    width defaults to their input width (pooling, identity, SE, ...)."""

    def __init__(self, ops: Mapping[str, OpConstructor], keeps_channels: frozenset[str] = frozenset()):
        self._ops = MappingProxyType(dict(ops))
        self.keeps_channels = frozenset(keeps_channels)
        # Read once: every parsed edge asks (inspect.signature costs ~0.1 ms a call).
        self._parameters = MappingProxyType({
            name: MappingProxyType({p.name: p.default for p in list(inspect.signature(op).parameters.values())[3:]})
            for name, op in self._ops.items()})

    def __contains__(self, name: object) -> bool:
        return name in self._ops

    def __iter__(self):
        return iter(self._ops)

    def names(self) -> list[str]:
        return sorted(self._ops)

    def with_op(self, name: str, constructor: OpConstructor, keeps_channels: bool = False) -> "OpCatalog":
        if name in self._ops:
            raise OpError(f"op {name!r} is already in the catalog")
        keeping = self.keeps_channels | {name} if keeps_channels else self.keeps_channels
        return OpCatalog({**self._ops, name: constructor}, keeping)

    def parameters_of(self, name: str) -> dict[str, object]:
        """The keyword parameters an op takes, with their defaults."""
        return dict(self._parameters[name])

    def check_parameter(self, name: str, parameter: str, value: object) -> str | None:
        """Why ``value`` cannot be ``parameter`` of op ``name`` (None when it can)."""
        constructor = self._ops.get(name)
        if constructor not in _CATALOG_CONSTRUCTORS:
            return _plain_value(value)  # an op added with with_op: its names may mean something else
        rule = PARAMETER_CHECKS.get(f"{constructor.__name__}.{parameter}") or PARAMETER_CHECKS.get(parameter)
        return (rule or _plain_value)(value)

    def build(self, name: str, C_in: int, C_out: int, stride: int, params: Mapping[str, object]) -> nn.Module:
        if name not in self._ops:
            raise OpError(f"{name!r} is not an op; known: {', '.join(self.names())}")
        allowed = self.parameters_of(name)
        for key, value in params.items():
            if key not in allowed:
                raise OpError(f"{name} takes no parameter {key!r}; it takes: {', '.join(allowed) or 'none'}")
            complaint = self.check_parameter(name, key, value)
            if complaint:
                raise OpError(f"{name}: {key}: {complaint}")
        try:
            return self._ops[name](C_in, C_out, stride, **params)
        except OpError:
            raise
        except (TypeError, ValueError, RuntimeError) as exc:
            raise OpError(f"{name}: {exc}") from exc


_CATALOG_CONSTRUCTORS = (conv, dw_conv, table_conv, sep_conv, fact_conv, max_pool, avg_pool, identity, skip,
                         zero, se, lrn, bn, act, dropout, adaptive_avg_pool)


def default_catalog() -> OpCatalog:
    """The catalog every genotype is built with (one immutable instance)."""
    return _DEFAULT_CATALOG


def _make_default_catalog() -> OpCatalog:
    return OpCatalog({
        "conv": conv, "dw_conv": dw_conv, "table_conv": table_conv, "sep_conv": sep_conv, "fact_conv": fact_conv,
        "max_pool": max_pool, "avg_pool": avg_pool, "identity": identity, "skip": skip,
        "zero": zero, "se": se, "lrn": lrn, "bn": bn, "act": act, "dropout": dropout,
        "adaptive_avg_pool": adaptive_avg_pool,
    }, keeps_channels=frozenset({"dw_conv", "max_pool", "avg_pool", "identity", "se", "lrn", "bn", "act", "dropout",
                                 "adaptive_avg_pool"}))


_DEFAULT_CATALOG = _make_default_catalog()  # immutable: a constant, built once at import
