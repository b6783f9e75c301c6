"""The runs a dashboard shows: found under the paths a user names, one Optuna study each.

A run directory is one that holds ``history.jsonl`` or ``config.yaml`` (a run that has only
begun has its config and no rows yet); a path that is not a run stands for every run under
it, so ``runs/`` shows them all. Each run's history is read into one in-memory Optuna
storage as one study (the history is the source of truth, read from the byte where the
last read stopped), so several runs sit side by side in one optuna-dashboard view, and a
run still being written shows its new trials on the next ``poll``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import optuna
from optuna.storages import InMemoryStorage
from optuna.trial import FrozenTrial

from nasbench.core.errors import UsageError
from nasbench.run.journal import JournalMirror, open_study, run_objectives, run_space, trial_of
from nasbench.run.lock import RunLockedError, run_lock
from nasbench.run.store import CONFIG, HISTORY, RunStore, read_history
from nasbench.view.cells import CellArtifacts
from search_spaces.spaces.base import Space


class RunsError(UsageError):
    """A path the dashboard was given is missing or holds no run."""


def is_run(path: Path) -> bool:
    return (path / HISTORY).is_file() or (path / CONFIG).is_file()


def runs_under(folder: Path) -> list[Path]:
    """Every run directory under ``folder`` (hidden folders skipped), sorted."""
    return sorted({marker.parent for name in (HISTORY, CONFIG) for marker in folder.rglob(name)
                   if not any(part.startswith(".") for part in marker.relative_to(folder).parts)})


def run_name(run_dir: Path, folder: Path | None) -> str:
    """A run's study name: its path below the folder it was found in, else ``date/time``
    (its directory's last two parts)."""
    return str(run_dir.relative_to(folder)) if folder is not None else "/".join(run_dir.parts[-2:])


def find_runs(paths: Sequence[str | Path]) -> list[tuple[Path, str]]:
    """``(run directory, study name)`` for each run the paths name, each once, in the
    order given (a folder of runs gives them sorted); ``RunsError`` names a path that is
    missing or holds no run."""
    found: dict[Path, str] = {}
    for given in paths:
        path = Path(given).expanduser().resolve()
        if not path.is_dir():
            raise RunsError(f"{given}: no such directory")
        runs = [(path, run_name(path, None))] if is_run(path) else [(run, run_name(run, path))
                                                                    for run in runs_under(path)]
        if not runs:
            raise RunsError(f"{given}: holds no run (no {HISTORY} or {CONFIG} in it or under it)")
        for run, name in runs:
            found.setdefault(run, name)
    return list(found.items())


def rebuild_mirror(run_dir: Path) -> int | str:
    """Bring an idle run's journal mirror up to its history (rebuilt if deleted or damaged):
    the trials added, or why not (another process writes the run, and keeps its mirror; the
    run directory cannot be written). The dashboard reads the history either way."""
    try:
        with run_lock(run_dir):
            store = RunStore(run_dir)
            return JournalMirror(run_dir, store.history).sync()
    except RunLockedError:
        return "being written: its search keeps the journal"
    except OSError as exc:  # another user's runs, a read-only disk: shown, not mirrored
        return f"journal not checked: {exc.strerror or exc}"


@dataclass
class RunView:
    """One run as one study of the dashboard's storage, read up to ``offset``."""

    run_dir: Path
    name: str
    study: optuna.Study
    space: Space | None
    objectives: tuple[str, ...]
    artifacts: CellArtifacts | None = None
    offset: int = 0
    trials: list[FrozenTrial] = field(default_factory=list)

    def poll(self) -> list[FrozenTrial]:
        """Add the rows written since the last poll; the new trials (as stored)."""
        records, self.offset = read_history(self.run_dir / HISTORY, self.offset)
        if not records:
            return []
        trials = [trial_of(record, self.space, self.objectives) for record in records]
        if self.artifacts is not None:
            for trial, record in zip(trials, records):
                self.artifacts.attach(trial, self.name, self.space, record.candidate.point)
        self.study.add_trials(trials)
        added = self.study.get_trials(deepcopy=False)[len(self.trials):]
        self.trials += added
        return added


class RunsView:
    """Every run named, in one in-memory storage; ``poll`` brings each up to its history
    and takes in runs begun since under the folders named (``runs/``). With
    ``artifacts``, each trial gets its cell's drawing and text (``cells``)."""

    def __init__(self, paths: Sequence[str | Path], artifacts: CellArtifacts | None = None):
        self.storage = InMemoryStorage()
        self.artifacts = artifacts
        self.runs: list[RunView] = []
        self.folders = [folder for folder in (Path(p).expanduser().resolve() for p in paths)
                        if folder.is_dir() and not is_run(folder)]
        for run_dir, name in find_runs(paths):
            self._add(run_dir, name)

    def _add(self, run_dir: Path, name: str) -> RunView:
        names = {run.name for run in self.runs}
        unique, number = name, 2
        while unique in names:  # two folders holding runs of one name
            unique, number = f"{name} ({number})", number + 1
        objectives = run_objectives(run_dir)
        study = open_study(self.storage, unique, objectives)
        view = RunView(run_dir, unique, study, run_space(run_dir), objectives, self.artifacts)
        self.runs.append(view)
        return view

    def discover(self) -> list[RunView]:
        """Runs begun under the folders since the last look; the views added."""
        known = {run.run_dir for run in self.runs}
        return [self._add(run_dir, run_name(run_dir, folder)) for folder in self.folders
                for run_dir in runs_under(folder) if run_dir not in known]

    def poll(self) -> list[tuple[RunView, FrozenTrial]]:
        """Read each run's new rows; ``(run, trial)`` for every trial added."""
        return [(run, trial) for run in self.runs for trial in run.poll()]

    def rebuild_mirrors(self) -> dict[Path, int | str]:
        """``rebuild_mirror`` for every run (see there)."""
        return {run.run_dir: rebuild_mirror(run.run_dir) for run in self.runs}
