"""Cell-network skeletons: a point of a cell space -> a network genotype (plain dict).

The network around a searched cell is fixed (Zoph et al. 2018, "Learning Transferable
Architectures for Scalable Image Recognition", https://arxiv.org/abs/1707.07012, Fig. 2;
Liu et al. 2019, DARTS, https://arxiv.org/abs/1806.09055, Sec. 3.2): a stem, N normal
cells at F filters, a reduction cell (stride 2, 2F), N normal cells, a reduction cell
(4F), N normal cells; global average pooling and a linear classifier. Stems:

- ``conv``: the CIFAR stem, a 3×3 conv of ``stem_multiplier × F`` maps + BN.
- ``nasnet``: NASNet's ImageNet stem, a 3×3/2 conv without padding, then two reduction
  cells at F/4 and F/2 filters (the "stem cells"); AmoebaNet's release uses it too.
- ``darts``: DARTS's ImageNet stem (the authors' ``model.py``, ``NetworkImageNet``):
  3×3/2 conv to F/2 + BN + ReLU, 3×3/2 conv to F + BN (its output is the first cell's
  older input), then ReLU, 3×3/2 conv to F + BN (the newer input).

Each paper evaluated its cells in its own networks: an ``EvaluationSetting`` (``nasnet``,
``amoeba``, ``darts``, ``enas``) names them, one ``SkeletonPreset`` per target and size
(``cifar``; ImageNet ``mobile`` and ``large``). A cell is built in its paper's setting:
a space has a default one, a published cell carries its own
(``search_spaces.published``), and the ``setting`` argument chooses another; any of a
preset's values (N, F, stem, aux position, ...) can be overridden.

Each cell is a two-input cell; the builder (``search_spaces.build``) maps both inputs to
the cell width (ReLU-1×1 conv-BN, or FactorizedReduce for an input at twice the
resolution). The optional auxiliary head (ReLU, 5×5 average pool without padding, 1×1
conv of 128 maps + BN + ReLU, a conv of 768 maps whose kernel covers the remaining map
(+ BN) + ReLU, linear) sits after the normal cells before the second reduction
(``aux_position="normal"``: NASNet's and AmoebaNet's releases) or after the second
reduction cell (``"reduction"``: DARTS's release).
"""
from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Mapping, Sequence

from .dsl import chain, edge, head, layer, network, stage
from .value_kinds import field_kind_problem
from .errors import NasError

SKELETONS = ("cifar", "imagenet")
IMAGENET_PRESETS = ("mobile", "large")
STEMS = ("conv", "nasnet", "darts")
AUX_POSITIONS = ("normal", "reduction")


class SkeletonError(NasError, ValueError):
    """A skeleton's settings cannot make a network (unknown name, too small an input)."""


@dataclass(frozen=True)
class SkeletonPreset:
    """One network a paper stacked its cells in: cells per stage (N), first-stage filters
    (F), stem, auxiliary head (position, average-pool stride, BN before its last ReLU),
    input size, classes, the ``nasnet`` stem conv's maps, dropout before the classifier, and
    whether each cell passes its newer input through one more ReLU-1×1 conv-BN (ENAS)."""

    N: int
    F: int
    stem: str
    input_size: int
    num_classes: int
    aux_position: str
    stem_filters: int = 32
    dropout: float = 0.0
    aux_pool_stride: int = 3
    aux_bn: bool = True
    newer_input_conv: bool = False


# NASNet's CIFAR network (NASNet-A (6 @ 768): N=6, F=32) and its ImageNet configurations
# (TF-slim nasnet.py ``mobile_imagenet_config`` / ``large_imagenet_config``).
_NASNET_CIFAR = SkeletonPreset(N=6, F=32, stem="conv", input_size=32, num_classes=10, aux_position="normal")
_NASNET_MOBILE = SkeletonPreset(N=4, F=44, stem="nasnet", input_size=224, num_classes=1000, aux_position="normal",
                                stem_filters=32, dropout=0.5)
# NOTE: the large release feeds the first normal cell after a reduction with the cell
# two before the reduction cell (skip_reduction_layer_input); our builder feeds it the
# cell just before. Both are FactorizedReduce of 6F maps: same parameters and MACs.
_NASNET_LARGE = SkeletonPreset(N=6, F=168, stem="nasnet", input_size=331, num_classes=1000, aux_position="normal",
                               stem_filters=96, dropout=0.5)


