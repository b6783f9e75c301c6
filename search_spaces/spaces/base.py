"""The protocol every search space follows: pure functions over plain data.

A *point* of a space is plain JSON data (a NAS-Bench-201 string, a dict holding a
normal and a reduction cell, ...). A space turns points into a list of categorical
decisions and back (for the REINFORCE controller and for Optuna), samples and mutates
them (for random search and evolution), lists a point's neighbours (local search),
encodes it as features (a predictor's input), checks membership, and gives a canonical
key so that two spellings of one point compare equal.
"""
from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass
from typing import Any, Mapping, Protocol, Sequence, runtime_checkable

from search_spaces.value_kinds import kind_problem
from ..errors import NasError
from ..genotype import NetworkGenotype


class SpaceError(NasError, ValueError):
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

    def neighbours(self, point: Any) -> list[Any]:
        """Every point ``mutate`` can return for ``point`` (local search's neighbourhood),
        each point once and never ``point`` itself, in a fixed order."""

    def features(self, point: Any) -> list[float]:
        """A fixed-length numeric encoding of ``point`` for a performance predictor (the
        path encoding for cell spaces, one-hot decisions otherwise)."""

    def contains(self, point: Any) -> bool:
        """Whether ``point`` is a member of the space."""

    def key(self, point: Any) -> str:
        """A canonical hash: equal for two spellings of the same point."""

    def network(self, point: Any, *, num_classes: int = 10, input_size: int = 32, input_channels: int = 3,
                skeleton: Mapping[str, Any] | None = None) -> "NetworkGenotype":
        """The network ``point`` stands for, for inputs of ``input_channels`` ×
        ``input_size``² and ``num_classes`` classes. ``skeleton`` holds the space's own
        settings of the network around the point (cells per stage, filters, ...; see
        each space); ``None`` means the space's defaults. An unknown setting is a
        ``SpaceError``."""


def json_key(data: Any) -> str:
    """A short stable hash of JSON-able data (keys sorted, no whitespace)."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def skeleton_settings(space: str, skeleton: Mapping[str, Any] | None, defaults: Mapping[str, Any]) -> dict[str, Any]:
    """``defaults`` updated with ``skeleton``; a key the space does not know is a ``SpaceError``."""
    given = dict(skeleton or {})
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        raise SpaceError(f"skeleton.{unknown[0]}: not a setting of the {space} space's network; "
                         f"known: {', '.join(defaults)}")
    for key, value in given.items():
        problem = None if defaults[key] is None or value is None else kind_problem(value, type(defaults[key]))
        if problem:
            raise SpaceError(f"skeleton.{key}: {problem}")
    return {**defaults, **given}
