"""ENAS: an LSTM controller samples subnets of a supernet whose weights they share.

Pham, Guan, Zoph, Le & Dean 2018, "Efficient Neural Architecture Search via Parameter
Sharing", https://arxiv.org/abs/1802.03268 (Sec. 2.2). Each epoch alternates two phases:

1. the shared weights: one pass over the training split, each minibatch through a
   subnet the controller samples (one op per edge, ``Supernet`` single-path mode), one
   SGD step each (Nesterov momentum, cosine learning rate, clipped gradient);
2. the controller: ``controller_steps`` REINFORCE updates, each over
   ``controller_batch`` sampled subnets rewarded by their accuracy on a validation
   minibatch (a moving-average baseline and an entropy bonus).

The controller and its update are our REINFORCE strategy's (``nasbench.strategies.
reinforce.Reinforce``: the sampled point's decisions, ``ask``/``tell``), whatever the space.
The derived cell is ENAS' own choice (Sec. 2.2 end, "Deriving Architectures"): the best by
validation accuracy of ``derive_samples`` subnets sampled from the trained controller.

NOTE: rewards and the derivation use eval-mode batch norm (the supernet's running
statistics), so scoring never moves them; the whole validation split ranks the derived
samples where ENAS uses one minibatch (ours is small). Defaults are ENAS' micro-search
settings (its ``cifar10_micro_search.sh``: lr 0.05 -> 0.0005 by cosine, weight decay
1e-4, controller Adam 0.0035, tanh constant 1.1, no temperature, baseline decay 0.99,
entropy weight 1e-4) but for the step counts (ENAS: 30 controller updates of 10 samples,
150 epochs), sized for a CPU, and two simplifications: one cosine period (ENAS restarts
it at epochs 10, 30, 70) and one tanh constant for every decision (ENAS divides it by
2.5 for the op decisions).
"""
from __future__ import annotations

import time
from typing import Any, Mapping

import torch

from nasbench.data.splits import DatasetSplits
from nasbench.oneshot.methods import Batch, OneShotError, StepStats, check_positive
from nasbench.oneshot.single_path import SinglePathMethod, batch_accuracy, check_count, random_batch, single_path
from nasbench.core.result import EvalResult
from nasbench.strategies.reinforce import Reinforce
from search_spaces.supernet import Supernet


class Enas(SinglePathMethod):
    """ENAS on a supernet (see the module docstring)."""

    name = "enas"

    def __init__(self, supernet: Supernet, *, controller_steps: int = 10, controller_batch: int = 5,
                 controller_lr: float = 0.0035, hidden_size: int = 64, baseline_decay: float = 0.99,
                 entropy_weight: float = 1e-4, tanh_constant: float | None = 1.1, temperature: float | None = None,
                 derive_samples: int = 10, seed: int = 0, **settings: Any):
        for key, value in (("lr", 0.05), ("lr_min", 0.0005), ("weight_decay", 1e-4), ("nesterov", True)):
            settings.setdefault(key, value)
        super().__init__(supernet, **settings)
        self.controller_steps = check_count("controller_steps", controller_steps, minimum=0)
        self.derive_samples = check_count("derive_samples", derive_samples)
        if not 0.0 <= baseline_decay < 1.0:
            raise OneShotError(f"search.params.baseline_decay: expected a number in [0, 1), got {baseline_decay!r}")
        self.policy = Reinforce(
            supernet.space, seed=seed, hidden_size=check_count("hidden_size", hidden_size),
            learning_rate=check_positive("controller_lr", controller_lr),
            batch_size=check_count("controller_batch", controller_batch), baseline_decay=baseline_decay,
            entropy_weight=check_positive("entropy_weight", entropy_weight, allow_zero=True),
            tanh_constant=None if tanh_constant is None else check_positive("tanh_constant", tanh_constant),
            temperature=None if temperature is None else check_positive("temperature", temperature))
        self.derived: Any = None
        self.metrics: dict[str, Any] = {}

    def sample(self, generator: torch.Generator) -> Any:
        """A point drawn from the controller as it is now."""
        return self.supernet.space.decode(self.policy.controller.sample(generator))

    def step(self, train: Batch, val: Batch, generator: torch.Generator) -> StepStats:
        del val  # the validation split trains the controller after the epoch (end_epoch)
        return self.weight_step(train, single_path(self.supernet, self.sample(generator)))

    def end_epoch(self, epoch: int, splits: DatasetSplits, generator: torch.Generator, *, final: bool,
                  deadline: float | None) -> None:
        """The controller's updates, then the derived cell (always, even past the deadline)."""
        del epoch, final
        rewards = []
        for _ in range(self.controller_steps * self.policy.batch_size):
            if deadline is not None and time.time() >= deadline:
                break
            candidate = self.policy.ask()
            reward = batch_accuracy(self.supernet, candidate.point, random_batch(splits.val, self.batch_size,
                                                                                 generator))
            rewards.append(reward)
            self.policy.tell(candidate, EvalResult(status="ok", val_acc=reward))
        choices = torch.tensor([self.policy.controller.sample(generator) for _ in range(self.derive_samples)],
                               dtype=torch.long)
        sampled = [self.supernet.space.decode(row.tolist()) for row in choices]
        scores = [batch_accuracy(self.supernet, point, splits.val) for point in sampled]
        self.derived = sampled[max(range(len(sampled)), key=scores.__getitem__)]
        with torch.no_grad():
            _, entropy = self.policy.controller(choices)
        self.metrics = {"entropy": float(entropy.mean()) / choices.shape[1],
                        "reward_mean": sum(rewards) / len(rewards) if rewards else None,
                        "controller_updates": self.policy.updates, "baseline": self.policy.baseline}

    def derive(self) -> Any:
        if self.derived is None:  # before the first epoch's end: the controller's sample
            return self.sample(torch.Generator().manual_seed(0))
        return self.derived

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "policy": self.policy.state_dict(), "derived": self.derived,
                "metrics": dict(self.metrics)}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        super().load_state_dict(state)
        self.policy.load_state_dict(dict(state["policy"]))
        self.derived = state["derived"]
        self.metrics = dict(state["metrics"])
