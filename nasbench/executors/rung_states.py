"""Where successive halving keeps a candidate's training state between rungs, so that a
promoted candidate continues its training rather than starting again from its seed.

A rung that stops a candidate saves the trainer's state (``TrainingCheckpoint.save``,
``nasbench.train.trainer``) under the candidate's trial and the epochs it reached; the
next rung loads the state of the epochs the previous rung trained. In a run directory
each state is a file, ``RUN_DIR/halving/trial-<trial>-epoch-<epochs>.pt``, written
atomically and read with ``torch.load(weights_only=True)`` (data only, as every state
file of a run), so a search killed mid-bracket and resumed still continues its promoted
candidates; without a run directory (benchmarks, the API without ``run_dir``) the states
stay in memory. The scheduler removes a trial's states once it is finished, and older
states of a trial once a later rung has its result. A missing or unreadable state is
said in one log line and the candidate is trained from its seed.
"""
from __future__ import annotations

import io
import logging
import re
import warnings
from pathlib import Path
from typing import Any, Protocol

import torch

from nasbench.core.files import atomic_write_bytes

LOG = logging.getLogger("nasbench.search")
FOLDER = "halving"
FORMAT = "nasbench.rung_state"
VERSION = 1
_NAME = re.compile(r"trial-(\d+)-epoch-(\d+)\.pt")


class RungStates(Protocol):
    """Training states by (trial, epochs reached)."""

    def load(self, trial: int, epochs: int) -> dict[str, Any] | None: ...  # None: missing or unreadable
    def save(self, trial: int, epochs: int, state: dict[str, Any]) -> None: ...
    def discard(self, trial: int, keep: int | None = None) -> None: ...  # all of trial's states but ``keep``'s
    def tidy(self, held: set[int]) -> None: ...  # remove the states of trials not ``held``


class MemoryRungStates:
    """The states of a search without a run directory."""

    def __init__(self) -> None:
        self._states: dict[tuple[int, int], dict[str, Any]] = {}

    def load(self, trial: int, epochs: int) -> dict[str, Any] | None:
        state = self._states.get((trial, epochs))
        if state is None:
            LOG.warning("trial %d: no training state after epoch %d; training it from its seed", trial, epochs)
        return state

    def save(self, trial: int, epochs: int, state: dict[str, Any]) -> None:
        self._states[(trial, epochs)] = state

    def discard(self, trial: int, keep: int | None = None) -> None:
        for key in [key for key in self._states if key[0] == trial and key[1] != keep]:
            del self._states[key]

    def tidy(self, held: set[int]) -> None:
        for key in [key for key in self._states if key[0] not in held]:
            del self._states[key]


class DiskRungStates:
    """The states of a search with a run directory, one file each under ``RUN_DIR/halving``."""

    def __init__(self, run_dir: Path) -> None:
        self.folder = Path(run_dir) / FOLDER

    def path(self, trial: int, epochs: int) -> Path:
        return self.folder / f"trial-{trial}-epoch-{epochs}.pt"

    def load(self, trial: int, epochs: int) -> dict[str, Any] | None:
        path = self.path(trial, epochs)
        try:
            payload = path.read_bytes()
            with warnings.catch_warnings():  # torch warns about a foreign pickle protocol; we say one line
                warnings.simplefilter("ignore")
                data = torch.load(io.BytesIO(payload), map_location="cpu", weights_only=True)
            if not isinstance(data, dict) or data.get("format") != FORMAT or data.get("version") != VERSION:
                raise ValueError("not a nasbench rung state of this version")
            if (data.get("trial"), data.get("epochs")) != (trial, epochs) or not isinstance(data.get("state"), dict):
                raise ValueError(f"it holds trial {data.get('trial')} after epoch {data.get('epochs')}")
        except FileNotFoundError:
            LOG.warning("trial %d: %s missing; training it from its seed", trial, path)
            return None
        except Exception as exc:  # noqa: BLE001 - torch raises many types for a bad file
            first_line = (str(exc).strip().splitlines() or [""])[0][:160]
            LOG.warning("trial %d: %s unreadable (%s: %s); training it from its seed", trial, path,
                        type(exc).__name__, first_line)
            return None
        return data["state"]

    def save(self, trial: int, epochs: int, state: dict[str, Any]) -> None:
        """Write the state atomically; a write that fails (a full disk) is said in one log
        line and costs the candidate a retraining if it is promoted, never its result."""
        buffer = io.BytesIO()
        torch.save({"format": FORMAT, "version": VERSION, "trial": trial, "epochs": epochs, "state": state}, buffer)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(self.path(trial, epochs), buffer.getvalue())
        except OSError as exc:
            LOG.warning("trial %d: cannot write %s (%s)", trial, self.path(trial, epochs), exc.strerror or exc)

    def _files(self) -> list[tuple[Path, int | None, int | None]]:
        if not self.folder.is_dir():
            return []
        files = []
        for path in self.folder.iterdir():
            if not path.is_file():
                continue
            match = _NAME.fullmatch(path.name)
            files.append((path, int(match[1]), int(match[2])) if match else (path, None, None))
        return files

    def discard(self, trial: int, keep: int | None = None) -> None:
        for path, owner, epochs in self._files():
            if owner == trial and epochs != keep:
                path.unlink(missing_ok=True)

    def tidy(self, held: set[int]) -> None:
        """Remove the states of trials not ``held`` and what a killed write left."""
        for path, owner, _ in self._files():
            if owner is None or owner not in held:
                path.unlink(missing_ok=True)


class RungCheckpoint:
    """The ``TrainingCheckpoint`` of one rung's evaluation of ``trial``: it continues the
    state after ``start`` epochs (0: from the seed) and, unless ``keep`` is False (the
    candidate's last rung), saves the state its stop leaves."""

    def __init__(self, states: RungStates, trial: int, start: int, keep: bool) -> None:
        self.states, self.trial, self.start, self.keep = states, trial, start, keep

    def load(self) -> dict[str, Any] | None:
        return self.states.load(self.trial, self.start) if self.start > 0 else None

    def save(self, state: dict[str, Any]) -> None:
        if self.keep:
            self.states.save(self.trial, int(state["epoch"]), state)


def rung_states(store: Any) -> RungStates:
    """On disk in ``store``'s run directory if it has one, else in memory."""
    run_dir = getattr(store, "run_dir", None)
    return DiskRungStates(run_dir) if isinstance(run_dir, Path) else MemoryRungStates()
