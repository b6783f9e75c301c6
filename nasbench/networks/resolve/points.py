"""Run directories and JSON files: a search's best point (with the network it was evaluated
in), a point bare or wrapped as ``{"space": ..., "point": ...}``, or whatever else the file
holds (a network genotype, a DARTS cell)."""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any, Collection, Mapping

from nasbench.core.errors import first_line
from nasbench.networks.resolve.cells import (cell_file_text, cell_resolved, cell_spaces_named, checked_text_cell,
                                            from_cell_file)
from nasbench.networks.resolve.networks import genotype_file, looks_like_genotype
from nasbench.networks.resolve.resolved import (ResolveError, Resolved, SpacesTaken, refuse_space, space_named,
                                                wrong_origin)
from search_spaces.formats import (FormatError, cell_from_json, looks_like_darts_json)
from search_spaces.genotype import GenotypeError, read_json
from search_spaces.spaces import SPACES, Space, SpaceError, make_space
from search_spaces.zoo import Zoo


BEST = "best.json"


CONFIG = "config.yaml"


def from_run_dir(path: Path, space: str | None, spaces: SpacesTaken | None) -> Resolved:
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
        raise ResolveError(f"{config_path}: not a YAML config ({first_line(exc)})") from exc
    run_space = OmegaConf.select(config, "space.name")
    if not isinstance(run_space, str):
        raise ResolveError(f"{config_path}: no space.name")
    if space is not None and space != run_space:
        raise ResolveError(f"space {space}: the run searched the {run_space} space")
    data = read_json_file(best_path)
    if not isinstance(data, Mapping) or "point" not in data:
        raise ResolveError(f"{best_path}: no 'point' field")
    refuse_space(run_space, str(best_path), spaces)
    point = checked_point(data["point"], space_named(run_space, config_path), best_path, "point")
    skeleton = data.get("skeleton", OmegaConf.to_container(config).get("space", {}).get("skeleton"))
    return Resolved("run", path.resolve().name, str(path.resolve()), space=run_space, point=point,
                    **evaluated_in(best_path, {**data, "skeleton": skeleton}))


def from_file(path: Path, space: str | None, origins: Collection[str], spaces: SpacesTaken | None,
               registry: Zoo) -> Resolved:
    text = cell_file_text(path)
    if text is not None:
        return from_cell_file(path, None, space, spaces, text)
    data = read_json_file(path)
    location = str(path.resolve())
    if looks_like_darts_json(data):
        where = str(path)
        try:
            candidates = cell_spaces_named(space, path)
            cell = cell_from_json(data, path.stem, candidates)
        except FormatError as exc:
            raise ResolveError(f"{where}: {first_line(exc)}") from exc
        return cell_resolved("file", cell.name, location, checked_text_cell(cell, where, space, spaces))
    if isinstance(data, Mapping) and "point" in data:
        wrapped = data.get("space")
        if wrapped is not None:
            if not isinstance(wrapped, str):
                raise ResolveError(f"{path}: space: expected a space name, got {wrapped!r}")
            if space is not None and space != wrapped:
                raise ResolveError(f"space {space}: {path.name} says its point is of the {wrapped} space")
            space = wrapped
        return replace(point_file(path, data["point"], space, "point", spaces), **evaluated_in(path, data))
    if space is None and looks_like_genotype(data) and not any(make_space(name).contains(data) for name in SPACES):
        if "genotype" not in origins:  # say what the file is before finding fault with it
            raise wrong_origin(Resolved("genotype", path.stem, location), origins)
        return genotype_file(path, data, registry)
    return point_file(path, data, space, "", spaces)


def point_file(path: Path, point: Any, space: str | None, field: str, spaces: SpacesTaken | None) -> Resolved:
    """A point of ``space``, or of the first space (of those taken) it belongs to."""
    if space is None:
        candidates = spaces.names if spaces is not None else tuple(SPACES)
        space = next((name for name in candidates if make_space(name).contains(point)), None)
        if space is None:
            complaint = point_complaint(make_space(candidates[0]), point)
            raise ResolveError(f"{path}: {field + ': ' if field else ''}not a point of any space "
                               f"({', '.join(candidates)}); as a {candidates[0]} point: {complaint}")
    refuse_space(space, str(path), spaces)
    checked = checked_point(point, space_named(space, path), path, field)
    return Resolved("file", path.stem, str(path.resolve()), space=space, point=checked)


def evaluated_in(path: Path, data: Mapping[str, Any]) -> dict[str, Any]:
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


def read_json_file(path: Path) -> Any:
    """The JSON in ``path``: a file over the genotype size limit, nested past the parser's
    depth or holding NaN/Infinity is refused in one line, before or while it is read."""
    try:
        return read_json(path)
    except GenotypeError as exc:
        cause = exc.__cause__
        if isinstance(cause, json.JSONDecodeError):
            raise ResolveError(f"{path}: not valid JSON (line {cause.lineno}, column {cause.colno}: "
                               f"{cause.msg})") from exc
        raise ResolveError(first_line(exc)) from exc


def checked_point(point: Any, space: Space, path: Path, field: str) -> Any:
    """``point`` as the space validates it; else the space's complaint, which names the field."""
    check = getattr(space, "check", None)
    if check is not None:  # a space that spells its points one way returns that spelling
        try:
            return check(point)
        except SpaceError as exc:
            raise ResolveError(f"{path}: {field + ': ' if field else ''}{first_line(exc)}") from exc
    if not space.contains(point):
        raise ResolveError(f"{path}: {field + ': ' if field else ''}{point_complaint(space, point)}")
    return point


def point_complaint(space: Space, point: Any) -> str:
    """Why ``point`` is not a point of ``space``, in the space's words (its network says)."""
    try:
        space.network(point)
    except (SpaceError, GenotypeError) as exc:
        return first_line(exc)
    return "not a point of this space"
