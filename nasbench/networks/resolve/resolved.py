"""What a name resolved to (``Resolved``), the errors of resolving, and what the resolvers
of each source kind share: the kinds of origin, the spaces a caller takes, the messages."""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Collection, Mapping, Sequence

from nasbench.core.errors import UsageError, first_line
from search_spaces.formats import (FormatError, cell_text)
from search_spaces.genotype import GenotypeError, NetworkGenotype
from search_spaces.published import published
from search_spaces.registry import RegistryError
from search_spaces.spaces import Space, SpaceError, make_space
from search_spaces.zoo import Figures, ZooEntry


# What a name can stand for: a network, or a point of a space (records, transfer's and
# train's, spell a point file's origin "file"; a cell typed as the name itself, "text").
NETWORK_ORIGINS = ("zoo", "genotype")


POINT_ORIGINS = ("published", "run", "file", "text")


ORIGINS = NETWORK_ORIGINS + POINT_ORIGINS


@dataclass(frozen=True)
class SpacesTaken:
    """The spaces whose points a caller can build, and what they have that the others
    lack (transfer: the spaces with ``a cell-network skeleton``)."""

    names: tuple[str, ...]
    feature: str
    elsewhere: str = ""  # where points of the other spaces can go instead

    def refuse(self, space: str, where: str, own_space: Space | None = None) -> "ResolveError | None":
        """None where the caller takes points of ``space``; a space a cell brings with it
        (``own_space``) is taken where a space of its kind is."""
        if space in self.names:
            return None
        if own_space is not None and any(isinstance(own_space, type(make_space(name))) for name in self.names):
            return None
        return ResolveError(f"{where}: space {space!r} has no {self.feature}; points of "
                            f"{', '.join(self.names)} have one{'; ' + self.elsewhere if self.elsewhere else ''}")


class ResolveError(UsageError):
    """A name that stands for no network: unknown, a missing or malformed file, a run
    directory without its best point, a variant or space that contradicts the source."""


