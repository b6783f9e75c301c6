"""Inception networks: GoogLeNet (Inception v1, Szegedy et al. 2015) and Inception v3
(Szegedy et al. 2016). A stem of plain convolutions, then one stage per inception
module, each module a cell of parallel branches whose outputs are concatenated, and
auxiliary classifiers that run in training only.

Parameters are registered in torchvision's order (stem, modules with their branches in
order, auxiliary heads, classifier), so that its state dicts map onto these networks.
"""
from __future__ import annotations

from typing import Any

from ..blocks import branches
from ..dsl import aux_head, cell, chain, edge, head, layer, network, node, stage
from .registry import Figures, ForeignName, ZooEntry

GOOGLENET_PAPER = "Going Deeper with Convolutions (Szegedy et al. 2015), https://arxiv.org/abs/1409.4842"
INCEPTION_V3_PAPER = ("Rethinking the Inception Architecture for Computer Vision (Szegedy et al. 2016), "
                      "https://arxiv.org/abs/1512.00567")
TORCHVISION = "torchvision.models"

# How a convolution is spelt. The paper's GoogLeNet: conv with bias, then ReLU (no batch
# norm, which came later). torchvision's BasicConv2d: conv without bias, BN (eps 0.001), ReLU.
PAPER_CONV: dict[str, Any] = {"order": "conv_act"}
BASIC_CONV: dict[str, Any] = {"order": "conv_bn_act", "bn_eps": 0.001}

# GoogLeNet, Szegedy et al. 2015, Table 1: #1×1, #3×3 reduce, #3×3, #5×5 reduce, #5×5, pool proj.
GOOGLENET_MODULES = {
    "inception3a": (64, 96, 128, 16, 32, 32),
    "inception3b": (128, 128, 192, 32, 96, 64),
    "inception4a": (192, 96, 208, 16, 48, 64),
    "inception4b": (160, 112, 224, 24, 64, 64),
    "inception4c": (128, 128, 256, 24, 64, 64),
    "inception4d": (112, 144, 288, 32, 64, 64),
    "inception4e": (256, 160, 320, 32, 128, 128),
    "inception5a": (256, 160, 320, 32, 128, 128),
    "inception5b": (384, 192, 384, 48, 128, 128),
}


def _conv(channels: int, k: int | list[int], style: dict[str, Any], input: int = 0, stride_here: bool = False,
          padding: int | list[int] | None = None) -> dict[str, Any]:
    """A convolution edge; ``padding`` None keeps the op's 'same' padding."""
    params = dict(style)
    if padding is not None:
        params["padding"] = padding
    return edge("conv", input, channels=channels, reduce=True if stride_here else None, k=k, **params)


def _conv_layer(channels: int, k: int, style: dict[str, Any], stride: int = 1,
                padding: int | None = None) -> dict[str, Any]:
    params = dict(style)
    if padding is not None:
        params["padding"] = padding
    return layer("conv", channels, stride=stride, k=k, **params)


def _max_pool_stage(name: str, k: int = 3) -> dict[str, Any]:
    """A max pooling between modules, as a stage of its own (Caffe's ceil rounding, as in
    the released GoogLeNet and torchvision)."""
    return stage(chain(edge("max_pool", 0, k=k, padding=0, ceil_mode=True)), stride=2, name=name)


def googlenet_module(widths: tuple[int, ...], style: dict[str, Any], large_kernel: int) -> dict[str, Any]:
    """The inception module with dimension reductions (Szegedy et al. 2015, Fig. 2b): 1×1;
    1×1 then 3×3; 1×1 then 5×5; 3×3 max pooling then 1×1, concatenated in that order."""
    ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj = widths
    return branches(
        [_conv(ch1x1, 1, style)],
        [_conv(ch3x3red, 1, style), _conv(ch3x3, 3, style)],
        [_conv(ch5x5red, 1, style), _conv(ch5x5, large_kernel, style)],
        [edge("max_pool", 0, k=3, padding=1, ceil_mode=True), _conv(pool_proj, 1, style)],
    )


