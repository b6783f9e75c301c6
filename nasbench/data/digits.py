"""scikit-learn's handwritten digits: the embedded quick data set.

1,797 grey 8×8 images of the digits 0-9 (the UCI "Optical Recognition of Handwritten
Digits" test set, Alpaydin & Kaynak 1998) that ship inside scikit-learn, so a search can
run with no download and no network. Pixel values are 0-16.
"""
from __future__ import annotations

from pathlib import Path

import torch

from nasbench.data.splits import DatasetSplits, build_splits, seeded_permutation

PIXEL_MAX = 16.0
VAL_FRACTION = 0.15
TEST_FRACTION = 0.15


def load_digits(root: str | Path | None = None, *, seed: int = 0, train_fraction: float = 1.0,
                resolution: int | None = None, download: bool = True) -> DatasetSplits:
    """Seeded 70/15/15 train/validation/test splits of the digits, optionally upscaled.

    ``root`` and ``download`` are accepted so that every loader is called alike; the data
    ships with scikit-learn and needs neither.
    """
    del root, download
    from sklearn.datasets import load_digits as sklearn_digits  # a second to import: only when loading

    bunch = sklearn_digits()
    images = torch.from_numpy(bunch.images).to(torch.float32).div_(PIXEL_MAX).unsqueeze(1)
    labels = torch.from_numpy(bunch.target).to(torch.int64)
    # NOTE: the test split is drawn with a seed of its own, so it stays the same images
    # whatever ``seed`` reshuffles between train and validation.
    order = seeded_permutation(len(labels), seed=0)
    test_size = round(TEST_FRACTION * len(labels))
    test_index, pool_index = order[:test_size], order[test_size:]
    return build_splits(images[pool_index], labels[pool_index], images[test_index],
                        labels[test_index], val_size=round(VAL_FRACTION * len(labels)),
                        seed=seed, train_fraction=train_fraction, resolution=resolution,
                        num_classes=10, name="digits")
