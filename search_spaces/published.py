"""Published cells as points of the cell spaces (``search_spaces.spaces.cell_spaces``).

Constants next to each other, easy to diff (DARTS' ``genotypes.py``), in our point form:
``{"normal": [[op_a, input_a, op_b, input_b], ...], "reduce": [...]}``. State 0 is the
older cell input h_{i-1}, state 1 the newer h_i, state ``i + 2`` block ``i``'s output.
The TF releases of NASNet and AmoebaNet number the two inputs the other way round
(their state 0 is h_i); the cells below are translated.

Where the released implementation concatenates other states than the space's rule would
(the rule: the states no block reads), ``IMPLEMENTATION_OUTPUT`` records the release's
choice; ``search_spaces.skeletons.cell_network(..., output=...)`` builds with it.

Each cell carries its paper's evaluation setting (``search_spaces.skeletons.
EVALUATION_SETTINGS``: the networks the paper stacked it in) and the figures the paper
(or the authors' code) gives for each of those networks, checked like the zoo's.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping

from .spaces.base import SpaceError
from .zoo.registry import Figures


def _freeze(point: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType({kind: tuple(tuple(block) for block in blocks) for kind, blocks in point.items()})


# NASNet-A (Zoph et al. 2018, https://arxiv.org/abs/1707.07012, Fig. 4), as released in
# TF-slim's nasnet_utils.py (NasNetANormalCell / NasNetAReductionCell) and transcribed in
# DARTS' genotypes.py (whose normal_concat/reduce_concat follow the unused-states rule).
NASNET_A = _freeze({
    "normal": (
        ("sep_conv_5x5", 1, "sep_conv_3x3", 0),
        ("sep_conv_5x5", 0, "sep_conv_3x3", 0),
        ("avg_pool_3x3", 1, "identity", 0),
        ("avg_pool_3x3", 0, "avg_pool_3x3", 0),
        ("sep_conv_3x3", 1, "identity", 1),
    ),
    "reduce": (
        ("sep_conv_5x5", 1, "sep_conv_7x7", 0),
        ("max_pool_3x3", 1, "sep_conv_7x7", 0),
        ("avg_pool_3x3", 1, "sep_conv_5x5", 0),
        ("identity", 3, "avg_pool_3x3", 2),
        ("sep_conv_3x3", 2, "max_pool_3x3", 1),
    ),
})
# NOTE: the TF-slim release concatenates h_{i-1} and all five blocks in the normal cell
# (6 states: the "1056" of NASNet-A (4 @ 1056) is 6 × 176) and blocks 1-4 in the
# reduction cell, not the unused states alone (blocks 0-4, and blocks 2-4).
NASNET_A_OUTPUT = MappingProxyType({"normal": (0, 2, 3, 4, 5, 6), "reduce": (3, 4, 5, 6)})

# AmoebaNet-A (Real et al. 2019, https://arxiv.org/abs/1802.01548, Fig. 4), as released in
# the TF TPU models' amoeba_net/model_specs.py ('amoeba_net_a'); the authors' release
# decides. Built with the release's ops (its bottlenecked 1x7_7x1, see
# ``search_spaces.spaces.cell_spaces.AMOEBA_OPS``) it has the paper's figures: 3,207,106
# parameters at N=6, F=36 (3.2M), 5,086,102 and 555.7M MACs at N=4, F=50 (5.1M, 555M),
# 86,718,039 and 23.16B at N=6, F=190 (86.7M, 23.1B), 468,157,056 at F=448 (469M).
# NOTE: DARTS' genotypes.py lists an "AmoebaNet" whose blocks differ from this release in
# most ops and inputs (and concatenates blocks 2-4 / 1, 2, 4); in DARTS' network with
# DARTS' plain conv_7x1_1x7 it has 3,145,078 parameters, near the paper's 3.2M too, but
# it is not the released cell, and the release's count at ImageNet scale (555.7M MACs
# against the paper's 555M) singles the release out.
AMOEBA_A = _freeze({
    "normal": (
        ("avg_pool_3x3", 1, "max_pool_3x3", 1),
        ("sep_conv_3x3", 0, "identity", 0),
        ("identity", 1, "avg_pool_3x3", 0),
        ("sep_conv_3x3", 1, "sep_conv_5x5", 2),
        ("avg_pool_3x3", 5, "sep_conv_3x3", 1),
    ),
    "reduce": (
        ("sep_conv_3x3", 0, "avg_pool_3x3", 1),
        ("max_pool_3x3", 1, "sep_conv_7x7", 2),
        ("max_pool_3x3", 0, "max_pool_3x3", 1),
        ("sep_conv_3x3", 4, "conv_1x7_7x1_bottleneck", 1),
        ("avg_pool_3x3", 0, "sep_conv_7x7", 1),
    ),
})
# NOTE: the release's used_hiddenstates concatenate h_{i-1} with blocks 1, 2, 4 in the
# normal cell and all five blocks in the reduction cell (the rule gives blocks 1, 2, 4
# and blocks 1, 3, 4).
AMOEBA_A_OUTPUT = MappingProxyType({"normal": (0, 3, 4, 6), "reduce": (2, 3, 4, 5, 6)})

# DARTS (second order) (Liu et al. 2019, https://arxiv.org/abs/1806.09055, Fig. 4 and 5;
# DARTS_V2 in the authors' cnn/genotypes.py). The space's rule (all four nodes) is the
# release's concat.
DARTS_V2 = _freeze({
    "normal": (
        ("sep_conv_3x3", 0, "sep_conv_3x3", 1),
        ("sep_conv_3x3", 0, "sep_conv_3x3", 1),
        ("sep_conv_3x3", 1, "skip_connect", 0),
        ("skip_connect", 0, "dil_conv_3x3", 2),
    ),
    "reduce": (
        ("max_pool_3x3", 0, "max_pool_3x3", 1),
        ("skip_connect", 2, "max_pool_3x3", 1),
        ("max_pool_3x3", 0, "skip_connect", 2),
        ("skip_connect", 2, "max_pool_3x3", 1),
    ),
})

# ENAS (Pham et al. 2018, "Efficient Neural Architecture Search via Parameter Sharing",
# https://arxiv.org/abs/1802.03268, Fig. 7): the fixed_arc of the authors'
# scripts/cifar10_micro_final.sh (ops 0-4: sep 3×3, sep 5×5, avg 3×3, max 3×3, identity;
# ENAS numbers the inputs as we do). Its ops are all NASNet ops and ENAS concatenates the
# unused states, so the cell is a point of the nasnet space.
# NOTE: third-party transcriptions of the paper's figure into DARTS' format differ from
# this arc (and from each other); we follow the authors' script.
ENAS = _freeze({
    "normal": (
        ("avg_pool_3x3", 0, "sep_conv_3x3", 0),
        ("identity", 0, "sep_conv_5x5", 0),
        ("identity", 0, "sep_conv_5x5", 1),
        ("sep_conv_3x3", 1, "sep_conv_5x5", 0),
        ("avg_pool_3x3", 0, "sep_conv_5x5", 1),
    ),
    "reduce": (
        ("sep_conv_3x3", 1, "sep_conv_3x3", 1),
        ("max_pool_3x3", 0, "avg_pool_3x3", 0),
        ("sep_conv_5x5", 1, "sep_conv_5x5", 3),
        ("sep_conv_3x3", 1, "identity", 0),
        ("max_pool_3x3", 0, "sep_conv_5x5", 1),
    ),
})


@dataclass(frozen=True)
class PublishedCell:
    """A published cell: its space, its point, the release's output states where they
    differ from the space's rule (``None``: the rule is the release's), its paper's
    evaluation setting, and the figures of each of the setting's networks (``figures``:
    by preset, ``cifar``, ``mobile`` or ``large``; parameters without the auxiliary head)."""

    name: str
    space: str
    point: Mapping[str, Any]
    paper: str
    implementation_output: Mapping[str, tuple[int, ...]] | None = None
    setting: str = ""
    figures: Mapping[str, tuple[Figures, ...]] = field(default_factory=lambda: MappingProxyType({}))

    def figures_for(self, preset: str) -> tuple[Figures, ...]:
        """The figures of the setting's ``preset`` network (none where it has none)."""
        return self.figures.get(preset, ())