def googlenet(torchvision_layout: bool) -> dict[str, Any]:
    """GoogLeNet (Szegedy et al. 2015, Table 1 and Fig. 3): a 7×7/2 stem, nine inception
    modules in three groups separated by stride-2 max pooling, global average pooling,
    dropout and a linear classifier; auxiliary classifiers on 4a and 4d."""
    style = BASIC_CONV if torchvision_layout else PAPER_CONV
    pool = layer("max_pool", stride=2, k=3, padding=0, ceil_mode=True)
    if torchvision_layout:
        stem = [_conv_layer(64, 7, style, stride=2), pool, _conv_layer(64, 1, style), _conv_layer(192, 3, style), pool]
    else:
        # NOTE: the paper gives no LRN constants; these are those of the BVLC Caffe
        # reference GoogLeNet (size 5, alpha 1e-4, beta 0.75, k 1).
        lrn = layer("lrn", size=5, alpha=2e-5, beta=0.75, k=1.0)  # Caffe's alpha 1e-4 is per n=5 maps
        stem = [_conv_layer(64, 7, style, stride=2), pool, lrn, _conv_layer(64, 1, style), _conv_layer(192, 3, style),
                lrn, pool]
    # NOTE: torchvision's branch3 uses a 3×3 conv where the paper has a 5×5 (a known
    # torchvision bug kept for its pretrained weights, pytorch/vision issue 906).
    large_kernel = 3 if torchvision_layout else 5
    modules = {name: googlenet_module(widths, style, large_kernel) for name, widths in GOOGLENET_MODULES.items()}
    stages = [stage(modules["inception3a"], name="inception3a"), stage(modules["inception3b"], name="inception3b"),
              _max_pool_stage("maxpool3")]
    stages += [stage(modules[f"inception4{letter}"], name=f"inception4{letter}") for letter in "abcde"]
    # NOTE: torchvision pools 4e's output with a 2×2/2 max pooling; the paper's Table 1 says 3×3/2
    # (both give 7×7 from 14×14).
    stages.append(_max_pool_stage("maxpool4", k=2 if torchvision_layout else 3))
    stages += [stage(modules["inception5a"], name="inception5a"), stage(modules["inception5b"], name="inception5b")]
    after_4a, after_4d = 3, 6
    if torchvision_layout:
        # torchvision's InceptionAux: adaptive average pooling to 4×4, 1×1 conv of 128
        # (BasicConv2d), FC 2048 -> 1024, ReLU, dropout 0.7, classifier.
        aux_layers = [layer("adaptive_avg_pool", size=4), _conv_layer(128, 1, style)]
    else:
        # Szegedy et al. 2015, Sec. 5: 5×5/3 average pooling (4×4 out of 14×14), 1×1 conv
        # of 128 with ReLU, FC 1024 with ReLU, dropout 0.7, linear classifier.
        aux_layers = [layer("avg_pool", stride=3, k=5, padding=0), _conv_layer(128, 1, style)]
    aux_head_spec = head("none", layers=[("fc", 1024), ("act", "relu"), ("dropout", 0.7)])
    # NOTE: torchvision returns its auxiliary outputs as (logits, aux2, aux1); the builder
    # returns (logits, [aux1, aux2]) in stage order.
    aux = [aux_head(after_4a, aux_layers, aux_head_spec), aux_head(after_4d, aux_layers, aux_head_spec)]
    # NOTE: torchvision's pretrained GoogLeNet re-normalises its input (transform_input);
    # that is a preprocessing step, not part of the genotype.
    dropout = 0.2 if torchvision_layout else 0.4
    return network("googlenet", stages, stem=stem, head_spec=head("avg", layers=[("dropout", dropout)]), aux_heads=aux)


# --- Inception v3 -------------------------------------------------------------------------

# torchvision's pooling branches call F.avg_pool2d(x, 3, stride=1, padding=1), which counts the padding.
V3_AVG_POOL: dict[str, Any] = {"k": 3, "padding": 1, "count_include_pad": True}


def _v3_avg_pool_branch(pool_features: int) -> list[dict[str, Any]]:
    """3×3/1 average pooling, then a 1×1 convolution."""
    return [edge("avg_pool", 0, **V3_AVG_POOL), _conv(pool_features, 1, BASIC_CONV)]


def inception_a(pool_features: int) -> dict[str, Any]:
    """35×35 module (Szegedy et al. 2016, Fig. 5; torchvision InceptionA): 1×1; 1×1-5×5;
    1×1-3×3-3×3; avg pool-1×1."""
    s = BASIC_CONV
    return branches(
        [_conv(64, 1, s)],
        [_conv(48, 1, s), _conv(64, 5, s)],
        [_conv(64, 1, s), _conv(96, 3, s), _conv(96, 3, s)],
        _v3_avg_pool_branch(pool_features),
    )


