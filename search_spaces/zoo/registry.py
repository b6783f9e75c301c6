"""The zoo registry: a name maps to a genotype factory per variant, with the figures of
its paper (and of torchvision/timm where those differ) beside it (timm's
``register_model``, torchvision's weights metadata), and the torchvision/timm models
that are exactly one of its variants (``ForeignName``), by which users also name it.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Callable, Iterable, Iterator, Mapping

from ..errors import NasError

GenotypeFactory = Callable[[], dict[str, Any]]


class ZooError(NasError, KeyError):
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


LIBRARIES = ("torchvision", "timm")


@dataclass(frozen=True)
class ForeignName:
    """A torchvision or timm model that is exactly one variant of a zoo entry: the same
    layers, the same function, its state_dict's tensors in the zoo's order.

    ``name``: the model's name in ``libraries``. ``keys``: state_dict keys its weights have
    and the other models of the entry's family do not, by which a weights file is
    recognised as this model's (``nasbench.networks.weights``). A name that differs from the
    entry's is an alias: users may type it instead of the entry's name and variant.
    """

    name: str
    variant: str
    libraries: tuple[str, ...]
    keys: tuple[str, ...] = ()

    def qualified(self) -> tuple[str, ...]:
        """The library-qualified spellings: ``torchvision.resnet50``, ``timm.resnet50``."""
        return tuple(f"{library}.{self.name}" for library in self.libraries)


@dataclass(frozen=True)
class ZooEntry:
    """A classic network: its variants (the first is the default), their figures, and the
    torchvision/timm models that are one of them."""

    name: str
    family: str
    paper: str
    variants: Mapping[str, GenotypeFactory]
    figures: Mapping[str, tuple[Figures, ...]] = field(default_factory=dict)
    notes: str = ""
    foreign_names: tuple[ForeignName, ...] = ()

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


    @property
    def aliases(self) -> dict[str, str]:
        """Foreign names other than the entry's own -> the variant each is."""
        return {foreign.name: foreign.variant for foreign in self.foreign_names if foreign.name != self.name}


@dataclass(frozen=True)
class ZooName:
    """What a typed name found: the entry, and the variant the name itself fixes (an
    alias or a library-qualified name) or None (the entry's own name)."""

    entry: ZooEntry
    variant: str | None = None
    foreign: ForeignName | None = None


class Zoo(Mapping[str, ZooEntry]):
    """An immutable name -> entry mapping that also finds entries by their foreign names
    (``find``). A duplicate name, a duplicate alias, an alias equal to an entry's name and
    a foreign name of a variant the entry lacks are errors at build time, not warnings."""

    def __init__(self, entries: Iterable[ZooEntry]):
        table: dict[str, ZooEntry] = {}
        for entry in entries:
            if entry.name in table:
                raise ZooError(f"zoo name {entry.name!r} is registered twice")
            table[entry.name] = entry
        self._entries = MappingProxyType(table)
        self._foreign = MappingProxyType(_foreign_table(table))

    def __getitem__(self, name: str) -> ZooEntry:
        return self._entries[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def aliases(self) -> Mapping[str, ZooName]:
        """Every name users may type besides the entries' own: aliases and
        library-qualified names (``torchvision.resnet50``)."""
        return self._foreign

    def find(self, name: str) -> ZooName | None:
        """The entry (and variant) ``name`` stands for; None when it is no zoo name."""
        if name in self._entries:
            return ZooName(self._entries[name])
        return self._foreign.get(name)

    def close_matches(self, name: str, n: int = 3) -> list[str]:
        """Entry names and aliases that look like ``name`` (qualified names left out)."""
        names = [*self._entries, *(alias for alias in self._foreign if "." not in alias)]
        return difflib.get_close_matches(name, names, n=n, cutoff=0.6)


def _foreign_table(entries: Mapping[str, ZooEntry]) -> dict[str, ZooName]:
    """Alias and qualified name -> ``ZooName``, refusing clashes."""
    table: dict[str, ZooName] = {}
    for entry in entries.values():
        for foreign in entry.foreign_names:
            if foreign.variant not in entry.variants:
                raise ZooError(f"{entry.name}: foreign name {foreign.name!r} is of variant {foreign.variant!r}, "
                               f"which it lacks; variants: {', '.join(entry.variants)}")
            unknown = [library for library in foreign.libraries if library not in LIBRARIES]
            if unknown or not foreign.libraries:
                raise ZooError(f"{entry.name}: foreign name {foreign.name!r}: libraries must be among "
                               f"{', '.join(LIBRARIES)}, got {foreign.libraries!r}")
            names = list(foreign.qualified())
            if foreign.name != entry.name:
                if foreign.name in entries:
                    raise ZooError(f"{entry.name}: alias {foreign.name!r} is the name of another zoo entry")
                names.append(foreign.name)
            for name in names:
                if name in table:
                    other = table[name].entry.name
                    raise ZooError(f"alias {name!r} is registered twice ({other} and {entry.name})")
                table[name] = ZooName(entry, foreign.variant, foreign)
    return table


def make_registry(entries: Iterable[ZooEntry]) -> Zoo:
    """An immutable name -> entry mapping (``Zoo``); a duplicate name is an error, not a warning."""
    return Zoo(entries)
