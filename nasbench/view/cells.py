"""Each trial's cell as optuna-dashboard artifacts: its drawing (PNG) and its text.

A run of thousands of candidates would take an hour to draw up front, so the drawings are
made when the dashboard first asks for one: ``attach`` gives a trial the metadata of its
two artifacts (Optuna's ``artifacts:<id>`` trial system attributes, which the dashboard's
artifact panel lists) before the trial is stored, and ``CellArtifacts`` (an Optuna artifact
store) draws ``cell.png`` (``nasbench.run.drawings.cells_png``: every distinct cell of the
network) or writes ``cell.txt`` (DARTS' ``Genotype(...)``, an NB201 string, else JSON) on
the first read, kept in a folder for the next.
"""
from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from optuna.artifacts.exceptions import ArtifactNotFound
from optuna.trial import FrozenTrial

from nasbench.run.drawings import cells_png, distinct_cells
from nasbench.run.journal import point_text
from search_spaces.spaces.base import Space

ARTIFACT_ATTR = "artifacts:"  # Optuna's trial system attribute prefix for an artifact's metadata
MIMETYPES = {"cell.png": "image/png", "cell.txt": "text/plain"}


@dataclass(frozen=True)
class CellArtifact:
    """What an artifact id stands for: one file about one trial's point."""

    filename: str
    space: Space | None
    point: Any
    title: str


def artifact_id(study: str, trial: int, filename: str) -> str:
    """A stable id (the same trial and file give the same id in every dashboard)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"nasbench:{study}:{trial}:{filename}"))


class CellArtifacts:
    """An Optuna artifact store (``open_reader``, ``write``, ``remove``) that makes each
    trial's cell files on their first read, into ``folder``."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._known: dict[str, CellArtifact] = {}
        self._lock = threading.Lock()
        self._making: dict[str, threading.Lock] = {}

    def attach(self, trial: FrozenTrial, study: str, space: Space | None, point: Any) -> None:
        """Give ``trial`` (not yet stored) its ``cell.png`` (if the space builds networks)
        and ``cell.txt`` artifacts."""
        number = int(trial.user_attrs.get("trial", trial.number))
        names = ("cell.png", "cell.txt") if space is not None else ("cell.txt",)
        for filename in names:
            ident = artifact_id(study, number, filename)
            with self._lock:
                self._known[ident] = CellArtifact(filename, space, point, f"{study} trial {number}")
            trial.system_attrs[ARTIFACT_ATTR + ident] = json.dumps(
                {"artifact_id": ident, "filename": filename, "mimetype": MIMETYPES[filename], "encoding": None})

    def open_reader(self, artifact_id: str) -> BinaryIO:
        path = self.folder / artifact_id
        if not path.exists():
            with self._lock:
                artifact = self._known.get(artifact_id)
                making = self._making.setdefault(artifact_id, threading.Lock())
            if artifact is None:
                raise ArtifactNotFound(f"no artifact {artifact_id}")
            with making:  # two requests for one drawing draw it once
                if not path.exists():
                    self._make(artifact, path)
        return open(path, "rb")

    def _make(self, artifact: CellArtifact, path: Path) -> None:
        partial = path.with_name(path.name + ".part")
        if artifact.filename == "cell.txt":
            partial.write_text(point_text(artifact.space, artifact.point) + "\n")
        else:
            network = artifact.space.network(artifact.point).to_dict()
            cells = [(f"{artifact.title}: {name}", cell) for name, cell in distinct_cells(network)]
            cells_png(cells, partial, format="png")
        partial.replace(path)

    def write(self, artifact_id: str, content_body: BinaryIO) -> None:
        """Keep a file the dashboard uploads."""
        (self.folder / artifact_id).write_bytes(content_body.read())

    def remove(self, artifact_id: str) -> None:
        path = self.folder / artifact_id
        if not path.exists() and artifact_id not in self._known:
            raise ArtifactNotFound(f"no artifact {artifact_id}")
        path.unlink(missing_ok=True)
        with self._lock:
            self._known.pop(artifact_id, None)

