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

``resolve`` returns a ``Resolved`` (``resolved``); ``Resolved.network`` turns it into a
network genotype for given classes, input and (for cells) skeleton settings. Every
failure is one ``ResolveError`` whose one-line message names what is wrong. One module
per kind of source: ``networks`` (zoo names, genotype files), ``cells`` (published cells,
the field's formats, NB201 indices), ``points`` (run directories, JSON files). The
package may import the NAS-Bench-201 table (``nasbench.tables``: an index names a cell),
core and ``search_spaces``.
"""
from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, Collection

from nasbench.networks.resolve.cells import (cell_resolved, existing_path, from_cell_file, from_published, nb201_arch,
                                            picked_file, text_cell)
from nasbench.networks.resolve.networks import from_zoo
from nasbench.networks.resolve.points import checked_point, from_file, from_run_dir
from nasbench.networks.resolve.resolved import (NETWORK_ORIGINS, ORIGINS, POINT_ORIGINS, ResolveError, Resolved,
                                                SpacesTaken, description, space_named, wrong_origin)
from search_spaces.formats import looks_like_cell_text
from search_spaces.published import PUBLISHED
from search_spaces.zoo import Zoo, zoo

__all__ = ["NETWORK_ORIGINS", "ORIGINS", "POINT_ORIGINS", "ResolveError", "Resolved", "SpacesTaken", "resolve",
           "seed_point"]


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
    if found is None and existing_path(text) is None and registry.find(text.lower()) is not None:
        text = text.lower()  # names are case-blind (Resnet50, ResNet50), a file's is not
        found = registry.find(text)
    elif found is None and existing_path(text) is None and text.lower() in PUBLISHED:
        text = text.lower()
    if found is not None:
        resolved = from_zoo(text, found.entry, found.variant, variant)
    elif text in PUBLISHED:
        resolved = from_published(text, space, spaces)
    else:
        path, picked = existing_path(text), picked_file(text)
        if path is not None and path.is_dir():
            resolved = from_run_dir(path, space, spaces)
        elif path is not None:
            resolved = from_file(path, space, origins, spaces, registry)
        elif picked is not None:
            resolved = from_cell_file(picked[0], picked[1], space, spaces)
        elif looks_like_cell_text(text):
            cell = text_cell(text, "the cell", None, space, spaces)
            default = "darts_genotype" if cell.format == "darts" else text.strip().strip("'\"").strip()
            resolved = cell_resolved("text", cell.name or default, "", cell)
        elif text.isdigit():
            cell = text_cell(nb201_arch(text), f"NAS-Bench-201 index {text}", None, space, spaces)
            resolved = cell_resolved("text", f"nb201_{int(text)}", "", cell)
        else:
            raise _unknown(text, origins, registry)
    if variant is not None and resolved.origin != "zoo":
        raise ResolveError(f"a variant applies to zoo names; {description(resolved)}")
    if resolved.origin not in origins:
        raise wrong_origin(resolved, origins)
    return resolved


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
        return checked_point(source, space_named(space, Path("seed point")), Path("seed point"), "")
    resolved = resolve(source, space=space, origins=POINT_ORIGINS)
    if resolved.output is not None:
        raise ResolveError(f"{resolved.name}: it concatenates {dict(resolved.output)}, not the {space} space's rule; "
                           f"a point of the space cannot say so")
    return resolved.point


# --- zoo names and genotype files -------------------------------------------------------------


# --- cells ------------------------------------------------------------------------------------


# --- cells in the field's formats (search_spaces.formats) --------------------------------------


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
