"""DARTS: a continuous relaxation of the choice on each edge, searched by gradient.

Liu, Simonyan & Yang 2019, "DARTS: Differentiable Architecture Search",
https://arxiv.org/abs/1806.09055. Each edge mixes every op by softmax(alpha) (Eq. 2);
the architecture takes an Adam step on the validation loss, then the shared weights an
SGD step on the training loss (Alg. 1). ``order=1`` uses the gradient at the current
weights (first order); ``order=2`` the unrolled one (Eq. 6-8): the weights after one
virtual SGD step w' = w - lr·(momentum·v + ∇w L_train + wd·w), the validation gradient
at w', less lr times a finite-difference Hessian-vector product with
eps = 0.01 / ||∇w' L_val||, as the authors' ``architect.py`` computes it. The derived
cell: per node the top-2 incoming edges by their strongest op other than ``none``
(Sec. 2.4; argmax per edge for NAS-Bench-201).
"""
from __future__ import annotations

from typing import Any, Mapping

import torch
import torch.nn.functional as F
from torch.func import functional_call

from nasbench.oneshot.methods import ArchitectureMethod, Batch, OneShotError, StepStats
from search_spaces.supernet import Paths, Supernet

FINITE_DIFFERENCE = 0.01  # architect.py's r in eps = r / ||v||


class Darts(ArchitectureMethod):
    """DARTS on a supernet; ``order`` 1 (default) or 2. The defaults are the paper's
    CIFAR-10 search settings (Sec. 3.1.1) but for ``epochs`` (50 there)."""

    name = "darts"

    def __init__(self, supernet: Supernet, *, order: int = 1, **settings: Any):
        if order not in (1, 2) or isinstance(order, bool):
            raise OneShotError(f"search.params.order: expected 1 or 2, got {order!r}")
        super().__init__(supernet, **settings)
        self.order = order

    def step(self, train: Batch, val: Batch, generator: torch.Generator) -> StepStats:
        del generator  # DARTS draws nothing
        self.arch_optimizer.zero_grad(set_to_none=True)
        grads = self.second_order_gradients(train, val) if self.order == 2 else self.first_order_gradients(val)
        self.collective.average(list(grads.values()))  # linear in every term: one average at the end
        for kind, alpha in self.alphas.items():
            alpha.grad = grads[kind]
        self.arch_optimizer.step()
        with torch.no_grad():
            weights = {kind: p.detach() for kind, p in self.probabilities().items()}
        return self.weight_step(train, Paths(weights=weights))

    def _loss(self, batch: Batch, parameters: Mapping[str, torch.Tensor] | None = None) -> torch.Tensor:
        images, labels = batch
        paths = Paths(weights=self.probabilities())
        if parameters is None:
            logits = self.supernet(images, paths)
        else:
            logits = functional_call(self.supernet, dict(parameters), (images, paths))
        return F.cross_entropy(logits, labels)

    def first_order_gradients(self, val: Batch) -> dict[str, torch.Tensor]:
        """∇alpha L_val(w, alpha)."""
        kinds = list(self.alphas)
        grads = torch.autograd.grad(self._loss(val), [self.alphas[kind] for kind in kinds])
        return dict(zip(kinds, grads))

    def second_order_gradients(self, train: Batch, val: Batch) -> dict[str, torch.Tensor]:
        """∇alpha L_val(w', alpha) - lr · ∇²alpha,w L_train(w, alpha) · ∇w' L_val(w', alpha)."""
        kinds = list(self.alphas)
        alphas = [self.alphas[kind] for kind in kinds]
        named = dict(self.supernet.named_parameters())
        group = self.weight_optimizer.param_groups[0]
        lr, momentum, decay = group["lr"], group["momentum"], group["weight_decay"]
        train_grads = torch.autograd.grad(self._loss(train), list(named.values()), allow_unused=True)
        self.collective.average(train_grads)  # the ranks' virtual steps must agree
        unrolled = {}
        for (key, weight), grad in zip(named.items(), train_grads):
            buffer = self.weight_optimizer.state.get(weight, {}).get("momentum_buffer")
            step = (0.0 if grad is None else grad) + decay * weight.detach()
            if buffer is not None:
                step = step + momentum * buffer
            unrolled[key] = (weight.detach() - lr * step).requires_grad_()
        val_grads = torch.autograd.grad(self._loss(val, unrolled), [*alphas, *unrolled.values()], allow_unused=True)
        alpha_grads = val_grads[:len(alphas)]
        vector = [torch.zeros_like(w) if g is None else g for w, g in zip(unrolled.values(), val_grads[len(alphas):])]
        self.collective.average(vector)  # and so must eps and the finite-difference points
        eps = FINITE_DIFFERENCE / torch.cat([v.reshape(-1) for v in vector]).norm()
        # w+ = w + eps·v, then w- = w+ - 2·eps·v: architect.py's sequence of float operations,
        # which the ill-conditioned difference below reproduces to the last bit.
        plus = {key: weight.detach() + eps * v for (key, weight), v in zip(named.items(), vector)}
        minus = {key: plus[key] - 2 * eps * v for key, v in zip(named, vector)}
        grads_plus = torch.autograd.grad(self._loss(train, plus), alphas)
        grads_minus = torch.autograd.grad(self._loss(train, minus), alphas)
        return {kind: grad - lr * (p - m) / (2 * eps)
                for kind, grad, p, m in zip(kinds, alpha_grads, grads_plus, grads_minus)}

    def epoch_metrics(self) -> dict[str, Any]:
        metrics = super().epoch_metrics()
        metrics["skip_connections"] = self.supernet.skip_count(self.derive())
        return metrics
