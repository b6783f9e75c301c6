"""SPOS: a supernet trained one uniformly drawn path at a time, then searched by evolution.

Guo, Zhang, Mu, Heng, Liu, Wei & Sun 2020, "Single Path One-Shot Neural Architecture
Search with Uniform Sampling", https://arxiv.org/abs/1904.00420. Training (Sec. 3.2):
each minibatch goes through one subnet drawn uniformly from the space (``Space.sample``;
one op per edge on NAS-Bench-201) and takes one SGD step. Search (Sec. 3.3): evolution
whose fitness is a subnet's validation accuracy on the inherited weights, after its batch
normalisation statistics are recomputed on a few training batches (the supernet's mix
every path). The derived cell is the fittest subnet found.

NOTE: the evolution is our regularized evolution (``nasbench.strategies.evolution``,
Real et al. 2019), not SPOS' own (top-k parents, crossover and mutation, population 50
for 20 generations): one ask/tell loop for both phases of the toolkit. It runs after the
search's last epoch (``final``: the last of ``epochs`` or of ``budget.trials``, or one
cut short by ``budget.seconds``, and stops at the deadline once it has scored a subnet;
a search stopped by the clock between epochs ends without it); every earlier epoch
records the best of ``epoch_samples`` uniform subnets scored the same way, so the curves
show how the supernet ranks as it trains. Every candidate of one epoch is recalibrated on the same
``recalibration_batches`` training batches, so a point's score is a function of the
weights. Defaults: SGD with Nesterov momentum 0.9 and SPOS' weight decay 4e-5, a cosine
learning rate 0.05 -> 0.001 (SPOS: linear from 0.5 at batch 1024), sized for a CPU.
"""
from __future__ import annotations

import time
from typing import Any, Mapping

import torch

from nasbench.data.splits import DatasetSplits
from nasbench.oneshot.methods import Batch, OneShotError, StepStats
from nasbench.oneshot.single_path import (SinglePathMethod, check_count, population_entropy, random_batch,
                                          recalibrate_batchnorm, recalibrated_accuracy, single_path, uniform_point)
from nasbench.result import EvalResult
from nasbench.strategies.base import derive_seed
from nasbench.strategies.evolution import RegularizedEvolution
from search_spaces.supernet import Supernet


class Spos(SinglePathMethod):
    """SPOS on a supernet (see the module docstring)."""

    name = "spos"

    def __init__(self, supernet: Supernet, *, evolution_samples: int = 30, population_size: int = 10,
                 sample_size: int = 3, epoch_samples: int = 4, recalibration_batches: int = 4, seed: int = 0,
                 **settings: Any):
        for key, value in (("lr", 0.05), ("lr_min", 0.001), ("weight_decay", 4e-5), ("nesterov", True)):
            settings.setdefault(key, value)
        super().__init__(supernet, **settings)
        self.seed = seed
        self.evolution_samples = check_count("evolution_samples", evolution_samples)
        self.population_size = check_count("population_size", population_size)
        self.sample_size = check_count("sample_size", sample_size)
        if self.sample_size > self.population_size:
            raise OneShotError(f"search.params.sample_size: {sample_size} is above population_size {population_size}")
        self.epoch_samples = check_count("epoch_samples", epoch_samples)
        self.recalibration_batches = check_count("recalibration_batches", recalibration_batches)
        self.derived: Any = None
        self.metrics: dict[str, Any] = {}

    def step(self, train: Batch, val: Batch, generator: torch.Generator) -> StepStats:
        del val  # the validation split only scores subnets (end_epoch)
        return self.weight_step(train, single_path(self.supernet, uniform_point(self.supernet, generator)))

    def end_epoch(self, epoch: int, splits: DatasetSplits, generator: torch.Generator, *, final: bool,
                  deadline: float | None) -> None:
        """Score subnets on inherited weights: evolution after the last epoch, else
        ``epoch_samples`` uniform ones; the best is the derived cell, whose batch norm
        statistics stay recalibrated for the loop's validation accuracy."""
        batches = [random_batch(splits.train, self.batch_size, generator)[0] for _ in range(self.recalibration_batches)]
        scores: dict[str, tuple[Any, float]] = {}  # key -> (point, accuracy)

        def score(point: Any) -> float:
            key = self.supernet.space.key(point)
            if key not in scores:
                scores[key] = (point, recalibrated_accuracy(self.supernet, point, splits, batches))
            return scores[key][1]

        def out_of_time() -> bool:
            return deadline is not None and time.time() >= deadline and bool(scores)

        if final:
            evolution = RegularizedEvolution(self.supernet.space, seed=derive_seed(self.seed, "spos-evolution", epoch),
                                             population_size=self.population_size, sample_size=self.sample_size)
            for _ in range(self.evolution_samples):
                if out_of_time():
                    break
                candidate = evolution.ask()
                evolution.tell(candidate, EvalResult(status="ok", val_acc=score(candidate.point)))
            population = [point for point, _, _ in evolution.population]
        else:
            for _ in range(self.epoch_samples):
                if out_of_time():
                    break
                score(uniform_point(self.supernet, generator))
            population = [point for point, _ in scores.values()]
        self.derived, best = max(scores.values(), key=lambda item: item[1])
        recalibrate_batchnorm(self.supernet, self.derived, batches)
        self.metrics = {"phase": "evolution" if final else "training", "evaluated": len(scores),
                        "entropy": population_entropy(self.supernet, population), "best_recalibrated_acc": best}

    def derive(self) -> Any:
        if self.derived is None:  # before the first epoch's end
            return uniform_point(self.supernet, torch.Generator().manual_seed(self.seed))
        return self.derived

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "derived": self.derived, "metrics": dict(self.metrics)}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        super().load_state_dict(state)
        self.derived = state["derived"]
        self.metrics = dict(state["metrics"])
