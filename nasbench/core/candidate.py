"""A candidate of a search, and the seeds derived for it.

A strategy proposes ``Candidate`` records; the run store, the executors, the evaluators
and the one-shot loop pass them on. Each candidate's randomness derives from the search
seed and its trial number (``derive_seed``), not from a generator that advances with
every call, so a search restored from its saved state proposes exactly what an
uninterrupted one would.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any


def derive_seed(seed: int, *parts: Any) -> int:
    """A 32-bit seed determined by ``seed`` and ``parts`` (stable across processes).

    Python's ``hash()`` is salted per process for strings, so a hash of the JSON text is
    used instead. 32 bits, because numpy's legacy ``RandomState`` (Optuna) takes no more.
    """
    text = json.dumps([seed, *parts], separators=(",", ":"), default=str)
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big")


@dataclass(frozen=True)
class Candidate:
    """One proposal: its 0-based ``ask()`` order, the point, its canonical key, and the
    seed its evaluation should use (derived from the search seed and ``trial``)."""

    trial: int
    point: Any
    key: str
    seed: int


def candidate_seed(search_seed: int, trial: int) -> int:
    """The evaluation seed of trial ``trial``: the same for every strategy."""
    return derive_seed(search_seed, "candidate", trial)
