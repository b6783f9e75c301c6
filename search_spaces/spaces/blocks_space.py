"""A macro search space over the documented blocks: per stage a block type, width, depth
and stride, with a stem and a head. The classic ResNets, VGGs and DenseNets of the zoo
are points of it (``classic_points``; a test checks that each builds to the zoo's exact
genotype), so a search can start from, or rediscover, a classic design.
"""
from __future__ import annotations

import random
from typing import Any, Callable, Mapping, Sequence

from ..blocks import (basic_block, bottleneck, branches, dense_layer, depthwise_separable, plain_convs,
                      separable_exit, separable_middle, separable_residual, transition)
from ..dsl import cell, classifier_mlp, edge, head, layer, network, node, stage
from ..zoo.xception import STEM as XCEPTION_STEM
from ..genotype import NetworkGenotype
from .base import Decision, SpaceError, json_key, skeleton_settings
from .encodings import one_hot

MAX_STAGES = 6
STEMS = ("imagenet", "cifar", "xception", "none")
HEADS = ("avg", "bn_avg", "vgg")
BLOCKS = ("none", "plain", "plain_bn", "residual", "bottleneck", "se_bottleneck", "grouped", "inception",
          "dense", "depthwise", "separable", "separable_exit", "separable_head")
WIDTHS = (16, 32, 48, 64, 128, 256, 512, 728, 1024, 2048)
DEPTHS = (1, 2, 3, 4, 6, 8, 12, 16, 23, 24, 32, 36, 48, 64)
STRIDES = (1, 2)
STAGE_FIELDS = ("block", "width", "depth", "stride")


def _inception_module() -> dict[str, Any]:
    """An Inception module with GoogLeNet 3a's proportions of the output width: 1×1 (1/4),
    1×1→3×3 (3/8→1/2), 1×1→5×5 (1/16→1/8), 3×3 pool→1×1 (1/8) (Szegedy et al. 2015)."""
    return branches(
        [edge("conv", 0, width=0.25, k=1)],
        [edge("conv", 0, width=0.375, k=1), edge("conv", 0, width=0.5, k=3)],
        [edge("conv", 0, width=0.0625, k=1), edge("conv", 0, width=0.125, k=5)],
        [edge("max_pool", 0, k=3), edge("conv", 0, width=0.125, k=1)],
    )


# block -> the repeated cell of a stage (dense stages are special: see ``_stages_for``).
BLOCK_CELLS: Mapping[str, Callable[[], dict[str, Any]]] = {
    "plain": lambda: plain_convs(1, order="conv_act", pool=None),
    "plain_bn": lambda: plain_convs(1, order="conv_bn_act", pool=None),
    "residual": basic_block,
    "bottleneck": bottleneck,
    # NOTE: the SE bottleneck strides in its 3×3, as timm's SE-ResNets do; the authors' Caffe
    # release (the zoo's se_resnet50 "paper" variant) strides in the 1×1 behind a ceil-mode stem.
    "se_bottleneck": lambda: bottleneck(stride_in_1x1=False, se_reduction=16),
    "grouped": lambda: bottleneck(inner=0.5, groups=32),
    "inception": _inception_module,
    "depthwise": depthwise_separable,
    "separable_head": separable_exit,
}


def _stem(kind: str) -> list[dict[str, Any]]:
    if kind == "imagenet":
        return [layer("conv", 64, stride=2, k=7, order="conv_bn_act"), layer("max_pool", stride=2, k=3, padding=1)]
    if kind == "cifar":
        return [layer("conv", 16, k=3, order="conv_bn_act")]
    if kind == "xception":
        return list(XCEPTION_STEM)
    return []


def _stem_channels(kind: str, input_channels: int) -> int:
    return {"imagenet": 64, "cifar": 16, "xception": 64}.get(kind, input_channels)


