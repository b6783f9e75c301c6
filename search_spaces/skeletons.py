"""Cell-network skeletons: a point of a cell space -> a network genotype (plain dict).

The network around a searched cell is fixed (Zoph et al. 2018, "Learning Transferable
Architectures for Scalable Image Recognition", https://arxiv.org/abs/1707.07012, Fig. 2;
Liu et al. 2019, DARTS, https://arxiv.org/abs/1806.09055, Sec. 3.2):

- ``cifar``: a 3×3 conv stem of ``stem_multiplier × F`` maps, then N normal cells at F
  filters, a reduction cell (stride 2, 2F), N normal cells, a reduction cell (4F), N
  normal cells; global average pooling and a linear classifier. NASNet-A (6 @ 768) is
  N=6, F=32; DARTS' 20-cell network is N=6, F=36.
- ``imagenet``: NASNet's ImageNet network: a 3×3/2 stem conv without padding, two
  reduction cells at F/4 and F/2 filters (the "stem cells"), then the CIFAR layout of
  3 × N normal cells and 2 reduction cells, dropout before the classifier. Presets:
  ``mobile`` (NASNet-A (4 @ 1056): N=4, F=44, 224×224) and ``large`` (NASNet-A
  (6 @ 4032): N=6, F=168, 331×331).

Each cell is a two-input cell; the builder (``search_spaces.build``) maps both inputs to
the cell width (ReLU-1×1 conv-BN, or FactorizedReduce for an input at twice the
resolution). The optional auxiliary head (ReLU, 5×5/3 average pool without padding,
1×1 conv of 128 maps + BN + ReLU, a conv of 768 maps whose kernel covers the remaining
map + BN + ReLU, linear) sits after the normal cells before the second reduction
(NASNet's release: a 4×4 kernel on CIFAR) or after the second reduction cell (DARTS'
release: 2×2).
"""
from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Mapping, Sequence

from .dsl import head, layer, network, stage
from .spaces.cell_spaces import TwoInputCellSpace, cell_space

SKELETONS = ("cifar", "imagenet")
AUX_POSITIONS = ("normal", "reduction")


class SkeletonError(ValueError):
    """A skeleton's settings cannot make a network (unknown name, too small an input)."""


@dataclass(frozen=True)
class ImagenetPreset:
    """NASNet's ImageNet configurations (TF-slim ``mobile_imagenet_config`` /
    ``large_imagenet_config``): cells per stage, filters, input size, stem conv maps,
    dropout before the classifier."""

    N: int
    F: int
    input_size: int
    stem_filters: int
    dropout: float


IMAGENET_PRESETS: Mapping[str, ImagenetPreset] = MappingProxyType({
    "mobile": ImagenetPreset(N=4, F=44, input_size=224, stem_filters=32, dropout=0.5),
    # NOTE: the large release feeds the first normal cell after a reduction with the cell
    # two before the reduction cell (skip_reduction_layer_input); our builder feeds it the
    # cell just before. Both are FactorizedReduce of 6F maps: same parameters and MACs.
    "large": ImagenetPreset(N=6, F=168, input_size=331, stem_filters=96, dropout=0.5),
})

# Where each space's release puts its auxiliary head (default for ``aux_position``).
DEFAULT_AUX_POSITION: Mapping[str, str] = MappingProxyType({"nasnet": "normal", "amoeba": "normal",
                                                             "darts": "reduction"})


def _halve(size: int) -> int:
    """The size after a stride-2 op with 'same' padding."""
    return (size + 1) // 2


