"""Names that stand for cells: published cells, and cells in the field's formats (DARTS'
``Genotype(...)`` or its JSON, NB201 strings, NB201 indices), typed or in a file."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from nasbench.core.errors import first_line
from nasbench.networks.resolve.resolved import ResolveError, Resolved, SpacesTaken, refuse_space, space_named
from nasbench.tables.nasbench201 import TableNotFoundError, UnknownArchitectureError, arch_for_index
from search_spaces.formats import FormatError, TextCell, looks_like_cell_text, read_cell
from search_spaces.genotype import DEFAULT_LIMITS
from search_spaces.published import point as published_point
from search_spaces.published import published


def nb201_arch(index: str) -> str:
    """The NB201 string of the cell NB201 numbers ``index`` (its table is the one place
    that order exists)."""
    try:
        return arch_for_index(index)
    except (UnknownArchitectureError, TableNotFoundError) as exc:
        raise ResolveError(str(exc).strip("'\"")) from None


def from_published(text: str, space: str | None, spaces: SpacesTaken | None) -> Resolved:
    cell = published(text)
    if space is not None and space != cell.space:
        raise ResolveError(f"space {space}: {text} is a cell of the {cell.space} space")
    refuse_space(cell.space, text, spaces)
    return Resolved("published", text, space=cell.space, point=published_point(text),
                    output=cell.implementation_output)


def existing_path(text: str) -> Path | None:
    """``text`` as an existing file or directory; None otherwise (a genotype typed inline
    may be too long a name for the file system to look up)."""
    path = Path(text).expanduser()
    try:
        return path if path.exists() else None
    except (OSError, ValueError):
        return None


def picked_file(text: str) -> tuple[Path, str] | None:
    """``FILE:NAME`` (a genotype NAME in a DARTS genotypes FILE): the file and the name."""
    file, _, name = text.rpartition(":")
    if not file or not name.isidentifier():
        return None
    path = existing_path(file)
    return (path, name) if path is not None and path.is_file() else None


def cell_file_text(path: Path) -> str | None:
    """The text of a file holding a cell in a text format (DARTS ``Genotype(...)``, an NB201
    string); None for anything else, JSON included, which ``read_json_file`` reads or refuses."""
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


def from_cell_file(path: Path, pick: str | None, space: str | None, spaces: SpacesTaken | None,
                    text: str | None = None) -> Resolved:
    """The cell in a text-format file; ``pick``: the genotype's name where it holds several."""
    text = cell_file_text(path) if text is None else text
    if text is None:
        raise ResolveError(f"{path}: {pick!r} picks a genotype in a DARTS genotypes file; this file holds none")
    where = f"{path}:{pick}" if pick else str(path)
    cell = text_cell(text, where, pick, space, spaces)
    location = str(path.resolve()) + (f":{pick}" if pick else "")
    return cell_resolved("file", cell.name or path.stem, location, cell)


def text_cell(text: str, where: str, pick: str | None, space: str | None, spaces: SpacesTaken | None) -> TextCell:
    """The cell ``text`` holds, in ``space`` where one is named, among the spaces taken."""
    try:
        cell = read_cell(text, pick, cell_spaces_named(space, where))
    except FormatError as exc:
        message = first_line(exc)
        if message.endswith("pick one by name") and pick is None:
            message += f" ({where}:NAME)"
        raise ResolveError(f"{where}: {message}") from exc
    return checked_text_cell(cell, where, space, spaces)


def cell_spaces_named(space: str | None, where: Any) -> list[Any] | None:
    """The cell space a DARTS cell must go to where ``space`` names one (None: any)."""
    if space is None:
        return None
    named = space_named(space, Path(str(where)))
    return [named] if hasattr(named, "ops") and hasattr(named, "cell") else None


def checked_text_cell(cell: TextCell, where: str, space: str | None, spaces: SpacesTaken | None) -> TextCell:
    if space is not None and space != cell.space.name:
        if cell.own_space:
            raise ResolveError(f"space {space}: {where} does not fit the {space} space (its ops, node count or inputs)")
        raise ResolveError(f"space {space}: {where} holds a cell of the {cell.space.name} space")
    refuse_space(cell.space.name, where, spaces, cell.space if cell.own_space else None)
    return cell


def cell_resolved(origin: str, name: str, location: str, cell: TextCell) -> Resolved:
    output = None if cell.output is None else {kind: tuple(states) for kind, states in cell.output.items()}
    return Resolved(origin, name, location, space=cell.space.name, point=cell.point, output=output,
                    format=cell.format, own_space=cell.space if cell.own_space else None)
