"""What to train: a user's SOURCE turned into a network genotype fitted to the data.

SOURCE is a zoo name, a network genotype JSON file, a published cell, a point JSON file
or a ``nasbench.search`` run directory (cells are stacked by ``nasbench.transfer``).
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from nasbench.data.splits import DatasetSplits
from nasbench.errors import UsageError
from nasbench.train.errors import first_line
from nasbench.train.recipe import DataSpec, load_data
from search_spaces.genotype import NetworkGenotype

if TYPE_CHECKING:
    from nasbench.transfer import SkeletonSettings


@dataclass(frozen=True)
class NetworkPlan:
    """A network to train on a data set: its genotype fits the data (classes, size, channels)."""

    name: str
    genotype: dict[str, Any]
    data: DataSpec
    source: dict[str, Any]


def plan_network(source: str, data: DataSpec, skeleton: SkeletonSettings | None = None, space: str | None = None,
                 splits: DatasetSplits | None = None) -> tuple[NetworkPlan, DatasetSplits]:
    """Resolve SOURCE (zoo name, genotype file, published cell, point file, run directory)
    into a genotype fitted to the data, loading the data at the resolution the network
    takes. ``skeleton``: ``nasbench.transfer.SkeletonSettings`` for cells (default: the
    CIFAR skeleton at the data's own resolution)."""
    from nasbench.transfer import SkeletonSettings, load_cell, transfer_genotype

    network_genotype, label, origin = _network_source(source)
    if network_genotype is not None:
        size = network_genotype["input_size"]
        resolution = data.resolution or (int(size[0]) if size[0] == size[1] else None)
        data = dataclasses.replace(data, resolution=resolution,
                                   channels=int(network_genotype.get("input_channels", 3)))
        splits = splits or load_data(data)
        channels, height, width = splits.input_shape
        genotype = dict(network_genotype, num_classes=splits.num_classes, input_size=[height, width])
        genotype = NetworkGenotype.from_dict(genotype).to_dict()
        return NetworkPlan(label, genotype, data, origin), splits
    cell = load_cell(source, space)
    settings = skeleton if skeleton is not None else SkeletonSettings(target="cifar")
    if data.resolution is None and settings.input_size is not None:
        data = dataclasses.replace(data, resolution=settings.input_size)
    elif data.resolution is None and settings.target == "imagenet":
        data = dataclasses.replace(data, resolution=settings.resolved(cell).input_size)
    splits = splits or load_data(data)
    channels, height, _ = splits.input_shape
    settings = dataclasses.replace(settings, num_classes=splits.num_classes, input_size=height,
                                   input_channels=channels)
    genotype = transfer_genotype(cell, settings)
    return NetworkPlan(genotype["name"], genotype, data, cell.to_dict()), splits


def _network_source(source: str) -> tuple[dict[str, Any] | None, str, dict[str, Any]]:
    """A zoo name or a network genotype file -> (genotype, name, origin); (None, ...) for cells."""
    from search_spaces.zoo import zoo

    registry = zoo()
    if source in registry:
        from nasbench.rebuild import resolve

        target = resolve(source, registry=registry)
        return target.genotype, source, {"origin": "zoo", "name": source, "variant": target.variant}
    path = Path(source).expanduser()
    if path.is_file() and path.suffix.lower() == ".json":
        try:
            data = json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise UsageError(f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from exc
        if isinstance(data, Mapping) and "stages" in data:
            from search_spaces.genotype import GenotypeError

            try:
                genotype = NetworkGenotype.from_dict(data).to_dict()
            except GenotypeError as exc:
                raise UsageError(f"{path}: {first_line(exc)}") from exc
            return genotype, genotype.get("name") or path.stem, {"origin": "genotype", "location": str(path.resolve())}
    return None, "", {}