@dataclass(frozen=True)
class EvaluationSetting:
    """A paper's networks for its cells: ``presets`` by ``cifar`` and ImageNet size."""

    name: str
    source: str
    presets: Mapping[str, SkeletonPreset]

    def preset(self, skeleton: str, size: str = "mobile") -> SkeletonPreset:
        """The preset of ``skeleton`` (``cifar`` or ``imagenet``) and, for ImageNet, ``size``."""
        if skeleton not in SKELETONS:
            raise SkeletonError(f"skeleton: {skeleton!r} is not one of {', '.join(SKELETONS)}")
        if skeleton == "imagenet" and size not in IMAGENET_PRESETS:
            raise SkeletonError(f"preset: {size!r} is not one of {', '.join(IMAGENET_PRESETS)}")
        key = "cifar" if skeleton == "cifar" else size
        if key not in self.presets:
            others = [name for name, setting in EVALUATION_SETTINGS.items() if key in setting.presets]
            raise SkeletonError(f"preset: the {self.name} setting has no {key!r} ImageNet network (it has "
                                f"{', '.join(k for k in self.presets if k != 'cifar')}); settings with one: "
                                f"{', '.join(others)}")
        return self.presets[key]


EVALUATION_SETTINGS: Mapping[str, EvaluationSetting] = MappingProxyType({
    "nasnet": EvaluationSetting(
        "nasnet", "Zoph et al. 2018, Sec. 4 and Table 1-2; TF-slim nets/nasnet/nasnet.py",
        MappingProxyType({"cifar": _NASNET_CIFAR, "mobile": _NASNET_MOBILE, "large": _NASNET_LARGE})),
    # AmoebaNet-A (N=6, F=36) on CIFAR, (N=4, F=50) mobile and (N=6, F=190) large on
    # ImageNet (Real et al. 2019, https://arxiv.org/abs/1802.01548, Tables 1-2); the TF TPU
    # release (amoeba_net/model_builder.py) builds NASNet's ImageNet stem with
    # stem_reduction_size=32 maps, its aux head before the second reduction cell and
    # dropout 0.5 before the classifier.
    "amoeba": EvaluationSetting(
        "amoeba", "Real et al. 2019, Tables 1-2; tensorflow/tpu models/official/amoeba_net",
        MappingProxyType({
            "cifar": SkeletonPreset(N=6, F=36, stem="conv", input_size=32, num_classes=10, aux_position="normal"),
            "mobile": SkeletonPreset(N=4, F=50, stem="nasnet", input_size=224, num_classes=1000,
                                     aux_position="normal", stem_filters=32, dropout=0.5),
            # AmoebaNet-A (N=6, F=190) at 331×331; the paper's (N=6, F=448) is --filters 448.
            "large": SkeletonPreset(N=6, F=190, stem="nasnet", input_size=331, num_classes=1000,
                                    aux_position="normal", stem_filters=32, dropout=0.5),
        })),
    # DARTS's NetworkCIFAR (20 cells, 36 channels: N=6, F=36) and NetworkImageNet (14 cells,
    # 48 channels: N=4, F=48), as train.py / train_imagenet.py build them; PC-DARTS, P-DARTS
    # and GDAS evaluate in the same two networks. The ImageNet auxiliary head pools with
    # stride 2 and has no BN after its 768-map conv (the release comments it out).
    "darts": EvaluationSetting(
        "darts", "Liu et al. 2019, Sec. 3.2-3.3; quark0/darts cnn/model.py",
        MappingProxyType({
            "cifar": SkeletonPreset(N=6, F=36, stem="conv", input_size=32, num_classes=10, aux_position="reduction"),
            "mobile": SkeletonPreset(N=4, F=48, stem="darts", input_size=224, num_classes=1000,
                                     aux_position="reduction", aux_pool_stride=2, aux_bn=False),
        })),
    # ENAS's micro CIFAR network (Pham et al. 2018, Table 1: 4.6M parameters), as the
    # authors' micro_child.py builds it: the stem conv, then N normal cells per stage with
    # a reduction cell between stages, and each cell's newer input passed through one more
    # ReLU-1×1 conv-BN (``layer_base``). The paper's 4.6M is what that code builds with
    # 18 layers (N=6), 36 filters.
    # NOTE: the authors' scripts/cifar10_micro_final.sh trains 15 layers (N=5; about 3.9M
    # in the same code), not the network the paper counted; --cells 5 builds it.
    # NOTE: ENAS's release puts its auxiliary head after the first normal cell following
    # the second reduction (aux_head_indices = [pool_layers[-1] + 1]); we put it after the
    # reduction cell itself, one cell earlier, on the same 8×8 map.
    "enas": EvaluationSetting(
        "enas", "Pham et al. 2018, Sec. 3 and Table 1; melodyguan/enas src/cifar10/micro_child.py",
        MappingProxyType({
            "cifar": SkeletonPreset(N=6, F=36, stem="conv", input_size=32, num_classes=10, aux_position="reduction",
                                    newer_input_conv=True),
            # ENAS trained no ImageNet network; its cell is a NASNet-space cell and takes NASNet's.
            "mobile": _NASNET_MOBILE, "large": _NASNET_LARGE,
        })),
})

