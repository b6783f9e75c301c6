"""The batches of one one-shot epoch: the training split trains the shared weights and
the validation split the architecture (DARTS Sec. 2.3, GDAS Sec. 3.3)."""
from __future__ import annotations

from typing import Iterator

import torch

from nasbench.data.splits import DatasetSplits
from nasbench.oneshot.methods import Batch


def epoch_batches(splits: DatasetSplits, batch_size: int, generator: torch.Generator
                  ) -> Iterator[tuple[Batch, Batch]]:
    """(train batch, val batch) pairs: one pass over the shuffled training split, the
    shuffled validation split cycled beside it; the last partial batch is dropped."""
    train_images, train_labels = splits.train
    val_images, val_labels = splits.val
    train_order = torch.randperm(len(train_labels), generator=generator)
    val_order = torch.randperm(len(val_labels), generator=generator)
    size = min(batch_size, len(train_labels))
    for step in range(len(train_labels) // size):
        chosen = train_order[step * size:(step + 1) * size]
        val_chosen = val_order[torch.arange(step * size, (step + 1) * size) % len(val_labels)]
        yield ((train_images[chosen], train_labels[chosen]), (val_images[val_chosen], val_labels[val_chosen]))
