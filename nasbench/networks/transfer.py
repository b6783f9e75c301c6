"""A cell transferred to a full-scale network: the skeleton around it changes, the cell does not.

A cell found on a small proxy network is transferred by changing only the skeleton
around it (Zoph et al. 2018, "Learning Transferable Architectures for Scalable Image
Recognition", https://arxiv.org/abs/1707.07012, Sec. 2 and 4.2): more cells per stage
(N), more filters (F), and for ImageNet a stem that reduces the image
(``search_spaces.skeletons``). The networks are those of the cell's paper (its evaluation
setting: a published cell's own, DARTS's for a DARTS-format cell, else its space's);
``SkeletonSettings.stem`` and ``aux_position`` override theirs. The cell is resolved by
``nasbench.networks.resolve`` (``load_cell`` restricts it to cells of a cell space);
``transfer_genotype`` is the network, ``figure_checks`` its published figures checked.
``python -m nasbench.transfer`` (``nasbench.cli.transfer``) prints them.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from nasbench.core.errors import UsageError
from nasbench.networks.layer_table import FigureCheck, NetworkSummary, check_figures
from nasbench.networks.resolve import POINT_ORIGINS, Resolved, SpacesTaken, resolve
from search_spaces.published import PUBLISHED
from search_spaces.skeletons import SkeletonError, SkeletonPreset, resolve_preset, setting_of_space
from search_spaces.spaces import cell_space_names
from search_spaces.zoo.registry import Figures


@dataclass(frozen=True)
class SkeletonSettings:
    """The network around the cell. ``None`` means the default: the value of the cell's
    evaluation setting's network for ``target`` and ``preset`` (``setting``: None picks
    the cell's own, see ``evaluation_setting``; ``search_spaces.skeletons``); the classes
    of a search's cell are its run's (``_classes``)."""

    target: str = "imagenet"
    preset: str = "mobile"
    cells: int | None = None
    filters: int | None = None
    aux: bool = False
    num_classes: int | None = None
    input_size: int | None = None
    input_channels: int = 3
    stem: str | None = None
    aux_position: str | None = None
    setting: str | None = None

    def setting_for(self, cell: Resolved) -> str:
        """Whose networks ``cell`` is built in: ``setting``, else its paper's or its
        search's (``evaluation_setting``), else its space's."""
        return self.setting or evaluation_setting(cell) or setting_of_space(cell.space or "")

    def paper_network(self, cell: Resolved) -> SkeletonPreset:
        """The setting's network for ``target`` and ``preset``, as the paper built it."""
        try:
            return resolve_preset(cell.space or "", self.target, setting=self.setting_for(cell), preset=self.preset)
        except SkeletonError as exc:
            raise UsageError(_as_option(str(exc))) from None

    def resolved(self, cell: Resolved) -> "SkeletonSettings":
        """These settings with every default filled in for ``cell``."""
        network = self.paper_network(cell)
        chosen = {"cells": network.N, "filters": network.F, "num_classes": self._classes(cell, network.num_classes),
                  "input_size": network.input_size, "stem": network.stem, "aux_position": network.aux_position}
        return replace(self, setting=self.setting_for(cell),
                       **{key: value if getattr(self, key) is None else getattr(self, key)
                          for key, value in chosen.items()})

    def _classes(self, cell: Resolved, paper: int) -> int:
        """A search's cell keeps its run's classes (``best.json``'s ``inputs``: a pets run
        exports 3), except when a small-image search (under 64 px: CIFAR, digits) goes to
        ImageNet scale, which means ImageNet's data: the paper's classes."""
        inputs = dict(cell.inputs or {})
        classes, size = inputs.get("num_classes"), inputs.get("input_size")
        if classes is None or (self.target == "imagenet" and (size is None or int(size) < 64)):
            return paper
        return int(classes)

    def describe(self) -> str:
        text = f"{self.target}" + (f" ({self.preset})" if self.target == "imagenet" else "")
        return (f"{self.setting} {text}, {self.stem} stem, N={self.cells}, F={self.filters}, {self.num_classes} "
                f"classes, {self.input_size}x{self.input_size}"
                + (f", auxiliary head after the {self.aux_position} cells" if self.aux else ""))


