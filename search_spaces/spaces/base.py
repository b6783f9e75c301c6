"""The protocol every search space follows: pure functions over plain data.

A *point* of a space is plain JSON data (a NAS-Bench-201 string, a dict holding a
normal and a reduction cell, ...). A space turns points into a list of categorical
decisions and back (for the REINFORCE controller and for Optuna), samples and mutates
them (for random search and evolution), checks membership, and gives a canonical key so
that two spellings of one point compare equal.
"""
from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass
from typing import Any, Protocol, Sequence, runtime_checkable


class SpaceError(ValueError):
    """A point is not a member of the space, or a decision list does not decode."""


@dataclass(frozen=True)
class Decision:
    """One categorical choice: its name and the values it may take."""

    name: str
    choices: tuple[Any, ...]

    @property
    def size(self) -> int:
        return len(self.choices)


@runtime_checkable
class Space(Protocol):
    name: str

    def decisions(self) -> Sequence[Decision]:
        """The fixed list of decisions that encodes every point."""

    def sample(self, rng: random.Random) -> Any:
        """A uniformly random point."""

    def encode(self, point: Any) -> list[int]:
        """The index of each decision's choice for ``point``."""

    def decode(self, indices: Sequence[int]) -> Any:
        """The point for a list of choice indices (one per decision)."""

    def mutate(self, point: Any, rng: random.Random) -> Any:
        """A valid point that differs from ``point`` in one op or one input."""

    def contains(self, point: Any) -> bool:
        """Whether ``point`` is a member of the space."""

    def key(self, point: Any) -> str:
        """A canonical hash: equal for two spellings of the same point."""


def json_key(data: Any) -> str:
    """A short stable hash of JSON-able data (keys sorted, no whitespace)."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]