def _figures(**by_preset: tuple[Figures, ...]) -> Mapping[str, tuple[Figures, ...]]:
    return MappingProxyType(dict(by_preset))


# NOTE: NASNet-A (7 @ 2304)'s 27.6M does not follow from N=7, F=96 in any skeleton we know
# (32.4M here), so it is not registered.
NASNET_A_FIGURES = _figures(
    cifar=(Figures("NASNet-A (6 @ 768), Zoph et al. 2018, Table 1", params=3_300_000, params_tolerance=0.03,
                   counts_aux=False),),
    mobile=(Figures("NASNet-A (4 @ 1056), Zoph et al. 2018, Table 2", params=5_300_000, params_tolerance=0.02,
                    macs=564e6, macs_tolerance=0.03, counts_aux=False),),
    large=(Figures("NASNet-A (6 @ 4032), Zoph et al. 2018, Table 2", params=88_900_000, params_tolerance=0.02,
                   macs=23.8e9, macs_tolerance=0.03, counts_aux=False),),
)
AMOEBA_A_FIGURES = _figures(
    cifar=(Figures("AmoebaNet-A (N=6, F=36), Real et al. 2019, Table 1", params=3_200_000, params_tolerance=0.03,
                   counts_aux=False),),
    mobile=(Figures("AmoebaNet-A (N=4, F=50), Real et al. 2019, Table 2", params=5_100_000, params_tolerance=0.02,
                    macs=555e6, macs_tolerance=0.03, counts_aux=False),),
    large=(Figures("AmoebaNet-A (N=6, F=190), Real et al. 2019, Table 2", params=86_700_000, params_tolerance=0.02,
                   macs=23.1e9, macs_tolerance=0.03, counts_aux=False),),
)
# NOTE: DARTS reports 574M multiply-adds on ImageNet (Table 3); the authors' own
# NetworkImageNet(48, 1000, 14, DARTS_V2), run here (2026-12-07), has 529,911,552 in its
# convolutions and classifier, as ours has, layer for layer (torch's FlopCounterMode and
# conv/linear hooks agree; ptflops' aten backend too). Counting more does not reach 574M:
# batch norm, ReLU, pooling and the node additions as well, 542M; thop 546.5M; ptflops'
# module backend 551M; depthwise convolutions twice, 556M; the auxiliary head, 531.5M. Only
# networks with other parameters do (C=50: 573.5M at 5.08M parameters). The authors never
# released their counter (quark0/darts issue 46: others count 523M and 545M). So 530M is
# the count of the released network; the exact counts of the authors' code are checked,
# and the paper's parameters.
DARTS_V2_FIGURES = _figures(
    cifar=(Figures("DARTS (second order), 20 cells, 36 channels, Liu et al. 2019, Table 1", params=3_300_000,
                   params_tolerance=0.03, counts_aux=False),
           Figures("DARTS_V2 in the authors' NetworkCIFAR(36, 10, 20) (model.py)", params=3_349_342,
                   counts_aux=False),),
    mobile=(Figures("DARTS (second order), ImageNet mobile, Liu et al. 2019, Table 3", params=4_700_000,
                    params_tolerance=0.03, counts_aux=False),
            Figures("DARTS_V2 in the authors' NetworkImageNet(48, 1000, 14) (model.py)", params=4_718_752,
                    macs=529_911_552, macs_tolerance=0.0, counts_aux=False),),
)
# NOTE: our classifier has a bias (10 parameters) that ENAS's has not: the authors' code
# builds 4,587,372 parameters at N=6 (the paper's 4.6M) and 3,894,372 at N=5.
ENAS_FIGURES = _figures(
    cifar=(Figures("ENAS + micro search space, Pham et al. 2018, Table 1", params=4_600_000, params_tolerance=0.03,
                   counts_aux=False),),
)


