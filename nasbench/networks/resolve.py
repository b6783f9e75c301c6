"""One resolver from what a user names to a network (every command's NAME or SOURCE).

A name is, in this order:

- a zoo entry (``resnet50``), or a torchvision/timm name of one of its variants: an alias
  (``wide_resnet50_2``, ``vgg11_bn``, ``legacy_seresnet50``) or a library-qualified name
  (``torchvision.resnet50``), which fixes the variant;
- a published cell (``nasnet_a``, ``amoeba_a``, ``darts_v2``, ``enas``;
  ``search_spaces.published``), built with its release's concatenation;
- a directory: a ``nasbench.search`` run (``config.yaml`` names the space, ``best.json``
  holds the best point);
- a JSON file: a network genotype (it has ``stages``), or a point, bare or wrapped as
  ``{"space": ..., "point": ...}`` (``best.json`` and history rows are such wrappings);
- a cell in one of the field's formats (``search_spaces.formats``), typed as the name
  itself or held in a file: DARTS' ``Genotype(...)`` (a ``genotypes.py`` with several:
  ``FILE:NAME`` picks one), its ``_asdict()`` JSON, or an NB201 string
  ``|nor_conv_3x3~0|+|...|``. Such a cell records its ``format`` (``darts``, ``nb201``)
  so that the network around it can be its paper's (see ``Resolved``);
- a NAS-Bench-201 index (``6111``): the cell the NB201 table numbers so.

``resolve`` returns a ``Resolved``; ``Resolved.network`` turns it into a network genotype
for given classes, input and (for cells) skeleton settings. Every failure is one
``ResolveError`` whose one-line message names what is wrong.
"""
from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Collection, Mapping, Sequence

from search_spaces.formats import FormatError, TextCell, cell_from_json, cell_text, looks_like_cell_text
from search_spaces.formats import looks_like_darts_json, read_cell
from search_spaces.genotype import DEFAULT_LIMITS, GenotypeError, NetworkGenotype, read_json
from search_spaces.published import PUBLISHED, published
from search_spaces.published import point as published_point
from search_spaces.registry import RegistryError
from search_spaces.spaces import SPACES, Space, SpaceError, make_space
from search_spaces.zoo import Figures, Zoo, ZooEntry, ZooError, zoo

from nasbench.core.errors import UsageError

BEST = "best.json"
CONFIG = "config.yaml"
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
        return replace(self, variant=variant, genotype=_zoo_genotype(self.entry, variant))

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
            return _resized(self.genotype or {}, num_classes, input_size, input_channels)
        settings = {**dict(self.skeleton or {}), **dict(skeleton or {})}
        if self.output is not None and settings.get("output") is None:
            settings["output"] = self.output
        if self.paper_setting is not None and settings.get("setting") is None:
            settings["setting"] = self.paper_setting
        sizes = {"num_classes": num_classes, "input_channels": input_channels,
                 "input_size": None if input_size is None else _square(input_size, self.name)}
        given = {**dict(self.inputs or {}), **{key: value for key, value in sizes.items() if value is not None}}
        try:
            genotype = self.space_object().network(self.point, skeleton=settings or None, **given)
        except (SpaceError, GenotypeError, RegistryError) as exc:
            raise ResolveError(f"{self.name}: {_first_line(exc)}") from exc
        return genotype.to_dict()

    def space_object(self) -> Space:
        """The space of a point: its own, else the registered one named ``space``."""
        return self.own_space if self.own_space is not None else make_space(self.space or "")

    def cell_text(self, format: str | None = None) -> str:
        """The cell written in ``format`` (default: its space's own: DARTS ``Genotype(...)``
        for a two-input cell, an NB201 string for NAS-Bench-201); ``ResolveError`` where
        it has no such form."""
        if not self.is_point:
            raise ResolveError(f"{_description(self)}, not a cell; only cells are written as DARTS genotypes or "
                               f"NB201 strings")
        try:
            return cell_text(self.space_object(), self.point, self.output, _variable_name(self.name), format)
        except (FormatError, SpaceError) as exc:
            raise ResolveError(f"{self.name}: {_first_line(exc)}") from exc

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