def _as_option(message: str) -> str:
    """A skeleton error spelt with the CLI option it names (``preset: ...`` -> ``--preset: ...``)."""
    name, colon, rest = message.partition(":")
    option = {"skeleton": "target", "aux_position": "aux-position"}.get(name, name)
    known = option in ("target", "preset", "setting", "stem", "aux-position")
    return f"--{option}:{rest}" if colon and known else message


# --- the source -----------------------------------------------------------------------------

CELLS = SpacesTaken(cell_space_names(), "cell-network skeleton",
                    "python -m nasbench.rebuild SOURCE builds it in its own space's network")


def load_cell(source: str | Path, space: str | None = None) -> Resolved:
    """A published cell name, a search run directory or a point JSON file, resolved by
    ``nasbench.networks.resolve`` to a point of a cell space; ``space`` names the space of a bare
    point file (by default the first cell space the point belongs to)."""
    return resolve(source, space=space, origins=POINT_ORIGINS, spaces=CELLS)


def published_name(cell: Resolved) -> str | None:
    """The published cell's name, None for a searched one."""
    return cell.name if cell.origin == "published" else None


def evaluation_setting(cell: Resolved) -> str | None:
    """Whose networks ``cell`` is built in: its paper's (``Resolved.paper_setting``: a
    published cell's own, DARTS's for a DARTS-format cell), a search's recorded one, else
    None (its space's, ``search_spaces.skeletons.SPACE_SETTINGS``)."""
    return cell.paper_setting or (cell.skeleton or {}).get("setting")


# --- the network ----------------------------------------------------------------------------

def transfer_genotype(cell: Resolved, settings: SkeletonSettings, name: str | None = None) -> dict[str, Any]:
    """The network genotype (validated plain dict) of ``cell`` in the skeleton ``settings``
    describe (defaults filled in by ``SkeletonSettings.resolved``)."""
    settings = settings.resolved(cell)
    label = name or f"{cell.name}-{settings.target}" + (f"-{settings.preset}" if settings.target == "imagenet" else "")
    skeleton = {"name": settings.target, "cells_per_stage": settings.cells, "filters": settings.filters,
                "aux_head": settings.aux, "preset": settings.preset, "setting": settings.setting,
                "stem": settings.stem, "aux_position": settings.aux_position}
    genotype = cell.network(num_classes=settings.num_classes, input_size=settings.input_size,
                            input_channels=settings.input_channels, skeleton=skeleton)
    return {**genotype, "name": label}


def published_figures(cell: Resolved, settings: SkeletonSettings) -> tuple[list[Figures], str]:
    """The published figures of this cell in this skeleton, and why they do not apply
    ("" when they do: the paper's network, unchanged)."""
    name = published_name(cell)
    if name is None:
        return [], ""
    settings = settings.resolved(cell)
    key = "cifar" if settings.target == "cifar" else settings.preset
    figures = list(PUBLISHED[name].figures_for(key)) if settings.setting == PUBLISHED[name].setting else []
    if not figures:
        return [], ""
    network = settings.paper_network(cell)
    wanted = (network.N, network.F, network.stem, network.num_classes, network.input_size, 3)
    given = (settings.cells, settings.filters, settings.stem, settings.num_classes, settings.input_size,
             settings.input_channels)
    if given == wanted:
        return figures, ""
    return figures, (f"the figures are for the {settings.setting} {key} network: N={network.N}, F={network.F}, "
                     f"{network.stem} stem, {network.num_classes} classes, {network.input_size}x{network.input_size}")


def figure_checks(cell: Resolved, settings: SkeletonSettings, summary: NetworkSummary) -> list[FigureCheck]:
    """The published figures that apply to this transfer, checked (or skipped, with the reason)."""
    figures, skip_reason = published_figures(cell, settings)
    return check_figures(summary, figures, skip_reason)
