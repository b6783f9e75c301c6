"""The zoo registry: a name maps to a genotype factory per variant, with the figures of
its paper (and of torchvision/timm where those differ) beside it (timm's
``register_model``, torchvision's weights metadata)."""
from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Callable, Iterable, Mapping

GenotypeFactory = Callable[[], dict[str, Any]]


class ZooError(KeyError):
    """An unknown zoo name or variant, or a duplicate registration."""

    def __str__(self) -> str:  # KeyError quotes its message; print it plainly
        return str(self.args[0]) if self.args else ""


@dataclass(frozen=True)
class Figures:
    """A published figure to check a rebuilt network against.

    ``params_tolerance`` and ``macs_tolerance`` are relative (0 = exact): papers round
    their figures ("21.8M", "3.6×10⁹"), torchvision's counts are exact. ``counts_aux``:
    whether the figure includes the auxiliary heads' parameters (torchvision's GoogLeNet
    count of 6,624,904 does not).
    """

    source: str
    params: int | None = None
    params_tolerance: float = 0.0
    macs: float | None = None
    macs_tolerance: float = 0.03
    counts_aux: bool = True


@dataclass(frozen=True)
class ZooEntry:
    """A classic network: its variants (the first is the default) and their figures."""

    name: str
    family: str
    paper: str
    variants: Mapping[str, GenotypeFactory]
    figures: Mapping[str, tuple[Figures, ...]] = field(default_factory=dict)
    notes: str = ""

    @property
    def default_variant(self) -> str:
        return next(iter(self.variants))

    def genotype(self, variant: str | None = None) -> dict[str, Any]:
        variant = variant or self.default_variant
        if variant not in self.variants:
            raise ZooError(f"{self.name} has no variant {variant!r}; variants: {', '.join(self.variants)}")
        data = self.variants[variant]()
        data["name"] = self.name if variant == self.default_variant else f"{self.name}:{variant}"
        return data

    def figures_for(self, variant: str | None = None) -> tuple[Figures, ...]:
        return self.figures.get(variant or self.default_variant, ())


def make_registry(entries: Iterable[ZooEntry]) -> Mapping[str, ZooEntry]:
    """An immutable name -> entry mapping; a duplicate name is an error, not a warning."""
    table: dict[str, ZooEntry] = {}
    for entry in entries:
        if entry.name in table:
            raise ZooError(f"zoo name {entry.name!r} is registered twice")
        table[entry.name] = entry
    return MappingProxyType(table)
