"""What every gradient-based one-shot method shares: architecture parameters, the two
optimizers, the cosine learning rate, and a protocol the run loop drives.

A one-shot method is not an ask/tell strategy: it trains a supernet and its
architecture in alternation, one batch at a time, and says at any moment which point
it stands for (``derive``). ``OneShotMethod`` is the protocol the loop
(``nasbench.oneshot.loop``) drives; a method may also have ``end_epoch``, a phase after
each epoch's steps (ENAS' controller training, SPOS' evolution). ``SharedWeightTraining``
is the SGD on the shared weights every method uses; ``ArchitectureMethod`` adds per-edge
architecture parameters (DARTS, GDAS).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Protocol, runtime_checkable

import torch
import torch.nn as nn
import torch.nn.functional as F

from nasbench.oneshot.collective import Collective, SingleProcess
from search_spaces.supernet import Paths, Supernet
from search_spaces.errors import NasError

Batch = tuple[torch.Tensor, torch.Tensor]


class OneShotError(NasError, ValueError):
    """A one-shot method's settings are wrong (the message names the setting)."""


@dataclass
class StepStats:
    """One training step on the shared weights: its loss and how many it got right."""

    loss: float
    correct: int
    count: int


@runtime_checkable
class OneShotMethod(Protocol):
    """What the run loop needs of a one-shot method (DARTS, GDAS; ENAS and SPOS too)."""

    name: str
    supernet: Supernet
    batch_size: int
    epochs: int

    def begin_epoch(self, epoch: int) -> None:
        """Set the epoch's schedules (learning rate, temperature)."""

    def step(self, train: Batch, val: Batch, generator: torch.Generator) -> StepStats:
        """One step: the shared weights on ``train``, the architecture on ``val``; every
        random draw comes from ``generator`` (a resumed epoch draws the same)."""

    def derive(self) -> Any:
        """The point the method stands for now."""

    def eval_paths(self) -> Paths:
        """The paths the supernet's validation accuracy is measured with."""

    def epoch_metrics(self) -> dict[str, Any]:
        """What the method records per epoch besides accuracy (entropy, temperature)."""

    def state_dict(self) -> dict[str, Any]:
        """Plain data and tensors only (read back with ``torch.load(weights_only=True)``)."""

    def load_state_dict(self, state: Mapping[str, Any]) -> None: ...


