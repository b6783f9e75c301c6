"""GDAS: one sampled op per edge, differentiable by Gumbel-softmax.

Dong & Yang 2019, "Searching for A Robust Neural Architecture in Four GPU Hours",
https://arxiv.org/abs/1910.04465. Each forward pass draws Gumbel noise g, takes
p = softmax((log_softmax(alpha) + g) / tau) per edge, computes only the op of largest
p, and passes gradients to alpha through the straight-through weights
one_hot - sg(p) + p (Sec. 3.2, as the authors' NAS-Bench-201 ``TinyNetworkGDAS``).
The shared weights take an SGD step on a training batch, then alpha an Adam step on a
validation batch, each with its own draw; tau falls linearly from ``tau_max`` (10) to
``tau_min`` (0.1) over the epochs. The derived cell is DARTS' (argmax per edge for
NAS-Bench-201, top-2 edges without ``none`` for a two-input cell space).
"""
from __future__ import annotations

from typing import Any, Mapping

import torch
import torch.nn.functional as F

from nasbench.oneshot.methods import ArchitectureMethod, Batch, OneShotError, StepStats, check_positive
from search_spaces.supernet import Paths, Supernet


def gumbel_noise(shape: torch.Size | tuple[int, ...], generator: torch.Generator | None = None) -> torch.Tensor:
    """-log(E), E ~ Exp(1): the draw ``TinyNetworkGDAS.forward`` makes."""
    return -torch.empty(shape).exponential_(generator=generator).log()


def hard_gumbel(alpha: torch.Tensor, tau: float, gumbels: torch.Tensor) -> tuple[torch.Tensor, list[tuple[int]]]:
    """The straight-through weights and the chosen op of each edge for one draw."""
    probabilities = F.softmax((alpha.log_softmax(dim=-1) + gumbels) / tau, dim=-1)
    index = probabilities.argmax(dim=-1, keepdim=True)
    one_hot = torch.zeros_like(probabilities).scatter_(-1, index, 1.0)
    return one_hot - probabilities.detach() + probabilities, [(int(i),) for i in index.squeeze(-1)]


class Gdas(ArchitectureMethod):
    """GDAS on a supernet; the defaults are the authors' NAS-Bench-201 settings (SGD
    0.025 with Nesterov momentum, weight decay 5e-4) but for ``epochs`` (250 there)."""

    name = "gdas"

    def __init__(self, supernet: Supernet, *, tau_max: float = 10.0, tau_min: float = 0.1, **settings: Any):
        settings.setdefault("weight_decay", 5e-4)
        settings.setdefault("nesterov", True)
        super().__init__(supernet, **settings)
        self.tau_max = check_positive("tau_max", tau_max)
        self.tau_min = check_positive("tau_min", tau_min)
        if self.tau_min > self.tau_max:
            raise OneShotError(f"search.params.tau_min: {tau_min} is above tau_max {tau_max}")
        self.tau = self.tau_max

    def begin_epoch(self, epoch: int) -> None:
        super().begin_epoch(epoch)
        span = max(self.epochs - 1, 1)
        self.tau = self.tau_max - (self.tau_max - self.tau_min) * epoch / span

    def sample(self, generator: torch.Generator | None = None,
               gumbels: Mapping[str, torch.Tensor] | None = None) -> Paths:
        """One hard draw per edge (``gumbels``: a fixed draw, else one from ``generator``)."""
        weights, active = {}, {}
        for kind, alpha in self.alphas.items():
            noise = gumbels[kind] if gumbels is not None else gumbel_noise(alpha.shape, generator)
            weights[kind], active[kind] = hard_gumbel(alpha, self.tau, noise)
        return Paths(weights=weights, active=active)

    def step(self, train: Batch, val: Batch, generator: torch.Generator) -> StepStats:
        with torch.no_grad():  # the weight step needs the draw, not its gradient to alpha
            drawn = self.sample(generator)
        stats = self.weight_step(train, drawn)
        images, labels = val
        self.arch_optimizer.zero_grad(set_to_none=True)
        F.cross_entropy(self.supernet(images, self.sample(generator)), labels).backward()
        self.supernet.zero_grad(set_to_none=True)
        self.collective.average([alpha.grad for alpha in self.alphas.values()])
        self.arch_optimizer.step()
        return stats

    def eval_paths(self) -> Paths:
        return Paths(active=self.supernet.paths_of(self.derive()))

    def epoch_metrics(self) -> dict[str, Any]:
        return {**super().epoch_metrics(), "tau": self.tau, "skip_connections": self.supernet.skip_count(self.derive())}

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "tau": self.tau}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        super().load_state_dict(state)
        self.tau = float(state["tau"])