def resolve(name: str | Path, variant: str | None = None, *, space: str | None = None,
            origins: Collection[str] = ORIGINS, spaces: SpacesTaken | None = None,
            registry: Zoo | None = None) -> Resolved:
    """What ``name`` stands for (see the module's docstring). ``variant``: a zoo entry's
    variant (default: the one the name fixes, else the entry's first). ``space``: the space
    of a bare point file (default: the first cell space it belongs to); for other cells it
    must agree with theirs. ``origins``: the kinds the caller takes (a subset of
    ``ORIGINS``); another kind is an error that says what the name is. ``spaces``: the
    spaces whose points the caller takes (default: every space); a point of another is
    refused before it is checked."""
    registry = zoo() if registry is None else registry
    text = str(name)
    found = registry.find(text)
    if found is not None:
        resolved = _from_zoo(text, found.entry, found.variant, variant)
    elif text in PUBLISHED:
        resolved = _from_published(text, space, spaces)
    else:
        path, picked = _existing_path(text), _picked_file(text)
        if path is not None and path.is_dir():
            resolved = _from_run_dir(path, space, spaces)
        elif path is not None:
            resolved = _from_file(path, space, origins, spaces, registry)
        elif picked is not None:
            resolved = _from_cell_file(picked[0], picked[1], space, spaces)
        elif looks_like_cell_text(text):
            cell = _text_cell(text, "the cell", None, space, spaces)
            default = "darts_genotype" if cell.format == "darts" else text.strip().strip("'\"").strip()
            resolved = _cell_resolved("text", cell.name or default, "", cell)
        elif text.isdigit():
            cell = _text_cell(_nb201_arch(text), f"NAS-Bench-201 index {text}", None, space, spaces)
            resolved = _cell_resolved("text", f"nb201_{int(text)}", "", cell)
        else:
            raise _unknown(text, origins, registry)
    if variant is not None and resolved.origin != "zoo":
        raise ResolveError(f"a variant applies to zoo names; {_description(resolved)}")
    if resolved.origin not in origins:
        raise _wrong_origin(resolved, origins)
    return resolved


def _nb201_arch(index: str) -> str:
    """The NB201 string of the cell NB201 numbers ``index`` (its table is the one place
    that order exists)."""
    from nasbench.tables.nasbench201 import TableNotFoundError, UnknownArchitectureError, arch_for_index

    try:
        return arch_for_index(index)
    except (UnknownArchitectureError, TableNotFoundError) as exc:
        raise ResolveError(str(exc).strip("'\"")) from None


def seed_point(source: Any, space: str) -> Any:
    """A point of ``space`` from what a user gives as a search's starting point: a point
    as data (checked by the space), or anything ``resolve`` takes that stands for a cell of
    that space (a published cell, a DARTS ``Genotype(...)`` or NB201 string, typed or in a
    file, a run directory). A cell of another space, or one that concatenates other states
    than the space's rule (a point cannot carry them), is a ``ResolveError``. A search's
    ``search.seed_points`` are read here (``nasbench.config.parts.seed_points``)."""
    if isinstance(source, int) and not isinstance(source, bool):
        source = str(source)  # an NB201 index
    if not isinstance(source, (str, Path)):
        return _checked_point(source, _space(space, Path("seed point")), Path("seed point"), "")
    resolved = resolve(source, space=space, origins=POINT_ORIGINS)
    if resolved.output is not None:
        raise ResolveError(f"{resolved.name}: it concatenates {dict(resolved.output)}, not the {space} space's rule; "
                           f"a point of the space cannot say so")
    return resolved.point


# --- zoo names and genotype files -------------------------------------------------------------

def _from_zoo(text: str, entry: ZooEntry, fixed: str | None, variant: str | None) -> Resolved:
    if fixed is not None and variant is not None and variant != fixed:
        raise ResolveError(f"{text} is variant {fixed!r} of {entry.name}; variant {variant!r} is another network")
    chosen = variant or fixed or entry.default_variant
    try:
        genotype = _zoo_genotype(entry, chosen)
    except ZooError as exc:
        raise ResolveError(str(exc)) from exc
    return Resolved("zoo", entry.name, entry=entry, variant=chosen, fixed_variant=variant or fixed, genotype=genotype)


def _zoo_genotype(entry: ZooEntry, variant: str) -> dict[str, Any]:
    """The validated plain-dict form the builder takes: parameters at their defaults
    dropped, nodes in their given order (not ``canonical()``, which may renumber nodes
    and so rename parameters)."""
    return NetworkGenotype.from_dict(entry.genotype(variant)).to_dict()


def _genotype_file(path: Path, data: Any, registry: Zoo) -> Resolved:
    try:
        genotype = NetworkGenotype.from_dict(data).to_dict()
    except GenotypeError as exc:
        raise ResolveError(f"{path}: {_first_line(exc)}") from exc
    entry, variant = _matching_entry(genotype, registry)
    display = entry.name if entry is not None else (genotype.get("name") or path.stem)
    return Resolved("genotype", display, str(path.resolve()), entry=entry, variant=variant, genotype=genotype)


