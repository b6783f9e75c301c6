"""The arithmetic of successive halving and Hyperband: how many candidates each rung of a
bracket trains, and for how many epochs.

Li, Jamieson, DeSalvo, Rostamizadeh and Talwalkar, "Hyperband: A Novel Bandit-Based
Approach to Hyperparameter Optimization", JMLR 18(185), 2018 (Algorithm 1), with the
resource ``R`` the proxy trainer's epochs: ``s_max = floor(log_eta(R / r_min))``; bracket
``s`` starts ``n = ceil((s_max + 1) / (s + 1) * eta^s)`` candidates at ``R * eta^-s``
epochs, and rung ``i`` keeps ``floor(n * eta^-i)`` of them for ``R * eta^(i - s)`` epochs.
Successive halving (Jamieson & Talwalkar, AISTATS 2016) is the most aggressive bracket,
``s = s_max``, run again and again; Hyperband cycles ``s = s_max, ..., 0``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from search_spaces.value_kinds import kind_problem

from nasbench.core.errors import ConfigError

KINDS: tuple[str, ...] = ("halving", "hyperband")


def check_rung_settings(eta: Any, min_epochs: Any) -> str | None:
    """What is wrong with ``executor.eta`` / ``executor.min_epochs`` (None: nothing)."""
    for name, value, least, why in (("eta", eta, 2, " (the fraction 1/eta goes on)"),
                                    ("min_epochs", min_epochs, 1, "")):
        if kind_problem(value, int) or value < least:
            return f"executor.{name}: {value!r} must be an integer >= {least}{why}"
    return None


@dataclass(frozen=True)
class Bracket:
    """Rung ``i`` trains ``sizes[i]`` candidates for ``epochs[i]`` epochs; the best
    ``sizes[i + 1]`` of them go on to the next rung."""

    sizes: tuple[int, ...]
    epochs: tuple[int, ...]

    @property
    def rungs(self) -> int:
        return len(self.sizes)


def rungs_above_min(min_epochs: int, max_epochs: int, eta: int) -> int:
    """``s_max``: the largest ``s`` with ``max_epochs / eta^s >= min_epochs`` (integers,
    so that 9 / 3^2 is exactly 1)."""
    s = 0
    while max_epochs >= min_epochs * eta ** (s + 1):
        s += 1
    return s


def bracket(s: int, size: int, min_epochs: int, max_epochs: int, eta: int) -> Bracket:
    """The rungs of a bracket of ``size`` candidates that starts ``s`` rungs below full
    training. A rung that would stop nobody is left out (everyone it trains goes on, so
    its training would be repeated by the next rung for nothing), as is a rung that would
    train nobody."""
    sizes = [max(1, size // eta ** i) for i in range(s + 1)]
    epochs = [max(min_epochs, round(max_epochs * eta ** (i - s))) for i in range(s)] + [max_epochs]
    kept = [i for i in range(s + 1) if i == s or sizes[i] > sizes[i + 1]]
    return Bracket(tuple(sizes[i] for i in kept), tuple(epochs[i] for i in kept))


def bracket_plan(kind: str, index: int, min_epochs: int, max_epochs: int, eta: int) -> tuple[int, int]:
    """``(s, size)`` of the ``index``-th bracket (0-based) of a ``kind`` search."""
    if kind not in KINDS:
        raise ConfigError(f"scheduler: {kind!r} is not one of {', '.join(KINDS)}")
    s_max = rungs_above_min(min_epochs, max_epochs, eta)
    s = s_max if kind == "halving" else s_max - index % (s_max + 1)
    return s, math.ceil((s_max + 1) * eta ** s / (s + 1))
