"""Data sets as resident tensors: ``load_dataset(name, root, ...)`` -> :class:`DatasetSplits`.

``DATASETS`` is the one registry of data sets (CIFAR-10/100 from the official tarballs,
scikit-learn's digits, an image folder); ``splits`` holds the train/validation/test
tensors every loader returns, and ``load_data_group`` loads what a search's ``data``
config group names. The package may import core (default paths) and ``search_spaces``
(its registry) only.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Protocol

from nasbench.data.cifar import DatasetNotFoundError, check_cifar10, check_cifar100, load_cifar10, load_cifar100
from nasbench.data.digits import load_digits
from nasbench.data.image_folder import ImageFolderError, check_image_folder, load_image_folder
from nasbench.data.splits import DatasetSplits
from search_spaces.registry import Registry


class DatasetLoader(Protocol):
    def __call__(self, root: str | Path | None, *, seed: int = 0, train_fraction: float = 1.0,
                 resolution: int | None = None, download: bool = True) -> DatasetSplits: ...


DATASETS: Registry[DatasetSplits] = Registry("data", [
    ("cifar10", load_cifar10),
    ("cifar100", load_cifar100),
    ("digits", load_digits),
    ("image_folder", load_image_folder),
])
"""The one registry of data sets: a name maps to a ``DatasetLoader``."""

DATASET_CHECKS: Registry[object] = Registry("data check", [
    ("cifar10", check_cifar10),
    ("cifar100", check_cifar100),
    ("image_folder", check_image_folder),
])
"""Checks that need no image decoded, run when a search is set up (``check_dataset``),
so that missing data or a bad folder is one line before the first candidate rather than
a failure in each. CIFAR is found (or downloaded) then; digits ship with scikit-learn."""


def check_dataset(name: str, root: str | Path | None) -> None:
    """Refuse now, with one line, a data set ``name`` at ``root`` that cannot load."""
    if name in DATASET_CHECKS:
        DATASET_CHECKS.create(name, root)


def load_dataset(name: str, root: str | Path | None = None, *, seed: int = 0,
                 train_fraction: float = 1.0, resolution: int | None = None,
                 download: bool = True) -> DatasetSplits:
    """Load the data set ``name`` (a key of :data:`DATASETS`) from ``root``.

    ``seed`` fixes the train/validation split, ``train_fraction`` keeps that fraction of
    the training split (proxies), ``resolution`` resizes to a square of that side.
    """
    return DATASETS.create(name, root, seed=seed, train_fraction=train_fraction,
                          resolution=resolution, download=download)


def load_data_group(data: Mapping[str, Any]) -> DatasetSplits:
    """The data set a search's ``data`` config group names (``name``, ``root``, ``seed``,
    ``train_fraction``, ``resolution``), as the proxy evaluator and the one-shot searches
    load it."""
    root = data.get("root")
    return load_dataset(str(data.get("name", "digits")), None if root is None else Path(str(root)).expanduser(),
                        seed=int(data.get("seed", 0)), train_fraction=float(data.get("train_fraction", 1.0)),
                        resolution=data.get("resolution"))


__all__ = ["DATASETS", "DATASET_CHECKS", "DatasetNotFoundError", "DatasetSplits", "ImageFolderError", "check_dataset",
           "load_data_group", "load_dataset"]