# The setting a space's points are built in when nothing else chooses one.
SPACE_SETTINGS: Mapping[str, str] = MappingProxyType({"nasnet": "nasnet", "amoeba": "amoeba", "darts": "darts"})
DEFAULT_SETTING = "darts"  # a cell space of its own (a DARTS-family cell's op list)


def evaluation_setting(name: str) -> EvaluationSetting:
    """The evaluation setting called ``name``."""
    if name not in EVALUATION_SETTINGS:
        raise SkeletonError(f"setting: {name!r} is not one of {', '.join(EVALUATION_SETTINGS)}")
    return EVALUATION_SETTINGS[name]


def setting_of_space(space: str) -> str:
    """The setting a point of ``space`` is built in by default."""
    return SPACE_SETTINGS.get(space, DEFAULT_SETTING)


def _halve(size: int) -> int:
    """The size after a stride-2 op with 'same' padding."""
    return (size + 1) // 2


def resolve_preset(space: str, skeleton: str = "cifar", *, setting: str | None = None, preset: str = "mobile",
                   **overrides: Any) -> SkeletonPreset:
    """The preset a cell of ``space`` is built in: ``setting``'s (default the space's) for
    ``skeleton`` and ``preset``, with every non-None override (``N``, ``F``, ``stem``,
    ``input_size``, ``num_classes``, ``aux_position``, ``dropout``) applied."""
    chosen = evaluation_setting(setting or setting_of_space(space)).preset(skeleton, preset)
    given = {key: value for key, value in overrides.items() if value is not None}
    unknown = sorted(set(given) - set(SkeletonPreset.__dataclass_fields__))
    if unknown:
        raise SkeletonError(f"{unknown[0]}: not a skeleton setting")
    for key, value in given.items():
        problem = field_kind_problem(SkeletonPreset, key, value)
        if problem:
            raise SkeletonError(f"{key}: {problem}")
    values = {**chosen.__dict__, **given}
    if values["stem"] not in STEMS:
        raise SkeletonError(f"stem: {values['stem']!r} is not one of {', '.join(STEMS)}")
    if values["aux_position"] not in AUX_POSITIONS:
        raise SkeletonError(f"aux_position: {values['aux_position']!r} is not one of {', '.join(AUX_POSITIONS)}")
    return SkeletonPreset(**values)