def inception_b() -> dict[str, Any]:
    """35×35 -> 17×17 grid reduction (Szegedy et al. 2016, Fig. 10; torchvision InceptionB):
    3×3/2; 1×1-3×3-3×3/2; 3×3/2 max pooling."""
    s = BASIC_CONV
    return branches(
        [_conv(384, 3, s, padding=0)],
        [_conv(64, 1, s), _conv(96, 3, s), _conv(96, 3, s, stride_here=True, padding=0)],
        [edge("max_pool", 0, k=3, padding=0)],
    )


def inception_c(channels_7x7: int) -> dict[str, Any]:
    """17×17 module with factorized 7×7 convolutions (Szegedy et al. 2016, Fig. 6;
    torchvision InceptionC): 1×1; 1×1-1×7-7×1; 1×1-7×1-1×7-7×1-1×7; avg pool-1×1."""
    s, c7 = BASIC_CONV, channels_7x7
    row, col = ([1, 7], [0, 3]), ([7, 1], [3, 0])
    return branches(
        [_conv(192, 1, s)],
        [_conv(c7, 1, s), _conv(c7, row[0], s, padding=row[1]), _conv(192, col[0], s, padding=col[1])],
        [_conv(c7, 1, s), _conv(c7, col[0], s, padding=col[1]), _conv(c7, row[0], s, padding=row[1]),
         _conv(c7, col[0], s, padding=col[1]), _conv(192, row[0], s, padding=row[1])],
        _v3_avg_pool_branch(192),
    )


def inception_d() -> dict[str, Any]:
    """17×17 -> 8×8 grid reduction (torchvision InceptionD): 1×1-3×3/2; 1×1-1×7-7×1-3×3/2;
    3×3/2 max pooling."""
    s = BASIC_CONV
    return branches(
        [_conv(192, 1, s), _conv(320, 3, s, stride_here=True, padding=0)],
        [_conv(192, 1, s), _conv(192, [1, 7], s, padding=[0, 3]), _conv(192, [7, 1], s, padding=[3, 0]),
         _conv(192, 3, s, stride_here=True, padding=0)],
        [edge("max_pool", 0, k=3, padding=0)],
    )


def inception_e() -> dict[str, Any]:
    """8×8 module with expanded filter banks (Szegedy et al. 2016, Fig. 7; torchvision
    InceptionE): 1×1; 1×1 then 1×3 and 3×1 side by side; 1×1-3×3 then 1×3 and 3×1 side by
    side; avg pool-1×1. The split branches read one shared state, so the cell is spelt
    node by node (states: 0 input, then one per node)."""
    s = BASIC_CONV
    one_by_three, three_by_one = {"k": [1, 3], "padding": [0, 1]}, {"k": [3, 1], "padding": [1, 0]}
    nodes = [
        node(_conv(320, 1, s)),                                  # 1: branch1x1
        node(_conv(384, 1, s)),                                  # 2: branch3x3_1
        node(_conv(384, one_by_three["k"], s, input=2, padding=one_by_three["padding"])),   # 3: branch3x3_2a
        node(_conv(384, three_by_one["k"], s, input=2, padding=three_by_one["padding"])),   # 4: branch3x3_2b
        node(_conv(448, 1, s)),                                  # 5: branch3x3dbl_1
        node(_conv(384, 3, s, input=5)),                         # 6: branch3x3dbl_2
        node(_conv(384, one_by_three["k"], s, input=6, padding=one_by_three["padding"])),   # 7: branch3x3dbl_3a
        node(_conv(384, three_by_one["k"], s, input=6, padding=three_by_one["padding"])),   # 8: branch3x3dbl_3b
        node(edge("avg_pool", 0, **V3_AVG_POOL)),                # 9: 3×3/1 average pooling
        node(_conv(192, 1, s, input=9)),                         # 10: branch_pool
    ]
    return cell(nodes, output=[1, 3, 4, 7, 8, 10])


