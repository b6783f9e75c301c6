"""What a full-scale training run is: its recipe, its data, and the job that pairs them
with a network (plain data, saved in ``train.json`` and in every checkpoint)."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import torch

from nasbench.data import DATASETS, DatasetNotFoundError, load_dataset
from nasbench.data.image_folder import ImageFolderError, load_image_folder
from nasbench.data.splits import DatasetSplits
from nasbench.core.errors import UsageError
from nasbench.train.base_config import TrainConfigBase
from nasbench.core.errors import first_line
from nasbench.train.freeze import FREEZE_MODES
from search_spaces.genotype import NetworkGenotype

BACKENDS = ("auto", "gloo", "nccl")
EXECUTION_FIELDS = ("num_workers", "use_gpu", "device", "backend", "cpu_threads", "max_failures", "ray_address",
                    "ray_checkpoints")
"""The settings that may change when a run is resumed; the others are its recipe."""


@dataclass
class FullTrainConfig(TrainConfigBase):
    """The recipe (fixed for a run) and the execution settings (``EXECUTION_FIELDS``,
    which may change when a run is resumed). Defaults: DARTS' final CIFAR training."""

    epochs: int = 600
    batch_size: int = 96  # the global batch; each of n workers takes batch_size / n
    lr: float = 0.025
    nesterov: bool = False
    weight_decay: float = 3e-4
    cutout: int = 16
    drop_path: float = 0.2
    grad_clip: float = 5.0
    eval_batch_size: int = 256
    ema_decay: float = 0.9998  # per step; 0 = no EMA
    freeze: str = "none"  # fine-tuning: none | linear | partial | full (nasbench.train.freeze)
    trainable_stages: int = 0  # K of freeze=partial
    # execution (``device`` and ``cpu_threads`` too: in-process runs; Ray workers use Ray's device)
    num_workers: int = 1
    use_gpu: bool = False
    backend: str = "auto"  # gloo on CPUs, nccl on GPUs
    max_failures: int = 0  # Ray Train restarts of a failed worker group (each resumes)
    ray_address: str | None = None  # join a cluster; None starts Ray here if it is not running
    ray_checkpoints: bool = True  # also report each checkpoint to Ray (ray.train.report)

    def __post_init__(self) -> None:
        super().__post_init__()
        self.check_non_negative("num_workers", "max_failures", "trainable_stages")
        self.check_fraction("ema_decay")
        self.check_choice("backend", BACKENDS)
        self.check_choice("freeze", FREEZE_MODES)
        if self.num_workers > 1 and self.batch_size % self.num_workers:
            raise self.error("batch_size", f"{self.batch_size} is not divisible by num_workers={self.num_workers}")


@dataclass
class DataSpec:
    """Where the data come from: a name of ``nasbench.data.DATASETS`` or an image folder."""

    name: str
    root: str | None = None
    seed: int = 0
    resolution: int | None = None  # side of the square images; None = the data's own
    train_fraction: float = 1.0
    val_fraction: float = 0.1  # image folders: the validation share of the pool
    channels: int | None = None  # 3 repeats grey images over three channels
    download: bool = True


@dataclass
class TrainJob:
    """Everything a run needs, as plain data (saved in ``train.json`` and the checkpoint)."""

    name: str
    genotype: dict[str, Any]
    data: DataSpec
    config: FullTrainConfig
    output_dir: str
    init_weights: str | None = None  # a state_dict file loaded (by name, strictly) before training
    source: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "TrainJob":
        return cls(name=data["name"], genotype=dict(data["genotype"]), data=DataSpec(**data["data"]),
                   config=FullTrainConfig(**data["config"]), output_dir=data["output_dir"],
                   init_weights=data.get("init_weights"), source=dict(data.get("source") or {}))

    def recipe(self) -> dict[str, Any]:
        """What must not change when the run resumes."""
        config = {k: v for k, v in dataclasses.asdict(self.config).items() if k not in EXECUTION_FIELDS}
        data = {k: v for k, v in dataclasses.asdict(self.data).items() if k != "download"}
        return {"genotype": NetworkGenotype.from_dict(self.genotype).key(), "data": data,
                "config": config, "init_weights": self.init_weights}


@dataclass(frozen=True)
class TrainOutcome:
    """What a call of ``train_full`` left: ``status`` is ``finished`` or ``stopped``."""

    status: str
    epochs_done: int
    steps: int
    output_dir: Path
    final: dict[str, Any]


def check_same_recipe(saved: TrainJob, job: TrainJob) -> None:
    """Refuse to resume a checkpoint with another network, data set or recipe."""
    old, new = saved.recipe(), job.recipe()
    if old["genotype"] != new["genotype"]:
        raise UsageError(f"{job.output_dir} holds a checkpoint of another network ({saved.name}); "
                         f"use another output directory")
    for section in ("data", "config"):
        for key, value in new[section].items():
            if old[section].get(key) != value:
                raise UsageError(f"{section}.{key}={value!r} differs from the checkpoint's "
                                 f"{old[section].get(key)!r}; a resumed run keeps its settings")
    if old["init_weights"] != new["init_weights"]:
        raise UsageError("the initial weights differ from the checkpoint's; use another output directory")


def load_data(spec: DataSpec) -> DatasetSplits:
    """The splits ``spec`` names, with grey images repeated to ``spec.channels`` channels."""
    try:
        if spec.name in DATASETS:
            splits = load_dataset(spec.name, spec.root, seed=spec.seed, train_fraction=spec.train_fraction,
                                  resolution=spec.resolution, download=spec.download)
        elif Path(spec.name).expanduser().is_dir():
            splits = load_image_folder(spec.name, seed=spec.seed, train_fraction=spec.train_fraction,
                                       resolution=spec.resolution, val_fraction=spec.val_fraction)
        else:
            raise UsageError(f"--data: {spec.name!r} is neither a data set ({', '.join(DATASETS)}) nor an "
                             f"image folder")
    except (DatasetNotFoundError, ImageFolderError, ValueError) as exc:  # missing files, a bad setting
        raise UsageError(f"--data: {first_line(exc)}") from exc
    channels = splits.input_shape[0]
    if spec.channels is None or spec.channels == channels:
        return splits
    if channels != 1:
        raise UsageError(f"--data: {spec.name} has {channels} channels; the network takes {spec.channels}")

    def widen(split: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        return split[0].expand(-1, spec.channels, -1, -1).contiguous(), split[1]

    return DatasetSplits(widen(splits.train), widen(splits.val), widen(splits.test), splits.num_classes,
                         (spec.channels, *splits.input_shape[1:]), splits.name)