def cell_network(space: Any, point: Any, skeleton: str = "cifar", *,
                 N: int | None = None, F: int | None = None, aux: bool = False,
                 num_classes: int | None = None, input_size: int | None = None, input_channels: int = 3,
                 preset: str = "mobile", stem_multiplier: int = 3, dropout: float | None = None,
                 output: Mapping[str, Sequence[int]] | None = None, aux_position: str | None = None,
                 setting: str | None = None, stem: str | None = None, name: str = "") -> dict[str, Any]:
    """The network genotype (plain dict, for ``build_network``) of a point of ``space``,
    a two-input cell space (``search_spaces.spaces.cell_spaces.TwoInputCellSpace``: its
    ``check``, ``cell`` and ``name``; ``search_spaces.spaces.cell_space(name)`` finds one).

    ``setting``: whose networks (``EVALUATION_SETTINGS``; default the space's,
    ``SPACE_SETTINGS``); ``skeleton`` and ``preset`` pick one of them; ``N``, ``F``,
    ``stem``, ``aux_position``, ``dropout``, ``num_classes`` and ``input_size`` override
    its values. ``output``: the states each cell concatenates (``{"normal": [...],
    "reduce": [...]}``; default the space's rule; a published cell's
    ``implementation_output`` rebuilds its release).
    """
    space.check(point)
    chosen = resolve_preset(space.name, skeleton, setting=setting, preset=preset, N=N, F=F, stem=stem,
                            aux_position=aux_position, dropout=dropout, num_classes=num_classes,
                            input_size=input_size)
    minimum_F = 4 if chosen.stem == "nasnet" else 2 if chosen.stem == "darts" else 1
    if chosen.N < 1 or chosen.F < minimum_F:
        raise SkeletonError(f"N must be positive and F at least {minimum_F} (the {chosen.stem} stem), "
                            f"got N={chosen.N}, F={chosen.F}")
    output = output or {}

    def cell_at(kind: str, width: int) -> dict[str, Any]:
        # FactorizedReduce splits the width in two halves; an odd width (NASNet mobile's
        # first stem cell has 11 filters) reduces its identities by a strided 1×1 conv
        # + BN instead, as NASNet's release does for every strided identity.
        projection = "factorized" if width % 2 == 0 else "conv_bn"
        return space.cell(point, kind, output.get(kind), skip_projection=projection,
                          newer_input_conv=chosen.newer_input_conv)

    stem_layers, stages, size = _stem(chosen, stem_multiplier, cell_at)
    F = chosen.F
    aux_after, aux_size = -1, None
    for level in range(3):
        if level > 0:
            stages.append(stage(cell_at("reduce", F * 2 ** level), 1, width=F * 2 ** level, stride=2,
                                name=f"reduction{level}"))
            size = _halve(size)
            if level == 2 and chosen.aux_position == "reduction":
                aux_after, aux_size = len(stages) - 1, size
        stages.append(stage(cell_at("normal", F * 2 ** level), chosen.N, width=F * 2 ** level,
                            name=f"normal{level + 1}"))
        if level == 1 and chosen.aux_position == "normal":
            aux_after, aux_size = len(stages) - 1, size

    aux_heads = [_aux_head(chosen, aux_after, aux_size)] if aux else []
    # NOTE: NASNet's and AmoebaNet's releases apply a ReLU before the global pool; DARTS'
    # does not. We follow DARTS (a parameter-free difference).
    head_layers = [("dropout", chosen.dropout)] if chosen.dropout > 0 else []
    return network(name or f"{space.name}-{skeleton}", stages, stem=stem_layers,
                   head_spec=head("avg", layers=head_layers), aux_heads=aux_heads, input_size=chosen.input_size,
                   input_channels=input_channels, num_classes=chosen.num_classes)


def _stem(chosen: SkeletonPreset, stem_multiplier: int, cell_at: Any) -> tuple[list, list, int]:
    """The stem layers, the stem stages (cells counted in the cell history) and the map
    size they leave."""
    size, F = chosen.input_size, chosen.F
    if chosen.stem == "conv":
        return [layer("conv", stem_multiplier * F, k=3, order="conv_bn")], [], size
    if chosen.stem == "darts":
        # stem0's output is the first cell's older input, stem1's (one more 3×3/2 conv)
        # its newer one: stem1 is a one-input cell so that both enter the cell history.
        layers = [layer("conv", F // 2, stride=2, k=3, order="conv_bn_act"),
                  layer("conv", F, stride=2, k=3, order="conv_bn")]
        stem1 = chain(edge("conv", 0, k=3, order="act_conv_bn"))
        return layers, [stage(stem1, 1, width=F, stride=2, name="stem1")], _halve(_halve(_halve(size)))
    layers = [layer("conv", chosen.stem_filters, stride=2, k=3, padding=0, order="conv_bn")]
    size = (size - 3) // 2 + 1
    stages = []
    for index, width in enumerate((F // 4, F // 2)):
        stages.append(stage(cell_at("reduce", width), 1, width=width, stride=2, name=f"stem_cell{index + 1}"))
        size = _halve(size)
    return layers, stages, size


def _aux_head(chosen: SkeletonPreset, after_stage: int, map_size: int | None) -> dict[str, Any]:
    """The auxiliary classifier on ``after_stage``'s output of ``map_size``²."""
    stride = chosen.aux_pool_stride
    pooled = (map_size - 5) // stride + 1 if map_size is not None else 0
    if pooled < 1:
        raise SkeletonError(f"the auxiliary head needs a map of at least 5×5, got {map_size}×{map_size}")
    last = (layer("conv", 768, k=pooled, padding=0, order="conv_bn_act") if chosen.aux_bn
            else layer("conv", 768, k=pooled, padding=0, order="conv_act", bias=False))
    return {"after_stage": after_stage, "layers": [
        layer("act", fn="relu"),
        layer("avg_pool", k=5, stride=stride, padding=0),
        layer("conv", 128, k=1, order="conv_bn_act"),
        last,
    ], "head": head("avg")}