def cell_network(space: str | TwoInputCellSpace, point: Any, skeleton: str = "cifar", *,
                 N: int | None = None, F: int | None = None, aux: bool = False,
                 num_classes: int | None = None, input_size: int | None = None, input_channels: int = 3,
                 preset: str = "mobile", stem_multiplier: int = 3, dropout: float | None = None,
                 output: Mapping[str, Sequence[int]] | None = None, aux_position: str | None = None,
                 name: str = "") -> dict[str, Any]:
    """The network genotype (plain dict, for ``build_network``) of a cell point.

    ``N``: normal cells per stage; ``F``: the first stage's filters (defaults: CIFAR N=6,
    F=36; ImageNet from ``preset``). ``output``: the states each cell concatenates
    (``{"normal": [...], "reduce": [...]}``; default the space's rule; a published cell's
    ``implementation_output`` rebuilds its release). ``aux_position``: ``normal`` or
    ``reduction`` (default: the space's release, see ``DEFAULT_AUX_POSITION``).
    """
    if isinstance(space, str):
        space = cell_space(space)
    if skeleton not in SKELETONS:
        raise SkeletonError(f"skeleton: {skeleton!r} is not one of {', '.join(SKELETONS)}")
    space.check(point)
    aux_position = aux_position or DEFAULT_AUX_POSITION.get(space.name, "normal")
    if aux_position not in AUX_POSITIONS:
        raise SkeletonError(f"aux_position: {aux_position!r} is not one of {', '.join(AUX_POSITIONS)}")
    output = output or {}

    def cell_at(kind: str, width: int) -> dict[str, Any]:
        # FactorizedReduce splits the width in two halves; an odd width (NASNet mobile's
        # first stem cell has 11 filters) reduces its identities by a strided 1×1 conv
        # + BN instead, as NASNet's release does for every strided identity.
        projection = "factorized" if width % 2 == 0 else "conv_bn"
        return space.cell(point, kind, output.get(kind), skip_projection=projection)

    stages: list[dict[str, Any]] = []
    if skeleton == "cifar":
        N = 6 if N is None else N
        F = 36 if F is None else F
        if N < 1 or F < 1:
            raise SkeletonError(f"N and F must be positive, got N={N}, F={F}")
        native_size = 32 if input_size is None else input_size
        size = native_size
        num_classes = 10 if num_classes is None else num_classes
        stem = [layer("conv", stem_multiplier * F, k=3, order="conv_bn")]
        head_dropout = 0.0 if dropout is None else dropout
    else:
        if preset not in IMAGENET_PRESETS:
            raise SkeletonError(f"preset: {preset!r} is not one of {', '.join(IMAGENET_PRESETS)}")
        settings = IMAGENET_PRESETS[preset]
        N = settings.N if N is None else N
        F = settings.F if F is None else F
        if N < 1 or F < 4:
            raise SkeletonError(f"N must be positive and F at least 4 (the stem cells have F/4), got N={N}, F={F}")
        native_size = settings.input_size if input_size is None else input_size
        num_classes = 1000 if num_classes is None else num_classes
        stem = [layer("conv", settings.stem_filters, stride=2, k=3, padding=0, order="conv_bn")]
        head_dropout = settings.dropout if dropout is None else dropout
        size = (native_size - 3) // 2 + 1
        for index, width in enumerate((F // 4, F // 2)):
            stages.append(stage(cell_at("reduce", width), 1, width=width, stride=2, name=f"stem_cell{index + 1}"))
            size = _halve(size)

    aux_after, aux_size = -1, None
    for level in range(3):
        if level > 0:
            stages.append(stage(cell_at("reduce", F * 2 ** level), 1, width=F * 2 ** level, stride=2,
                                name=f"reduction{level}"))
            size = _halve(size)
            if level == 2 and aux_position == "reduction":
                aux_after, aux_size = len(stages) - 1, size
        stages.append(stage(cell_at("normal", F * 2 ** level), N, width=F * 2 ** level, name=f"normal{level + 1}"))
        if level == 1 and aux_position == "normal":
            aux_after, aux_size = len(stages) - 1, size

    aux_heads = []
    if aux:
        pooled = (aux_size - 5) // 3 + 1 if aux_size is not None else 0
        if pooled < 1:
            raise SkeletonError(f"the auxiliary head needs a map of at least 5×5, got {aux_size}×{aux_size}")
        aux_heads.append({"after_stage": aux_after, "layers": [
            layer("act", fn="relu"),
            layer("avg_pool", k=5, stride=3, padding=0),
            layer("conv", 128, k=1, order="conv_bn_act"),
            layer("conv", 768, k=pooled, padding=0, order="conv_bn_act"),
        ], "head": head("avg")})
    # NOTE: NASNet's release applies a ReLU before the global pool; DARTS' does not. We
    # follow DARTS (a parameter-free difference).
    head_layers = [("dropout", head_dropout)] if head_dropout > 0 else []
    return network(name or f"{space.name}-{skeleton}", stages, stem=stem, head_spec=head("avg", layers=head_layers),
                   aux_heads=aux_heads, input_size=native_size, input_channels=input_channels, num_classes=num_classes)