def _stages_for(spec: Mapping[str, Any], channels: int) -> tuple[list[dict[str, Any]], int]:
    """The genotype stages of one space stage, and the channels after them."""
    block, width, depth, stride = (spec[f] for f in STAGE_FIELDS)
    if block in ("plain", "plain_bn"):
        # VGG: a stage's convolutions then 2×2 max pooling that carries the stride.
        order = "conv_act" if block == "plain" else "conv_bn_act"
        extra = {} if block == "plain" else {"bias": True}
        cell_spec = plain_convs(depth, order=order, pool="max_pool" if stride == 2 else None, **extra)
        return [stage(cell_spec, width=width, stride=stride)], width
    if block == "dense":
        # DenseNet: a transition (BN-ReLU-1×1 conv to half the channels, 2×2 avg pool)
        # carries the stride, then ``depth`` dense layers of growth rate ``width``.
        result = []
        if stride == 2:
            channels //= 2
            result.append(stage(transition(), width=channels, stride=2))
        result.append(stage(dense_layer(), depth, width=width))
        return result, channels + depth * width
    if block == "separable":
        # Xception: a strided entry block (separable convs, max pool, 1×1/2 shortcut), or at
        # stride 1 the middle flow's three separable convs around an identity.
        cell_spec = separable_residual() if stride == 2 else separable_middle()
        return [stage(cell_spec, depth, width=width, stride=stride)], width
    if block == "separable_exit":
        # Xception's exit block: its first separable conv keeps the input width.
        return [stage(separable_residual(first_channels=channels), depth, width=width, stride=stride)], width
    return [stage(BLOCK_CELLS[block](), depth, width=width, stride=stride)], width


def blocks_network(point: Mapping[str, Any], num_classes: int = 1000, input_size: int = 224,
                   input_channels: int = 3) -> dict[str, Any]:
    """The network genotype (plain dict) of a point of the blocks space."""
    channels = _stem_channels(point["stem"], input_channels)
    stages: list[dict[str, Any]] = []
    for spec in point["stages"]:
        if spec["block"] == "none":
            break
        more, channels = _stages_for(spec, channels)
        stages += more
    if point["head"] == "bn_avg":
        stages.append(stage(cell([node(edge("bn", 0, reduce=False))]), name="final_bn"))
    if point["head"] == "vgg":
        head_spec = head("avg", pool_size=7, layers=classifier_mlp((4096, 4096), 0.5, dropout_first=False))
    else:
        head_spec = head("avg")
    return network("blocks", stages, stem=_stem(point["stem"]), head_spec=head_spec, input_size=input_size,
                   input_channels=input_channels, num_classes=num_classes)