PUBLISHED: Mapping[str, PublishedCell] = MappingProxyType({
    "nasnet_a": PublishedCell(
        "nasnet_a", "nasnet", NASNET_A,
        "Learning Transferable Architectures for Scalable Image Recognition (Zoph et al. 2018), "
        "https://arxiv.org/abs/1707.07012", NASNET_A_OUTPUT, "nasnet", NASNET_A_FIGURES),
    "amoeba_a": PublishedCell(
        "amoeba_a", "amoeba", AMOEBA_A,
        "Regularized Evolution for Image Classifier Architecture Search (Real et al. 2019), "
        "https://arxiv.org/abs/1802.01548", AMOEBA_A_OUTPUT, "amoeba", AMOEBA_A_FIGURES),
    "darts_v2": PublishedCell(
        "darts_v2", "darts", DARTS_V2,
        "DARTS: Differentiable Architecture Search (Liu et al. 2019), https://arxiv.org/abs/1806.09055", None,
        "darts", DARTS_V2_FIGURES),
    "enas": PublishedCell(
        "enas", "nasnet", ENAS,
        "Efficient Neural Architecture Search via Parameter Sharing (Pham et al. 2018), "
        "https://arxiv.org/abs/1802.03268", None, "enas", ENAS_FIGURES),
})


def published(name: str) -> PublishedCell:
    """The published cell called ``name``; its ``point`` is read-only (see ``point``)."""
    if name not in PUBLISHED:
        raise SpaceError(f"{name!r} is not a published cell; known: {', '.join(PUBLISHED)}")
    return PUBLISHED[name]


def point(name: str) -> dict[str, list[list[Any]]]:
    """A fresh, mutable JSON copy of the published cell ``name``."""
    return {kind: [list(block) for block in blocks] for kind, blocks in published(name).point.items()}