def _matching_entry(genotype: Mapping[str, Any], registry: Zoo) -> tuple[ZooEntry | None, str | None]:
    """The zoo entry and variant a genotype file was exported from, if its graph is theirs."""
    base, _, variant = str(genotype.get("name", "")).partition(":")
    entry = registry.get(base)
    if entry is None:
        return None, None
    variant = variant or entry.default_variant
    if variant not in entry.variants:
        return None, None
    if NetworkGenotype.from_dict(entry.genotype(variant)).key() != NetworkGenotype.from_dict(genotype).key():
        return None, None
    return entry, variant


def _resized(genotype: Mapping[str, Any], num_classes: int | None, input_size: int | Sequence[int] | None,
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
        raise ResolveError(f"{genotype.get('name') or 'the network'}: {_first_line(exc)}") from exc


# --- cells ------------------------------------------------------------------------------------

def _from_published(text: str, space: str | None, spaces: SpacesTaken | None) -> Resolved:
    cell = published(text)
    if space is not None and space != cell.space:
        raise ResolveError(f"space {space}: {text} is a cell of the {cell.space} space")
    _refuse_space(cell.space, text, spaces)
    return Resolved("published", text, space=cell.space, point=published_point(text),
                    output=cell.implementation_output)


def _from_run_dir(path: Path, space: str | None, spaces: SpacesTaken | None) -> Resolved:
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    config_path, best_path = path / CONFIG, path / BEST
    if not config_path.is_file():
        raise ResolveError(f"{path}: no {CONFIG}; is it a nasbench.search run directory?")
    if not best_path.is_file():
        raise ResolveError(f"{path}: no {BEST}; the search has not finished a candidate yet")
    try:
        config = OmegaConf.load(config_path)
    except (OmegaConfBaseException, ValueError) as exc:
        raise ResolveError(f"{config_path}: not a YAML config ({_first_line(exc)})") from exc
    run_space = OmegaConf.select(config, "space.name")
    if not isinstance(run_space, str):
        raise ResolveError(f"{config_path}: no space.name")
    if space is not None and space != run_space:
        raise ResolveError(f"space {space}: the run searched the {run_space} space")
    data = _read_json(best_path)
    if not isinstance(data, Mapping) or "point" not in data:
        raise ResolveError(f"{best_path}: no 'point' field")
    _refuse_space(run_space, str(best_path), spaces)
    point = _checked_point(data["point"], _space(run_space, config_path), best_path, "point")
    skeleton = data.get("skeleton", OmegaConf.to_container(config).get("space", {}).get("skeleton"))
    return Resolved("run", path.resolve().name, str(path.resolve()), space=run_space, point=point,
                    **_evaluated_in(best_path, {**data, "skeleton": skeleton}))


def _from_file(path: Path, space: str | None, origins: Collection[str], spaces: SpacesTaken | None,
               registry: Zoo) -> Resolved:
    text = _cell_file_text(path)
    if text is not None:
        return _from_cell_file(path, None, space, spaces, text)
    data = _read_json(path)
    location = str(path.resolve())
    if looks_like_darts_json(data):
        where = str(path)
        try:
            candidates = _cell_spaces_named(space, path)
            cell = cell_from_json(data, path.stem, candidates)
        except FormatError as exc:
            raise ResolveError(f"{where}: {_first_line(exc)}") from exc
        return _cell_resolved("file", cell.name, location, _checked_text_cell(cell, where, space, spaces))
    if isinstance(data, Mapping) and "point" in data:
        wrapped = data.get("space")
        if wrapped is not None:
            if not isinstance(wrapped, str):
                raise ResolveError(f"{path}: space: expected a space name, got {wrapped!r}")
            if space is not None and space != wrapped:
                raise ResolveError(f"space {space}: {path.name} says its point is of the {wrapped} space")
            space = wrapped
        return replace(_point_file(path, data["point"], space, "point", spaces), **_evaluated_in(path, data))
    if space is None and _looks_like_genotype(data) and not any(make_space(name).contains(data) for name in SPACES):
        if "genotype" not in origins:  # say what the file is before finding fault with it
            raise _wrong_origin(Resolved("genotype", path.stem, location), origins)
        return _genotype_file(path, data, registry)
    return _point_file(path, data, space, "", spaces)


def _point_file(path: Path, point: Any, space: str | None, field: str, spaces: SpacesTaken | None) -> Resolved:
    """A point of ``space``, or of the first space (of those taken) it belongs to."""
    if space is None:
        candidates = spaces.names if spaces is not None else tuple(SPACES)
        space = next((name for name in candidates if make_space(name).contains(point)), None)
        if space is None:
            complaint = _point_complaint(make_space(candidates[0]), point)
            raise ResolveError(f"{path}: {field + ': ' if field else ''}not a point of any space "
                               f"({', '.join(candidates)}); as a {candidates[0]} point: {complaint}")
    _refuse_space(space, str(path), spaces)
    checked = _checked_point(point, _space(space, path), path, field)
    return Resolved("file", path.stem, str(path.resolve()), space=space, point=checked)


# --- cells in the field's formats (search_spaces.formats) --------------------------------------

def _existing_path(text: str) -> Path | None:
    """``text`` as an existing file or directory; None otherwise (a genotype typed inline
    may be too long a name for the file system to look up)."""
    path = Path(text).expanduser()
    try:
        return path if path.exists() else None
    except (OSError, ValueError):
        return None


def _picked_file(text: str) -> tuple[Path, str] | None:
    """``FILE:NAME`` (a genotype NAME in a DARTS genotypes FILE): the file and the name."""
    file, _, name = text.rpartition(":")
    if not file or not name.isidentifier():
        return None
    path = _existing_path(file)
    return (path, name) if path is not None and path.is_file() else None


def _cell_file_text(path: Path) -> str | None:
    """The text of a file holding a cell in a text format (DARTS ``Genotype(...)``, an NB201
    string); None for anything else, JSON included, which ``_read_json`` reads or refuses."""
    try:
        if path.stat().st_size > DEFAULT_LIMITS.max_file_bytes:
            return None
        with open(path, "rb") as stream:
            text = stream.read(DEFAULT_LIMITS.max_file_bytes + 1).decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    if text.lstrip().startswith(("{", "[", '"')):
        return None
    return text if looks_like_cell_text(text) else None


def _from_cell_file(path: Path, pick: str | None, space: str | None, spaces: SpacesTaken | None,
                    text: str | None = None) -> Resolved:
    """The cell in a text-format file; ``pick``: the genotype's name where it holds several."""
    text = _cell_file_text(path) if text is None else text
    if text is None:
        raise ResolveError(f"{path}: {pick!r} picks a genotype in a DARTS genotypes file; this file holds none")
    where = f"{path}:{pick}" if pick else str(path)
    cell = _text_cell(text, where, pick, space, spaces)
    location = str(path.resolve()) + (f":{pick}" if pick else "")
    return _cell_resolved("file", cell.name or path.stem, location, cell)


def _text_cell(text: str, where: str, pick: str | None, space: str | None, spaces: SpacesTaken | None) -> TextCell:
    """The cell ``text`` holds, in ``space`` where one is named, among the spaces taken."""
    try:
        cell = read_cell(text, pick, _cell_spaces_named(space, where))
    except FormatError as exc:
        message = _first_line(exc)
        if message.endswith("pick one by name") and pick is None:
            message += f" ({where}:NAME)"
        raise ResolveError(f"{where}: {message}") from exc
    return _checked_text_cell(cell, where, space, spaces)


def _cell_spaces_named(space: str | None, where: Any) -> list[Any] | None:
    """The cell space a DARTS cell must go to where ``space`` names one (None: any)."""
    if space is None:
        return None
    named = _space(space, Path(str(where)))
    return [named] if hasattr(named, "ops") and hasattr(named, "cell") else None


def _checked_text_cell(cell: TextCell, where: str, space: str | None, spaces: SpacesTaken | None) -> TextCell:
    if space is not None and space != cell.space.name:
        if cell.own_space:
            raise ResolveError(f"space {space}: {where} does not fit the {space} space (its ops, node count or inputs)")
        raise ResolveError(f"space {space}: {where} holds a cell of the {cell.space.name} space")
    _refuse_space(cell.space.name, where, spaces, cell.space if cell.own_space else None)
    return cell


def _cell_resolved(origin: str, name: str, location: str, cell: TextCell) -> Resolved:
    output = None if cell.output is None else {kind: tuple(states) for kind, states in cell.output.items()}
    return Resolved(origin, name, location, space=cell.space.name, point=cell.point, output=output,
                    format=cell.format, own_space=cell.space if cell.own_space else None)


def _variable_name(name: str) -> str:
    """``name`` as a Python variable for ``NAME = Genotype(...)`` ("" where it is not one)."""
    return name if name.isidentifier() else ""


def _evaluated_in(path: Path, data: Mapping[str, Any]) -> dict[str, Any]:
    """The network a search evaluated its point in, as ``best.json`` records it: the
    ``skeleton`` settings and the data's ``inputs`` (``{}`` where not recorded)."""
    found: dict[str, Any] = {}
    for key in ("skeleton", "inputs"):
        value = data.get(key)
        if value is None:
            continue
        if not isinstance(value, Mapping):
            raise ResolveError(f"{path}: {key}: expected a mapping, got {value!r}")
        found[key] = dict(value)
    unknown = sorted(set(found.get("inputs", {})) - {"num_classes", "input_size", "input_channels"})
    if unknown:
        raise ResolveError(f"{path}: inputs.{unknown[0]}: not one of num_classes, input_size, input_channels")
    return found


def _refuse_space(space: str, where: str, spaces: SpacesTaken | None, own_space: Space | None = None) -> None:
    refusal = spaces.refuse(space, where, own_space) if spaces is not None else None
    if refusal is not None:
        raise refusal


def _looks_like_genotype(data: Any) -> bool:
    return isinstance(data, Mapping) and ("stages" in data or "stem" in data or "head" in data)


def _space(name: str, where: Path) -> Space:
    try:
        return make_space(name)
    except RegistryError as exc:
        raise ResolveError(f"{where}: {_first_line(exc)}") from exc


def _read_json(path: Path) -> Any:
    """The JSON in ``path``: a file over the genotype size limit, nested past the parser's
    depth or holding NaN/Infinity is refused in one line, before or while it is read."""
    try:
        return read_json(path)
    except GenotypeError as exc:
        cause = exc.__cause__
        if isinstance(cause, json.JSONDecodeError):
            raise ResolveError(f"{path}: not valid JSON (line {cause.lineno}, column {cause.colno}: "
                               f"{cause.msg})") from exc
        raise ResolveError(_first_line(exc)) from exc


def _checked_point(point: Any, space: Space, path: Path, field: str) -> Any:
    """``point`` as the space validates it; else the space's complaint, which names the field."""
    check = getattr(space, "check", None)
    if check is not None:  # a space that spells its points one way returns that spelling
        try:
            return check(point)
        except SpaceError as exc:
            raise ResolveError(f"{path}: {field + ': ' if field else ''}{_first_line(exc)}") from exc
    if not space.contains(point):
        raise ResolveError(f"{path}: {field + ': ' if field else ''}{_point_complaint(space, point)}")
    return point


def _point_complaint(space: Space, point: Any) -> str:
    """Why ``point`` is not a point of ``space``, in the space's words (its network says)."""
    try:
        space.network(point)
    except (SpaceError, GenotypeError) as exc:
        return _first_line(exc)
    return "not a point of this space"


# --- messages ---------------------------------------------------------------------------------

def _unknown(text: str, origins: Collection[str], registry: Zoo) -> ResolveError:
    if text.endswith(".json") or "/" in text:
        return ResolveError(f"no such file or directory {text!r}")
    if set(origins) <= set(POINT_ORIGINS):
        close = difflib.get_close_matches(text.lower(), list(PUBLISHED), n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        return ResolveError(f"unknown cell {text!r}{hint} (published cells: {', '.join(PUBLISHED)}; or give a "
                            f"nasbench.search run directory or a point JSON file)")
    close = registry.close_matches(text) or difflib.get_close_matches(text, list(PUBLISHED), n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(close)}?" if close else \
        ": not a zoo name or alias, a published cell, a run directory or a JSON file"
    return ResolveError(f"unknown network {text!r}{hint}")


def _wrong_origin(resolved: Resolved, origins: Collection[str]) -> ResolveError:
    wanted = "a cell or a point of a space" if set(origins) <= set(POINT_ORIGINS) else "a network"
    return ResolveError(f"{_description(resolved)}, not {wanted}")


def _description(resolved: Resolved) -> str:
    return {"zoo": f"{resolved.name} is a zoo network", "genotype": f"{resolved.location}: a network genotype",
            "published": f"{resolved.name} is a published cell", "run": f"{resolved.location} is a search run",
            "file": f"{resolved.location}: a point file",
            "text": f"{resolved.name} is a cell ({resolved.format})"}[resolved.origin]


def _square(size: int | Sequence[int], name: str) -> int:
    if isinstance(size, int):
        return size
    height, width = size
    if height != width:
        raise ResolveError(f"{name}: a cell network takes a square input, not {height}x{width}")
    return int(height)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