def check_positive(name: str, value: float, allow_zero: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or (
            value < 0 or (value == 0 and not allow_zero)):
        raise OneShotError(f"search.params.{name}: expected a {'non-negative' if allow_zero else 'positive'} "
                           f"number, got {value!r}")
    return float(value)


def cosine_lr(epoch: int, epochs: int, lr: float, lr_min: float) -> float:
    """The cosine schedule DARTS and GDAS step once per epoch (Loshchilov & Hutter 2017)."""
    return lr_min + (lr - lr_min) * (1 + math.cos(math.pi * epoch / epochs)) / 2


class SharedWeightTraining:
    """SGD with momentum on the supernet's shared weights, a cosine learning rate stepped
    per epoch and a clipped gradient norm: what DARTS, GDAS, ENAS and SPOS share.
    ``collective`` averages every gradient over the ranks of a data-parallel search
    before its step (``nasbench.oneshot.collective``; one rank by default)."""

    name = "shared-weights"

    def __init__(self, supernet: Supernet, *, epochs: int = 10, batch_size: int = 64, lr: float = 0.025,
                 lr_min: float = 0.001, momentum: float = 0.9, nesterov: bool = False, weight_decay: float = 3e-4,
                 grad_clip: float = 5.0):
        if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
            raise OneShotError(f"search.params.epochs: expected a positive integer, got {epochs!r}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise OneShotError(f"search.params.batch_size: expected a positive integer, got {batch_size!r}")
        self.supernet = supernet
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = check_positive("lr", lr)
        self.lr_min = check_positive("lr_min", lr_min, allow_zero=True)
        self.grad_clip = check_positive("grad_clip", grad_clip)
        self.weight_optimizer = torch.optim.SGD(
            supernet.parameters(), lr=self.lr, momentum=check_positive("momentum", momentum, allow_zero=True),
            nesterov=bool(nesterov), weight_decay=check_positive("weight_decay", weight_decay, allow_zero=True))
        self.current_lr = self.lr
        self.collective: Collective = SingleProcess()

    def begin_epoch(self, epoch: int) -> None:
        self.current_lr = cosine_lr(epoch, self.epochs, self.lr, self.lr_min)
        for group in self.weight_optimizer.param_groups:
            group["lr"] = self.current_lr

    def weight_step(self, train: Batch, paths: Paths) -> StepStats:
        """One SGD step of the shared weights on ``train`` (gradient norm clipped)."""
        images, labels = train
        self.weight_optimizer.zero_grad(set_to_none=True)
        logits = self.supernet(images, paths)
        loss = F.cross_entropy(logits, labels)
        loss.backward()
        self.collective.average([weight.grad for weight in self.supernet.parameters()])
        nn.utils.clip_grad_norm_(self.supernet.parameters(), self.grad_clip)
        self.weight_optimizer.step()
        return StepStats(loss.item(), int((logits.argmax(-1) == labels).sum()), len(labels))

    def state_dict(self) -> dict[str, Any]:
        return {"supernet": self.supernet.state_dict(), "weight_optimizer": self.weight_optimizer.state_dict(),
                "current_lr": self.current_lr}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.supernet.load_state_dict(state["supernet"])
        self.weight_optimizer.load_state_dict(state["weight_optimizer"])
        self.current_lr = float(state["current_lr"])


class ArchitectureMethod(SharedWeightTraining):
    """Architecture parameters ``alpha`` (one [edges, ops] matrix per cell kind, drawn as
    1e-3 · N(0, 1), as DARTS and GDAS do), SGD with momentum on the shared weights and
    Adam on ``alpha`` (DARTS Sec. 3.1.1; GDAS App. A)."""

    name = "architecture"

    def __init__(self, supernet: Supernet, *, arch_lr: float = 3e-4, arch_weight_decay: float = 1e-3, seed: int = 0,
                 **settings: Any):
        super().__init__(supernet, **settings)
        generator = torch.Generator().manual_seed(seed)
        self.alphas = {kind: nn.Parameter(1e-3 * torch.randn(supernet.arch_shape(kind), generator=generator))
                       for kind in supernet.kinds}
        self.arch_optimizer = torch.optim.Adam(
            list(self.alphas.values()), lr=check_positive("arch_lr", arch_lr), betas=(0.5, 0.999),
            weight_decay=check_positive("arch_weight_decay", arch_weight_decay, allow_zero=True))

    def probabilities(self) -> dict[str, torch.Tensor]:
        """softmax(alpha) per edge, with gradient."""
        return {kind: F.softmax(alpha, dim=-1) for kind, alpha in self.alphas.items()}

    def derive(self) -> Any:
        with torch.no_grad():
            return self.supernet.derive(self.probabilities())

    def eval_paths(self) -> Paths:
        return Paths(weights={kind: p.detach() for kind, p in self.probabilities().items()})

    def epoch_metrics(self) -> dict[str, Any]:
        with torch.no_grad():
            return {"entropy": self.supernet.entropy(self.probabilities()), "lr": self.current_lr}

    def weight_step(self, train: Batch, paths: Paths) -> StepStats:
        stats = super().weight_step(train, paths)
        for alpha in self.alphas.values():
            alpha.grad = None
        return stats

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "alphas": {k: v.detach().clone() for k, v in self.alphas.items()},
                "arch_optimizer": self.arch_optimizer.state_dict()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        super().load_state_dict(state)
        with torch.no_grad():
            for kind, alpha in self.alphas.items():
                alpha.copy_(state["alphas"][kind])
        self.arch_optimizer.load_state_dict(state["arch_optimizer"])