def inception_v3() -> dict[str, Any]:
    """Inception v3 as released and as torchvision builds it (299×299 input): a stem of
    five convolutions and two max poolings, Mixed_5b-5d (A), 6a (B), 6b-6e (C), 7a (D),
    7b-7c (E), global average pooling, dropout 0.5 and a classifier; one auxiliary
    classifier on Mixed_6e."""
    s = BASIC_CONV
    pool = layer("max_pool", stride=2, k=3, padding=0)
    # NOTE: the paper's Table 1 does not match the released model (its stem lists a 3×3/2
    # conv to 192 maps and a 35×35×288 output); this follows the released model, as
    # torchvision does.
    stem = [_conv_layer(32, 3, s, stride=2, padding=0), _conv_layer(32, 3, s, padding=0), _conv_layer(64, 3, s),
            pool, _conv_layer(80, 1, s), _conv_layer(192, 3, s, padding=0), pool]
    stages = [
        stage(inception_a(32), name="Mixed_5b"), stage(inception_a(64), name="Mixed_5c"),
        stage(inception_a(64), name="Mixed_5d"), stage(inception_b(), stride=2, name="Mixed_6a"),
        stage(inception_c(128), name="Mixed_6b"), stage(inception_c(160), name="Mixed_6c"),
        stage(inception_c(160), name="Mixed_6d"), stage(inception_c(192), name="Mixed_6e"),
        stage(inception_d(), stride=2, name="Mixed_7a"), stage(inception_e(), name="Mixed_7b"),
        stage(inception_e(), name="Mixed_7c"),
    ]
    after_6e = 7
    # NOTE: torchvision registers AuxLogits between Mixed_6e and Mixed_7a; the builder
    # registers auxiliary heads after all stages. The parameters are the same; a state-dict
    # loader maps them by name and shape.
    aux = aux_head(after_6e, [layer("avg_pool", stride=3, k=5, padding=0), _conv_layer(128, 1, s),
                              _conv_layer(768, 5, s, padding=0)], head("avg"))
    # NOTE: torchvision's pretrained model re-normalises its input (transform_input); that
    # is a preprocessing step, not part of the genotype.
    return network("inception_v3", stages, stem=stem, head_spec=head("avg", layers=[("dropout", 0.5)]),
                   aux_heads=[aux], input_size=299)


# NOTE: Table 1 of Szegedy et al. 2015 sums to 6.8M parameters and 1.5G multiply-adds. Its
# parameter column counts weights in units of 1024 (inception 3a: 163,328 weights, listed as
# 159K), so the paper network without aux heads has 6,998,552 parameters with biases (+2.9%).
# Its first row (7×7/2 conv: 2.7K params, 34M ops) is inconsistent with the layer it names
# (9,408 weights, 118M multiply-adds); every other row matches ours, so we count 1.583G (+5.5%).
GOOGLENET_TABLE_1 = Figures("Szegedy et al. 2015, Table 1 (6.8M params without aux heads, 1.5 billion multiply-adds)",
                            params=6_800_000, params_tolerance=0.03, macs=1.5e9, macs_tolerance=0.06,
                            counts_aux=False)


def entries() -> list[ZooEntry]:
    googlenet_torchvision = (
        Figures(f"{TORCHVISION}.googlenet (without aux heads; 1.498 GFLOPS)", params=6_624_904, macs=1.498e9,
                macs_tolerance=0.01, counts_aux=False),
        Figures(f"{TORCHVISION}.googlenet(aux_logits=True)", params=13_004_888),
    )
    return [
        ZooEntry("googlenet", "inception", GOOGLENET_PAPER,
                 {"paper": lambda: googlenet(torchvision_layout=False),
                  "torchvision": lambda: googlenet(torchvision_layout=True)},
                 {"paper": (GOOGLENET_TABLE_1,),
                  "torchvision": googlenet_torchvision},
                 notes="torchvision: BN, 3×3 instead of 5×5 in the third branch, 2×2 maxpool4, no LRN, "
                       "4×4 adaptive pooling in the aux heads",
                 foreign_names=(ForeignName("googlenet", "torchvision", ("torchvision",),
                                            ("conv1.conv.weight", "inception3a.branch1.conv.weight")),)),
        ZooEntry("inception_v3", "inception", INCEPTION_V3_PAPER,
                 {"torchvision": inception_v3},
                 {"torchvision": (
                     Figures(f"{TORCHVISION}.inception_v3 (with the aux head; 5.713 GFLOPS)", params=27_161_264,
                             macs=5.713e9, macs_tolerance=0.01),
                     Figures(f"{TORCHVISION}.inception_v3(aux_logits=False)", params=23_834_568, counts_aux=False),
                     # NOTE: the paper gives a round "5 billion multiply-adds" (and "less than 25
                     # million parameters"); the released layout counts 5.713 G, hence the tolerance.
                     Figures("Szegedy et al. 2016, abstract (5 billion multiply-adds)", macs=5e9,
                             macs_tolerance=0.15),
                 )},
                 notes="the released model's layout (torchvision), not the paper's Table 1",
                 foreign_names=(ForeignName("inception_v3", "torchvision", ("torchvision", "timm"),
                                            ("Conv2d_1a_3x3.conv.weight", "Mixed_5b.branch1x1.conv.weight")),)),
    ]