@dataclass(frozen=True)
class Resolved:
    """What a name stands for.

    ``origin``: one of ``ORIGINS``. Networks (``zoo``, ``genotype``) carry ``genotype``,
    validated, at its own size; a genotype file whose graph is a zoo entry's carries that
    entry and variant too, so its figures apply. Points (``published``, ``run``, ``file``)
    carry ``space`` and ``point``, and ``output``: the states each cell concatenates where
    a published release departs from the space's rule. ``fixed_variant``: the variant the
    request fixes, by naming it or by a name that implies it (an alias such as
    ``vgg11_bn``); None where the entry's default was taken.

    ``format``: the field's format a cell was written in (``search_spaces.formats.FORMATS``:
    ``darts`` for a DARTS ``Genotype(...)`` or its JSON, ``nb201`` for an NB201 string;
    None otherwise). A ``darts`` cell comes from DARTS' family, whose papers evaluate it
    in DARTS' networks; the skeleton presets read this field to pick them.
    ``own_space``: the space a DARTS cell whose ops fit no registered space brings with it
    (a ``TwoInputCellSpace`` over its own ops, named ``own_ops``); None: the registered
    space named ``space``.
    """

    origin: str
    name: str
    location: str = ""
    entry: ZooEntry | None = None
    variant: str | None = None
    fixed_variant: str | None = None
    genotype: Mapping[str, Any] | None = None
    space: str | None = None
    point: Mapping[str, Any] | None = None
    output: Mapping[str, Sequence[int]] | None = None
    skeleton: Mapping[str, Any] | None = None  # a search's: the network its point was evaluated in
    inputs: Mapping[str, Any] | None = None  # a search's data: num_classes, input_size, input_channels
    format: str | None = None
    own_space: Space | None = None

    @property
    def is_point(self) -> bool:
        return self.origin in POINT_ORIGINS

    @property
    def figures(self) -> tuple[Figures, ...]:
        """The zoo figures of this network (none for points: theirs depend on the skeleton)."""
        return self.entry.figures_for(self.variant) if self.entry is not None else ()

    @property
    def paper_setting(self) -> str | None:
        """The evaluation setting of the cell's paper (``search_spaces.skeletons``): a
        published cell's own, DARTS's for a cell in DARTS' format; None: its space's."""
        if self.origin == "published":
            return published(self.name).setting or None
        return "darts" if self.format == "darts" else None

    def with_variant(self, variant: str) -> "Resolved":
        """The same zoo entry in another of its variants."""
        if self.origin != "zoo" or self.entry is None:
            raise ResolveError(f"{self.name} is not a zoo entry; it has no variants")
        return replace(self, variant=variant, genotype=zoo_genotype(self.entry, variant))

    def network(self, *, num_classes: int | None = None, input_size: int | Sequence[int] | None = None,
                input_channels: int | None = None, skeleton: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The network genotype (validated plain dict). ``None`` keeps a network's own
        classes, input size and channels, and gives a point the space's defaults
        (``Space.network``). ``skeleton`` applies to points: the space's settings of the
        network around them (cell spaces: ``name`` cifar or imagenet, ``cells_per_stage``,
        ``filters``, ``aux_head``, ``preset``, ...)."""
        if not self.is_point:
            if skeleton:
                raise ResolveError(f"{self.name}: skeleton settings apply to points of a space, "
                                   f"not to a {self.origin} network")
            return resized(self.genotype or {}, num_classes, input_size, input_channels)
        settings = {**dict(self.skeleton or {}), **dict(skeleton or {})}
        if self.output is not None and settings.get("output") is None:
            settings["output"] = self.output
        if self.paper_setting is not None and settings.get("setting") is None:
            settings["setting"] = self.paper_setting
        sizes = {"num_classes": num_classes, "input_channels": input_channels,
                 "input_size": None if input_size is None else square(input_size, self.name)}
        given = {**dict(self.inputs or {}), **{key: value for key, value in sizes.items() if value is not None}}
        try:
            genotype = self.space_object().network(self.point, skeleton=settings or None, **given)
        except (SpaceError, GenotypeError, RegistryError) as exc:
            raise ResolveError(f"{self.name}: {first_line(exc)}") from exc
        return genotype.to_dict()

    def space_object(self) -> Space:
        """The space of a point: its own, else the registered one named ``space``."""
        return self.own_space if self.own_space is not None else make_space(self.space or "")

    def cell_text(self, format: str | None = None) -> str:
        """The cell written in ``format`` (default: its space's own: DARTS ``Genotype(...)``
        for a two-input cell, an NB201 string for NAS-Bench-201); ``ResolveError`` where
        it has no such form."""
        if not self.is_point:
            raise ResolveError(f"{description(self)}, not a cell; only cells are written as DARTS genotypes or "
                               f"NB201 strings")
        try:
            return cell_text(self.space_object(), self.point, self.output, variable_name(self.name), format)
        except (FormatError, SpaceError) as exc:
            raise ResolveError(f"{self.name}: {first_line(exc)}") from exc

    def to_dict(self) -> dict[str, Any]:
        """A JSON record of the source (for run records and checkpoints)."""
        data: dict[str, Any] = {"name": self.name, "origin": self.origin}
        if self.location:
            data["location"] = self.location
        if self.is_point:
            data.update(space=self.space, point=self.point)
            if self.output is not None:
                data["output"] = {kind: list(states) for kind, states in self.output.items()}
            if self.format is not None:
                data["format"] = self.format
            if self.own_space is not None:
                data["ops"] = list(getattr(self.own_space, "op_names", ()))
        elif self.entry is not None:
            data.update(entry=self.entry.name, variant=self.variant)
        return data


def zoo_genotype(entry: ZooEntry, variant: str) -> dict[str, Any]:
    """The validated plain-dict form the builder takes: parameters at their defaults
    dropped, nodes in their given order (not ``canonical()``, which may renumber nodes
    and so rename parameters)."""
    return NetworkGenotype.from_dict(entry.genotype(variant)).to_dict()


def resized(genotype: Mapping[str, Any], num_classes: int | None, input_size: int | Sequence[int] | None,
             input_channels: int | None) -> dict[str, Any]:
    data = dict(genotype)
    if num_classes is not None:
        data["num_classes"] = num_classes
    if input_size is not None:
        data["input_size"] = [input_size, input_size] if isinstance(input_size, int) else list(input_size)
    if input_channels is not None:
        data["input_channels"] = input_channels
    try:
        return NetworkGenotype.from_dict(data).to_dict()
    except GenotypeError as exc:
        raise ResolveError(f"{genotype.get('name') or 'the network'}: {first_line(exc)}") from exc


def variable_name(name: str) -> str:
    """``name`` as a Python variable for ``NAME = Genotype(...)`` ("" where it is not one)."""
    return name if name.isidentifier() else ""


def refuse_space(space: str, where: str, spaces: SpacesTaken | None, own_space: Space | None = None) -> None:
    refusal = spaces.refuse(space, where, own_space) if spaces is not None else None
    if refusal is not None:
        raise refusal


def space_named(name: str, where: Path) -> Space:
    try:
        return make_space(name)
    except RegistryError as exc:
        raise ResolveError(f"{where}: {first_line(exc)}") from exc


def wrong_origin(resolved: Resolved, origins: Collection[str]) -> ResolveError:
    wanted = "a cell or a point of a space" if set(origins) <= set(POINT_ORIGINS) else "a network"
    return ResolveError(f"{description(resolved)}, not {wanted}")


def description(resolved: Resolved) -> str:
    return {"zoo": f"{resolved.name} is a zoo network", "genotype": f"{resolved.location}: a network genotype",
            "published": f"{resolved.name} is a published cell", "run": f"{resolved.location} is a search run",
            "file": f"{resolved.location}: a point file",
            "text": f"{resolved.name} is a cell ({resolved.format})"}[resolved.origin]


def square(size: int | Sequence[int], name: str) -> int:
    if isinstance(size, int):
        return size
    height, width = size
    if height != width:
        raise ResolveError(f"{name}: a cell network takes a square input, not {height}x{width}")
    return int(height)
