"""A small MLP performance predictor kept as plain tensors, and its rank correlation.

The weights of one MLP are a dict of tensors (``w0``, ``b0``, ``w1``, ...), so that a
strategy's state holds data only (``torch.load(weights_only=True)`` reads it) and every
random draw comes from an explicit seed. BANANAS (White, Neiswanger & Savani, AAAI 2021,
https://arxiv.org/abs/1910.11858) trains an ensemble of such networks.
"""
from __future__ import annotations

import math
from typing import Sequence

import torch

Weights = dict[str, torch.Tensor]


def init_ensemble(members: int, input_size: int, hidden_width: int, hidden_layers: int, seed: int) -> Weights:
    """``members`` fresh MLPs ``input_size -> hidden_width x hidden_layers -> 1`` stacked
    along a leading dimension (one batched matrix product serves them all), initialised
    as ``torch.nn.Linear`` is (uniform in ±1/sqrt(fan_in)) from ``seed``."""
    generator = torch.Generator().manual_seed(seed)
    sizes = [input_size] + [hidden_width] * hidden_layers + [1]
    weights: Weights = {}
    for layer, (fan_in, fan_out) in enumerate(zip(sizes, sizes[1:])):
        bound = 1.0 / math.sqrt(fan_in)
        weights[f"w{layer}"] = (torch.rand(members, fan_in, fan_out, generator=generator) * 2 - 1) * bound
        weights[f"b{layer}"] = (torch.rand(members, 1, fan_out, generator=generator) * 2 - 1) * bound
    return weights


def ensemble_forward(weights: Weights, inputs: torch.Tensor) -> torch.Tensor:
    """Each member's outputs for each row of ``inputs``: shape (members, rows). ReLU
    between layers, none after the last."""
    layers = len(weights) // 2
    hidden = inputs.expand(weights["w0"].shape[0], *inputs.shape)
    for layer in range(layers):
        hidden = torch.baddbmm(weights[f"b{layer}"], hidden, weights[f"w{layer}"])
        if layer < layers - 1:
            hidden = torch.relu(hidden)
    return hidden.squeeze(-1)


def fit_ensemble(weights: Weights, inputs: torch.Tensor, targets: torch.Tensor, epochs: int,
                 learning_rate: float) -> Weights:
    """``weights`` after ``epochs`` full-batch Adam steps on each member's mean squared
    error (a copy: the argument is left as it was). The members share no parameter, so
    minimising the sum of their losses trains each on its own; full batches draw
    nothing at random."""
    trained = {name: tensor.detach().clone().requires_grad_(True) for name, tensor in weights.items()}
    optimizer = torch.optim.Adam(trained.values(), lr=learning_rate, fused=True)  # fewest kernel calls on a CPU
    for _ in range(epochs):
        optimizer.zero_grad()
        loss = ((ensemble_forward(trained, inputs) - targets) ** 2).mean(dim=1).sum()
        loss.backward()
        optimizer.step()
    return {name: tensor.detach() for name, tensor in trained.items()}


def kendall_tau(predicted: Sequence[float], actual: Sequence[float]) -> float | None:
    """Kendall's tau-b between two sequences (None with fewer than two pairs or when
    either is constant)."""
    concordant = discordant = ties_predicted = ties_actual = 0
    for i in range(len(predicted)):
        for j in range(i + 1, len(predicted)):
            sign = (predicted[i] - predicted[j]) * (actual[i] - actual[j])
            if predicted[i] == predicted[j] and actual[i] == actual[j]:
                continue
            if predicted[i] == predicted[j]:
                ties_predicted += 1
            elif actual[i] == actual[j]:
                ties_actual += 1
            elif sign > 0:
                concordant += 1
            else:
                discordant += 1
    denominator = math.sqrt((concordant + discordant + ties_predicted) * (concordant + discordant + ties_actual))
    return None if denominator == 0 else (concordant - discordant) / denominator
