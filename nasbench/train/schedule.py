"""Learning-rate schedules as pure functions of the step, stepped once per batch."""
from __future__ import annotations

import math

from nasbench.core.errors import ConfigError

SCHEDULES = ("cosine", "onecycle")
ONECYCLE_WARMUP = 0.3
"""Fraction of the steps spent rising when a one-cycle run gives no warm-up of its own."""
ONECYCLE_START_DIVISOR = 25.0
ONECYCLE_END_DIVISOR = 1e4


def cosine_lr(step: int, total: int, peak: float, warmup: int) -> float:
    """Linear warm-up over ``warmup`` steps, then cosine decay to zero.

    Loshchilov & Hutter, "SGDR: Stochastic Gradient Descent with Warm Restarts", 2017
    (arXiv:1608.03983), without restarts; warm-up as in Goyal et al. 2017.
    """
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return 0.5 * peak * (1.0 + math.cos(math.pi * min(1.0, progress)))


def onecycle_lr(step: int, total: int, peak: float, warmup: int) -> float:
    """Rise from ``peak/25`` to ``peak`` over ``warmup`` steps, then cosine down to ``peak/25e4``.

    Smith & Topin, "Super-Convergence", 2018 (arXiv:1708.07120); Smith 2018
    (arXiv:1803.09820). NOTE: the momentum is held fixed rather than cycled, so that both
    schedules share one optimizer set-up; annealing is cosine, as in PyTorch's OneCycleLR.
    """
    warmup = warmup if warmup > 0 else max(1, round(ONECYCLE_WARMUP * total))
    start, end = peak / ONECYCLE_START_DIVISOR, peak / ONECYCLE_START_DIVISOR / ONECYCLE_END_DIVISOR
    if step < warmup:
        phase, low, high = step / warmup, start, peak
    else:
        phase, low, high = min(1.0, (step - warmup) / max(1, total - warmup)), peak, end
    return high + (low - high) * 0.5 * (1.0 + math.cos(math.pi * phase))


def learning_rates(schedule: str, total: int, peak: float, warmup: int) -> list[float]:
    """The learning rate of each of ``total`` steps under ``schedule``."""
    if schedule not in SCHEDULES:
        raise ConfigError(f"schedule: {schedule!r} is not one of {', '.join(SCHEDULES)}")
    rule = cosine_lr if schedule == "cosine" else onecycle_lr
    return [rule(step, total, peak, warmup) for step in range(total)]
