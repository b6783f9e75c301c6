"""Train/validation/test splits of an image data set, held as tensors.

Every loader ends here: raw uint8 (or float) images go in, seeded index splits, optional
resizing and per-channel normalisation with the training split's statistics come out as a
:class:`DatasetSplits`. The test split is kept apart for final reports; searches select
on the validation split only.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor

from nasbench.core.errors import ConfigError

Split = tuple[Tensor, Tensor]


@dataclass(frozen=True)
class DatasetSplits:
    """Images (float32 N×C×H×W, normalised) and labels (int64 N) of each split."""

    train: Split = field(repr=False)
    val: Split = field(repr=False)
    test: Split = field(repr=False)
    num_classes: int
    input_shape: tuple[int, int, int]
    name: str

    def __repr__(self) -> str:
        sizes = ", ".join(f"{key}={len(getattr(self, key)[1])}" for key in ("train", "val", "test"))
        return (f"DatasetSplits(name={self.name!r}, {sizes}, num_classes={self.num_classes}, "
                f"input_shape={self.input_shape})")

    def to(self, device: torch.device | str) -> "DatasetSplits":
        """The same splits with every tensor on ``device`` (no copy when already there)."""

        def move(split: Split) -> Split:
            return split[0].to(device), split[1].to(device)

        return DatasetSplits(move(self.train), move(self.val), move(self.test),
                             self.num_classes, self.input_shape, self.name)


def seeded_permutation(n: int, seed: int) -> Tensor:
    """A permutation of ``range(n)`` that depends only on ``seed`` (CPU generator)."""
    generator = torch.Generator().manual_seed(seed)
    return torch.randperm(n, generator=generator)


def to_float_images(images: Tensor) -> Tensor:
    """uint8 images in [0, 255] to float32 in [0, 1]; float input is only cast."""
    if images.dtype == torch.uint8:
        return images.to(torch.float32).div_(255.0)
    return images.to(torch.float32)


def resize(images: Tensor, resolution: int | None) -> Tensor:
    """Bilinear resize of N×C×H×W images to ``resolution``×``resolution`` (None: unchanged)."""
    if resolution is None or images.shape[-2:] == (resolution, resolution):
        return images
    if resolution < 1:
        raise ConfigError(f"resolution: {resolution} must be a positive integer")
    downsampling = resolution < max(images.shape[-2:])
    return F.interpolate(images, size=(resolution, resolution), mode="bilinear",
                         align_corners=False, antialias=downsampling)


def channel_statistics(images: Tensor) -> tuple[Tensor, Tensor]:
    """Per-channel mean and standard deviation of N×C×H×W images."""
    mean = images.mean(dim=(0, 2, 3))
    std = images.std(dim=(0, 2, 3)).clamp_min(1e-6)
    return mean, std


def build_splits(images: Tensor, labels: Tensor, test_images: Tensor, test_labels: Tensor, *,
                 val_size: int, seed: int, train_fraction: float, resolution: int | None,
                 num_classes: int, name: str) -> DatasetSplits:
    """Split ``images`` into train and validation, subsample, resize and normalise.

    ``val_size`` images of the shuffled pool become the validation split and the rest the
    training split, of which the first ``train_fraction`` is kept (so the validation split
    is the same whatever fraction a proxy trains on). Mean and standard deviation come from
    the kept training images and are applied to all three splits.
    """
    if not 0.0 < train_fraction <= 1.0:
        raise ConfigError(f"train_fraction: {train_fraction} must be in (0, 1]")
    if not 0 < val_size < len(labels):
        raise ConfigError(f"val_size: {val_size} must be in (0, {len(labels)})")
    order = seeded_permutation(len(labels), seed)
    val_index, train_index = order[:val_size], order[val_size:]
    kept = max(1, round(train_fraction * len(train_index)))
    train_index = train_index[:kept]

    def prepare(selected: Tensor) -> Tensor:
        return resize(to_float_images(selected), resolution)

    train_x = prepare(images[train_index])
    val_x = prepare(images[val_index])
    test_x = prepare(test_images)
    mean, std = channel_statistics(train_x)
    for split in (train_x, val_x, test_x):
        split.sub_(mean[:, None, None]).div_(std[:, None, None])
    labels, test_labels = labels.to(torch.int64), test_labels.to(torch.int64)
    return DatasetSplits(
        train=(train_x, labels[train_index]),
        val=(val_x, labels[val_index]),
        test=(test_x, test_labels),
        num_classes=num_classes,
        input_shape=tuple(train_x.shape[1:]),
        name=name,
    )
