"""The proxy evaluator: build a reduced network for a space's point and train it briefly.

A point of a cell space is stacked into a small CIFAR-style skeleton (N cells per stage,
F filters); the data set is loaded once per evaluator and kept resident; each evaluation
is seeded from the candidate's seed. Failures come back as results (see ``ProxyTrainer``).
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Mapping

from nasbench.data import load_dataset
from nasbench.data.splits import DatasetSplits
from nasbench.result import EvalResult
from nasbench.train.trainer import ProgressCallback, ProxyTrainer, TrainerConfig
from search_spaces.build import build_network
from search_spaces.genotype import NetworkGenotype


def network_for(space_name: str, point: Any, skeleton: Mapping[str, Any], num_classes: int,
                input_size: int, input_channels: int) -> dict[str, Any]:
    """The network genotype (plain dict) that a space's point stands for in a skeleton."""
    if space_name == "blocks":
        from search_spaces.spaces.blocks_space import blocks_network
        return blocks_network(point, num_classes=num_classes, input_size=input_size, input_channels=input_channels,
                              stem_width=int(skeleton.get("filters", 16)))
    if space_name == "nasbench201":
        from search_spaces.spaces.nasbench201_network import nasbench201_network
        return nasbench201_network(point, cells_per_stage=int(skeleton.get("cells_per_stage", 1)),
                                   filters=int(skeleton.get("filters", 16)), num_classes=num_classes,
                                   input_size=input_size, input_channels=input_channels)
    from search_spaces.skeletons import cell_network
    return cell_network(space_name, point, "cifar", N=int(skeleton.get("cells_per_stage", 1)),
                        F=int(skeleton.get("filters", 16)), aux=bool(skeleton.get("aux_head", False)),
                        num_classes=num_classes, input_size=input_size, input_channels=input_channels)


def trainer_config(settings: Mapping[str, Any], seed: int) -> TrainerConfig:
    """A ``TrainerConfig`` from the ``trainer`` config group, with the candidate's seed."""
    known = {f.name for f in dataclasses.fields(TrainerConfig)}
    unknown = sorted(set(settings) - known)
    if unknown:
        raise ValueError(f"trainer.{unknown[0]}: not a trainer setting; known: {', '.join(sorted(known))}")
    return TrainerConfig(**{**settings, "seed": seed})


class ProxyEvaluator:
    """Trains each candidate's proxy network on the configured data set."""

    def __init__(self, space_name: str, skeleton: Mapping[str, Any], data: Mapping[str, Any],
                 trainer: Mapping[str, Any], repo_root: Path | None = None):
        self.space_name = space_name
        self.skeleton = dict(skeleton)
        self.data = dict(data)
        self.trainer = dict(trainer)
        trainer_config(self.trainer, 0)  # refuse a misspelt setting now, not mid-search
        self._splits: DatasetSplits | None = None

    def splits(self) -> DatasetSplits:
        if self._splits is None:
            root = self.data.get("root")
            self._splits = load_dataset(
                self.data["name"], None if root is None else Path(str(root)).expanduser(),
                seed=int(self.data.get("seed", 0)), train_fraction=float(self.data.get("train_fraction", 1.0)),
                resolution=self.data.get("resolution"))
        return self._splits

    def evaluate(self, point: Any, seed: int, progress: ProgressCallback | None = None) -> EvalResult:
        """Train ``point``'s proxy network; ``progress`` is the trainer's per-epoch
        callback (``ProxyTrainer.fit``), used by the Ray executor to report each epoch."""
        splits = self.splits()
        channels, height, _ = splits.input_shape
        try:
            genotype = network_for(self.space_name, point, self.skeleton, splits.num_classes, height, channels)
            model = build_network(NetworkGenotype.from_dict(genotype).to_dict(), seed=seed)
        except ValueError as exc:
            return EvalResult(status="error", message=f"cannot build the candidate: {exc}", seed=seed)
        result = ProxyTrainer(trainer_config(self.trainer, seed)).fit(model, splits, progress=progress)
        result.settings = {**result.settings, "skeleton": self.skeleton, "data": self.data,
                           "space": self.space_name}
        return result
