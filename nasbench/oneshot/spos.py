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
search's last epoch (``final``: the last of ``epochs`` or of ``budget.trials``, or the
one ``budget.seconds`` cut short or leaves no time after) and stops at the deadline once
it has scored a subnet; every earlier epoch records the best of ``epoch_samples``
uniform subnets scored the same way, so the curves show how the supernet ranks as it
trains. Every candidate of one epoch is recalibrated on the same
``recalibration_batches`` training batches, so a point's score is a function of the
weights. Defaults: SGD with Nesterov momentum 0.9 and SPOS' weight decay 4e-5, a cosine
learning rate 0.05 -> 0.001 (SPOS: linear from 0.5 at batch 1024), sized for a CPU.
"""
from __future__ import annotations

import time
from typing import Any, Callable, Mapping

import torch

from nasbench.data.splits import DatasetSplits
from nasbench.run.search_loop import SearchOutcome, run_search
from nasbench.oneshot.inherited import InheritedWeights
from nasbench.oneshot.methods import Batch, OneShotError, StepStats
from nasbench.oneshot.single_path import (SinglePathMethod, check_count, population_entropy, recalibrate_batchnorm,
                                          single_path, uniform_point)
from nasbench.core.candidate import Candidate, derive_seed
from nasbench.core.budget import Budget
from nasbench.strategies.evolution import RegularizedEvolution
from search_spaces.supernet import Supernet

EvolutionRunner = Callable[[RegularizedEvolution, InheritedWeights, Budget], SearchOutcome]


def local_evolution(evolution: RegularizedEvolution, evaluator: InheritedWeights, budget: Budget) -> SearchOutcome:
    """The evolution in this process, one subnet at a time (nothing written)."""
    return run_search(evolution, evaluator, budget, progress=False)


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
        self.evolution_runner: EvolutionRunner | None = None  # None: in this process (the Ray driver sets one)

    def step(self, train: Batch, val: Batch, generator: torch.Generator) -> StepStats:
        del val  # the validation split only scores subnets (end_epoch)
        return self.weight_step(train, single_path(self.supernet, uniform_point(self.supernet, generator)))

    def end_epoch(self, epoch: int, splits: DatasetSplits, generator: torch.Generator, *, final: bool,
                  deadline: float | None) -> None:
        """Score subnets on inherited weights: evolution after the last epoch, else
        ``epoch_samples`` uniform ones; the best is the derived cell, whose batch norm
        statistics stay recalibrated for the loop's validation accuracy."""
        recalibration = [torch.randperm(len(splits.train[1]), generator=generator)[:self.batch_size]
                         for _ in range(self.recalibration_batches)]
        evaluator = InheritedWeights(self.supernet, splits, recalibration)
        if final:
            scored, population = self._evolve(epoch, evaluator, deadline)
        else:
            scored = []
            for _ in range(self.epoch_samples):
                if deadline is not None and time.time() >= deadline and scored:
                    break
                point = uniform_point(self.supernet, generator)
                key = self.supernet.space.key(point)
                candidate = Candidate(trial=len(scored), point=point, key=key, seed=self.seed)
                scored.append((point, evaluator(candidate).val_acc))
            population = None
        unique: dict[str, tuple[Any, float]] = {}  # key -> (point, score), in the order first scored
        for point, score in scored:
            unique.setdefault(self.supernet.space.key(point), (point, score))
        population = population if population is not None else [point for point, _ in unique.values()]
        self.derived, best = max(unique.values(), key=lambda item: item[1])
        recalibrate_batchnorm(self.supernet, self.derived, [splits.train[0][i] for i in recalibration])
        self.metrics = {"phase": "evolution" if final else "training", "evaluated": len(unique),
                        "entropy": population_entropy(self.supernet, population), "best_recalibrated_acc": best}

    def _evolve(self, epoch: int, evaluator: InheritedWeights, deadline: float | None
                ) -> tuple[list[tuple[Any, float]], list[Any]]:
        """Regularized evolution over ``evaluator``'s scores, run by ``evolution_runner``
        (this process by default); every (point, score) in the order scored, and the last
        population. Past the deadline it stops once it has scored a subnet."""
        evolution = RegularizedEvolution(self.supernet.space, seed=derive_seed(self.seed, "spos-evolution", epoch),
                                         population_size=self.population_size, sample_size=self.sample_size)
        remaining = None if deadline is None else deadline - time.time()
        budget = (Budget(trials=self.evolution_samples, seconds=remaining) if remaining is None or remaining > 0
                  else Budget(trials=1))
        runner = self.evolution_runner or local_evolution
        outcome = runner(evolution, evaluator, budget)
        if outcome.interrupted:  # Ctrl-C: the epoch is not closed on a partial evolution
            raise KeyboardInterrupt
        history = outcome.history
        scored = [(r.candidate.point, r.result.val_acc) for r in history
                  if r.result.ok and r.result.val_acc is not None]
        if not scored:
            reasons = {r.result.message for r in history if r.result.message}
            raise OneShotError(f"SPOS evolution: no subnet was scored ({'; '.join(sorted(reasons)) or 'no result'})")
        return scored, [point for point, _, _ in evolution.population]

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