class BlocksSpace:
    """Stem, head, and up to six stages of (block, width, depth, stride); a stage with
    block ``none`` ends the network (the stages after it are ignored, and canonically
    ``none`` too)."""

    name = "blocks"

    def decisions(self) -> Sequence[Decision]:
        result = [Decision("stem", STEMS), Decision("head", HEADS)]
        for index in range(MAX_STAGES):
            result += [Decision(f"stage{index}.block", BLOCKS), Decision(f"stage{index}.width", WIDTHS),
                       Decision(f"stage{index}.depth", DEPTHS), Decision(f"stage{index}.stride", STRIDES)]
        return result

    def canonical(self, point: Mapping[str, Any]) -> dict[str, Any]:
        stages, ended = [], False
        for spec in point["stages"]:
            ended = ended or spec["block"] == "none"
            stages.append({"block": "none", "width": WIDTHS[0], "depth": DEPTHS[0], "stride": STRIDES[0]}
                          if ended else {f: spec[f] for f in STAGE_FIELDS})
        return {"stem": point["stem"], "head": point["head"], "stages": stages}

    def sample(self, rng: random.Random) -> dict[str, Any]:
        stages = []
        count = rng.randint(1, MAX_STAGES)
        for index in range(MAX_STAGES):
            block = rng.choice(BLOCKS[1:]) if index < count else "none"
            width = rng.choice(WIDTHS[3:] if block == "grouped" else WIDTHS)
            stages.append({"block": block, "width": width, "depth": rng.choice(DEPTHS[:6]),
                           "stride": rng.choice(STRIDES)})
        point = self.canonical({"stem": rng.choice(STEMS), "head": rng.choice(HEADS), "stages": stages})
        return point if self.contains(point) else self.sample(rng)

    def encode(self, point: Any) -> list[int]:
        self._check(point)
        point = self.canonical(point)
        indices = [STEMS.index(point["stem"]), HEADS.index(point["head"])]
        for spec in point["stages"]:
            indices += [BLOCKS.index(spec["block"]), WIDTHS.index(spec["width"]), DEPTHS.index(spec["depth"]),
                        STRIDES.index(spec["stride"])]
        return indices

    def decode(self, indices: Sequence[int]) -> dict[str, Any]:
        decisions = self.decisions()
        if len(indices) != len(decisions):
            raise SpaceError(f"blocks space: expected {len(decisions)} decisions, got {len(indices)}")
        for decision, index in zip(decisions, indices):
            if not 0 <= index < decision.size:
                raise SpaceError(f"blocks space: {decision.name} index {index} is outside 0..{decision.size - 1}")
        values = [d.choices[i] for d, i in zip(decisions, indices)]
        stages = [dict(zip(STAGE_FIELDS, values[2 + 4 * s: 6 + 4 * s])) for s in range(MAX_STAGES)]
        return self.canonical({"stem": values[0], "head": values[1], "stages": stages})

    def mutate(self, point: Any, rng: random.Random) -> dict[str, Any]:
        """Change one decision of a live stage (or the stem or head) to another value."""
        parent = self.canonical(point)
        indices = self.encode(parent)
        live = 2 + 4 * sum(spec["block"] != "none" for spec in parent["stages"])
        decisions = self.decisions()
        while True:
            position = rng.randrange(min(live + 1, len(indices)))
            choices = [i for i in range(decisions[position].size) if i != indices[position]]
            child_indices = list(indices)
            child_indices[position] = rng.choice(choices)
            child = self.decode(child_indices)
            if self.contains(child) and self.key(child) != self.key(parent):
                return child

    def neighbours(self, point: Any) -> list[dict[str, Any]]:
        """Every point ``mutate`` can reach: one decision of the stem, head, a live stage or
        the first ended stage's block changed to each other value, where the result is a
        member; each point once, never ``point`` itself; decisions in order, values ascending."""
        parent = self.canonical(point)
        indices = self.encode(parent)
        live = 2 + 4 * sum(spec["block"] != "none" for spec in parent["stages"])
        decisions = self.decisions()
        seen, result = {self.key(parent)}, []
        for position in range(min(live + 1, len(indices))):
            for choice in range(decisions[position].size):
                child = self.decode(indices[:position] + [choice] + indices[position + 1:])
                child_key = self.key(child)
                if child_key not in seen and self.contains(child):
                    seen.add(child_key)
                    result.append(child)
        return result

    def features(self, point: Any) -> list[float]:
        """One-hot of every decision (``decisions()``) of the canonical point: 241 features."""
        return one_hot(self.encode(point), [decision.size for decision in self.decisions()])

    def contains(self, point: Any) -> bool:
        try:
            self._check(point)
        except SpaceError:
            return False
        return True

    def network(self, point: Any, *, num_classes: int = 10, input_size: int = 32, input_channels: int = 3,
                skeleton: Mapping[str, Any] | None = None) -> NetworkGenotype:
        """The whole network: the stem, stages and head are all part of the point, so the
        only skeleton setting is its ``name``, ``blocks``."""

        settings = skeleton_settings(self.name, skeleton, {"name": "blocks"})
        if settings["name"] != "blocks":
            raise SpaceError(f"skeleton.name: the blocks space's network is 'blocks', not {settings['name']!r}")
        self._check(point)
        return NetworkGenotype.from_dict(blocks_network(point, num_classes=num_classes, input_size=input_size,
                                                        input_channels=input_channels))

    def key(self, point: Any) -> str:
        return json_key(self.canonical(point))

    def _check(self, point: Any) -> None:
        if not isinstance(point, Mapping) or set(point) != {"stem", "head", "stages"}:
            raise SpaceError("blocks space: a point is an object with stem, head and stages")
        if point["stem"] not in STEMS or point["head"] not in HEADS:
            raise SpaceError(f"blocks space: stem must be one of {STEMS} and head one of {HEADS}")
        if not isinstance(point["stages"], list) or len(point["stages"]) != MAX_STAGES:
            raise SpaceError(f"blocks space: stages must be a list of {MAX_STAGES}")
        for index, spec in enumerate(point["stages"]):
            for field, choices in zip(STAGE_FIELDS, (BLOCKS, WIDTHS, DEPTHS, STRIDES)):
                if not isinstance(spec, Mapping) or spec.get(field) not in choices:
                    raise SpaceError(f"blocks space: stages[{index}].{field} must be one of {choices}")
        if point["stages"][0]["block"] == "none":
            raise SpaceError("blocks space: the first stage needs a block")
        for index, spec in enumerate(point["stages"]):
            if spec["block"] == "separable_exit" and spec["stride"] != 2:
                raise SpaceError(f"blocks space: stages[{index}] separable_exit is a strided block (stride 2)")
            if spec["block"] == "grouped" and (spec["width"] // 2) % 32:
                raise SpaceError(f"blocks space: stages[{index}] grouped (32 groups) needs a width divisible by 64")


def _stages(*specs: tuple[str, int, int, int]) -> list[dict[str, Any]]:
    stages = [dict(zip(STAGE_FIELDS, spec)) for spec in specs]
    stages += [{"block": "none", "width": WIDTHS[0], "depth": DEPTHS[0], "stride": STRIDES[0]}] * (MAX_STAGES - len(stages))
    return stages


def _resnet(block: str, depths: Sequence[int], expansion: int) -> dict[str, Any]:
    return {"stem": "imagenet", "head": "avg", "stages": _stages(
        *[(block, 64 * 2 ** i * expansion, depth, 1 if i == 0 else 2) for i, depth in enumerate(depths)])}


def _vgg(block: str, convs: Sequence[int]) -> dict[str, Any]:
    return {"stem": "none", "head": "vgg", "stages": _stages(
        *[(block, width, count, 2) for width, count in zip((64, 128, 256, 512, 512), convs)])}


def _densenet(depths: Sequence[int]) -> dict[str, Any]:
    return {"stem": "imagenet", "head": "bn_avg", "stages": _stages(
        *[("dense", 32, depth, 1 if i == 0 else 2) for i, depth in enumerate(depths)])}


def _xception() -> dict[str, Any]:
    return {"stem": "xception", "head": "avg", "stages": _stages(
        ("separable", 128, 1, 2), ("separable", 256, 1, 2), ("separable", 728, 1, 2), ("separable", 728, 8, 1),
        ("separable_exit", 1024, 1, 2), ("separable_head", 2048, 1, 1))}


def classic_points() -> dict[tuple[str, str | None], dict[str, Any]]:
    """(zoo name, variant) -> the point of this space that is that network."""
    return {
        ("resnet18", None): _resnet("residual", (2, 2, 2, 2), 1),
        ("resnet34", None): _resnet("residual", (3, 4, 6, 3), 1),
        ("resnet50", "torchvision"): _resnet("bottleneck", (3, 4, 6, 3), 4),
        ("resnet101", "torchvision"): _resnet("bottleneck", (3, 4, 23, 3), 4),
        ("resnet152", "torchvision"): _resnet("bottleneck", (3, 8, 36, 3), 4),
        ("resnext50_32x4d", None): _resnet("grouped", (3, 4, 6, 3), 4),
        ("se_resnet50", "timm"): _resnet("se_bottleneck", (3, 4, 6, 3), 4),
        ("vgg11", None): _vgg("plain", (1, 1, 2, 2, 2)),
        ("vgg13", None): _vgg("plain", (2, 2, 2, 2, 2)),
        ("vgg16", None): _vgg("plain", (2, 2, 3, 3, 3)),
        ("vgg19", None): _vgg("plain", (2, 2, 4, 4, 4)),
        ("vgg16", "bn"): _vgg("plain_bn", (2, 2, 3, 3, 3)),
        ("densenet121", None): _densenet((6, 12, 24, 16)),
        ("densenet169", None): _densenet((6, 12, 32, 32)),
        ("densenet201", None): _densenet((6, 12, 48, 32)),
        ("densenet264", None): _densenet((6, 12, 64, 48)),
        ("xception", None): _xception(),
    }
