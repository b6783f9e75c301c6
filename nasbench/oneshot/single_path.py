"""What the single-path methods (ENAS, SPOS) share: drawing points and batches from an
epoch's generator, scoring a point's subnet on inherited weights, recalibrating batch
normalisation for one subnet, and the op entropy of a set of points."""
from __future__ import annotations

import random
from typing import Any, Sequence

import torch
import torch.nn as nn

from nasbench.data.splits import DatasetSplits
from nasbench.oneshot.loop import accuracy
from nasbench.oneshot.methods import Batch, OneShotError, SharedWeightTraining
from search_spaces.supernet import Paths, Supernet


def check_count(name: str, value: int, minimum: int = 1) -> int:
    """``value`` if it is an integer of at least ``minimum``, else one ``OneShotError`` line."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise OneShotError(f"search.params.{name}: expected an integer >= {minimum}, got {value!r}")
    return value


def uniform_point(supernet: Supernet, generator: torch.Generator) -> Any:
    """A point drawn uniformly from the space (``Space.sample``), seeded from ``generator``."""
    seed = int(torch.randint(0, 2**62, (1,), generator=generator))
    return supernet.space.sample(random.Random(seed))


def single_path(supernet: Supernet, point: Any) -> Paths:
    """The supernet paths of ``point``'s subnet: one op per chosen edge, nothing else computed."""
    return Paths(active=supernet.paths_of(point))


def random_batch(split: tuple[torch.Tensor, torch.Tensor], size: int, generator: torch.Generator) -> Batch:
    """``size`` examples of ``split`` drawn without replacement (all of it when smaller)."""
    images, labels = split
    chosen = torch.randperm(len(labels), generator=generator)[:size]
    return images[chosen], labels[chosen]


def batch_accuracy(supernet: Supernet, point: Any, batch: Batch) -> float:
    """The accuracy of ``point``'s subnet on ``batch`` (eval mode, inherited weights)."""
    return accuracy(supernet, single_path(supernet, point), *batch)


@torch.no_grad()
def recalibrate_batchnorm(supernet: Supernet, point: Any, batches: Sequence[torch.Tensor]) -> None:
    """Reset every batch norm's running statistics and recompute them as the plain average
    over ``batches`` through ``point``'s subnet (SPOS, Guo et al. 2020, Sec. 3.3: the
    supernet's statistics mix every path and do not fit any one subnet)."""
    norms = [m for m in supernet.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats]
    momenta = [m.momentum for m in norms]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # a cumulative average over the batches
    was_training = supernet.training
    supernet.train()
    paths = single_path(supernet, point)
    for images in batches:
        supernet(images, paths)
    supernet.train(was_training)
    for norm, momentum in zip(norms, momenta):
        norm.momentum = momentum


def recalibrated_accuracy(supernet: Supernet, point: Any, splits: DatasetSplits,
                          batches: Sequence[torch.Tensor]) -> float:
    """Validation accuracy of ``point``'s subnet on inherited weights after recalibrating
    batch normalisation on ``batches`` of training images."""
    recalibrate_batchnorm(supernet, point, batches)
    return accuracy(supernet, single_path(supernet, point), *splits.val)


def population_entropy(supernet: Supernet, points: Sequence[Any]) -> float:
    """Mean entropy (nats) over the supernet's edges of how often each op is chosen in
    ``points`` (0 when they all agree; an edge no point uses counts as uniform)."""
    if not points:
        raise OneShotError("population_entropy: no points")
    counts = {kind: torch.zeros(supernet.arch_shape(kind)) for kind in supernet.kinds}
    for point in points:
        for kind, edges in supernet.paths_of(point).items():
            for edge, ops in enumerate(edges):
                for op in ops:
                    counts[kind][edge, op] += 1
    frequencies = {}
    for kind, table in counts.items():
        totals = table.sum(dim=-1, keepdim=True)
        frequencies[kind] = torch.where(totals > 0, table / totals.clamp_min(1), 1.0 / table.shape[-1])
    return supernet.entropy(frequencies)


class SinglePathMethod(SharedWeightTraining):
    """A method whose answer is one derived point (ENAS, SPOS): it is evaluated as its
    single path, and each epoch's record adds the learning rate and its skip connections
    to the method's own ``metrics``."""

    metrics: dict[str, Any]

    def eval_paths(self) -> Paths:
        return single_path(self.supernet, self.derive())

    def epoch_metrics(self) -> dict[str, Any]:
        return {**self.metrics, "lr": self.current_lr, "skip_connections": self.supernet.skip_count(self.derive())}
