"""What to train: a user's SOURCE turned into a network genotype fitted to the data.

SOURCE is anything ``nasbench.networks.resolve`` takes: a zoo name or its torchvision/timm alias,
a network genotype JSON file, a published cell, a point JSON file or a ``nasbench.search``
run directory (cells are stacked by ``nasbench.networks.transfer``).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from nasbench.data.splits import DatasetSplits
from nasbench.networks.resolve import resolve
from nasbench.networks.transfer import CELLS, SkeletonSettings, transfer_genotype
from nasbench.train.recipe import DataSpec, load_data


@dataclass(frozen=True)
class NetworkPlan:
    """A network to train on a data set: its genotype fits the data (classes, size, channels)."""

    name: str
    genotype: dict[str, Any]
    data: DataSpec
    source: dict[str, Any]


def plan_network(source: str, data: DataSpec, skeleton: SkeletonSettings | None = None, space: str | None = None,
                 splits: DatasetSplits | None = None) -> tuple[NetworkPlan, DatasetSplits]:
    """Resolve SOURCE (``nasbench.networks.resolve``: a zoo name or alias, genotype file, published
    cell, point file, run directory) into a genotype fitted to the data, loading the data
    at the resolution the network takes. ``skeleton``: ``nasbench.networks.transfer.SkeletonSettings``
    for cells (default: the CIFAR skeleton at the data's own resolution)."""
    taken = dataclasses.replace(CELLS, elsewhere="train its network instead: a run's best_network.json, or the "
                                                  "file python -m nasbench.rebuild SOURCE --export net.json writes")
    resolved = resolve(source, space=space, spaces=taken)
    if not resolved.is_point:
        native = resolved.network()
        size = native["input_size"]
        resolution = data.resolution or (int(size[0]) if size[0] == size[1] else None)
        data = dataclasses.replace(data, resolution=resolution, channels=int(native.get("input_channels", 3)))
        splits = splits or load_data(data)
        channels, height, width = splits.input_shape
        genotype = resolved.network(num_classes=splits.num_classes, input_size=[height, width])
        return NetworkPlan(genotype.get("name") or resolved.name, genotype, data, resolved.to_dict()), splits
    settings = skeleton if skeleton is not None else SkeletonSettings(target="cifar")
    if data.resolution is None and settings.input_size is not None:
        data = dataclasses.replace(data, resolution=settings.input_size)
    elif data.resolution is None and settings.target == "imagenet":
        data = dataclasses.replace(data, resolution=settings.resolved(resolved).input_size)
    splits = splits or load_data(data)
    channels, height, _ = splits.input_shape
    settings = dataclasses.replace(settings, num_classes=splits.num_classes, input_size=height,
                                   input_channels=channels)
    genotype = transfer_genotype(resolved, settings)
    return NetworkPlan(genotype["name"], genotype, data, resolved.to_dict()), splits
