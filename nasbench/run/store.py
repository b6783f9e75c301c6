"""The run directory: everything a search produces, written as it is produced.

``history.jsonl`` gets one line per finished candidate, flushed and synced before the
strategy learns of it; the strategy's state is replaced atomically after every result,
so a search killed at any moment resumes without losing or repeating a candidate.

``strategy_state.pt`` holds data, never code: plain containers, numbers, strings and
tensors, written with ``torch.save`` and read with ``torch.load(weights_only=True)``,
whose unpickler builds nothing else. A file that is not such a state (truncated, foreign,
a crafted pickle) is refused with a ``StateFileError`` before anything in it runs.
"""
from __future__ import annotations

import io
import json
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import torch

from nasbench.core.candidate import Candidate
from nasbench.core.files import atomic_write_bytes, atomic_write_text
from nasbench.core.result import EvalResult
from search_spaces.errors import NasError

HISTORY = "history.jsonl"
STATE = "strategy_state.pt"
BEST = "best.json"
CONFIG = "config.yaml"
STATE_FORMAT = "nasbench.strategy_state"
STATE_VERSION = 1
PLAIN_SCALARS = (str, int, float, bool, type(None))


class RunStoreError(NasError, RuntimeError):
    """A run directory is missing, unreadable, or belongs to a different search."""


class StateFileError(RunStoreError):
    """``strategy_state.pt`` is damaged or not a state this package wrote."""


@dataclass(frozen=True)
class HistoryRecord:
    """One finished candidate as stored in ``history.jsonl``."""

    candidate: Candidate
    result: EvalResult
    started: float
    finished: float

    def to_json(self) -> str:
        return json.dumps({
            "trial": self.candidate.trial, "key": self.candidate.key, "seed": self.candidate.seed,
            "point": self.candidate.point, "status": self.result.status, "started": self.started,
            "finished": self.finished, "result": self.result.to_dict(),
        })

    @classmethod
    def from_json(cls, line: str) -> "HistoryRecord":
        data = json.loads(line)
        candidate = Candidate(trial=data["trial"], point=data["point"], key=data["key"], seed=data["seed"])
        return cls(candidate, EvalResult.from_dict(data["result"]), data["started"], data["finished"])


def _check_plain(value: Any, where: str) -> None:
    """Refuse anything ``torch.load(weights_only=True)`` would not read back."""
    if isinstance(value, PLAIN_SCALARS) or isinstance(value, torch.Tensor):
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, (str, int)):
                raise TypeError(f"strategy state: key {key!r} at {where} is not a str or int")
            _check_plain(item, f"{where}.{key}")
        return
    if isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            _check_plain(item, f"{where}[{index}]")
        return
    raise TypeError(f"strategy state: {where} is a {type(value).__name__}, not plain data")


def candidate_to_dict(candidate: Candidate) -> dict[str, Any]:
    return {"trial": candidate.trial, "point": candidate.point, "key": candidate.key, "seed": candidate.seed}


def candidate_from_dict(data: dict[str, Any]) -> Candidate:
    return Candidate(trial=int(data["trial"]), point=data["point"], key=str(data["key"]), seed=int(data["seed"]))


def state_bytes(state: dict[str, Any]) -> bytes:
    """A search snapshot (``SearchRecorder.snapshot``) as the bytes of ``strategy_state.pt``:
    its pending ``Candidate`` objects become dicts, and anything but plain data is a TypeError."""
    plain = dict(state)
    if plain.get("pending") is not None:
        plain["pending"] = {int(trial): candidate_to_dict(c) for trial, c in plain["pending"].items()}
    _check_plain(plain, "state")
    buffer = io.BytesIO()
    torch.save({"format": STATE_FORMAT, "version": STATE_VERSION, "state": plain}, buffer)
    return buffer.getvalue()


def state_from_bytes(payload: bytes, name: str = STATE) -> dict[str, Any]:
    """The snapshot in ``payload``; a ``StateFileError`` (one line) for anything else."""
    if not payload:
        raise StateFileError(f"{name} is empty")
    try:
        with warnings.catch_warnings():  # torch warns about a foreign pickle protocol; we say one line
            warnings.simplefilter("ignore")
            data = torch.load(io.BytesIO(payload), map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - torch raises many types for a bad file
        first_line = (str(exc).strip().splitlines() or [""])[0][:160]
        raise StateFileError(f"{name} unreadable ({type(exc).__name__}: {first_line})") from None
    if not isinstance(data, dict) or data.get("format") != STATE_FORMAT:
        raise StateFileError(f"{name} is not a nasbench strategy state")
    if data.get("version") != STATE_VERSION:
        raise StateFileError(f"{name} has state version {data.get('version')!r}, this nasbench reads {STATE_VERSION}")
    state = data.get("state")
    if not isinstance(state, dict) or not isinstance(state.get("strategy"), dict) or "told" not in state:
        raise StateFileError(f"{name} lacks the strategy state or its count of results told")
    try:
        if state.get("pending") is not None:
            state["pending"] = {int(trial): candidate_from_dict(c) for trial, c in state["pending"].items()}
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise StateFileError(f"{name} has a malformed pending candidate ({exc})") from None
    return state


class Store(Protocol):
    """Where a search keeps its history, strategy state and best candidate; ``about``:
    what its points are evaluated in (space, skeleton, inputs), recorded with the best
    (``nasbench.run.best``)."""

    keeps_state: bool
    about: dict[str, Any]

    def append(self, record: HistoryRecord) -> None: ...
    def history(self) -> list[HistoryRecord]: ...
    def repair_history(self) -> None: ...
    def save_state(self, state: dict[str, Any]) -> None: ...
    def load_state(self) -> dict[str, Any] | None: ...  # StateFileError if damaged
    def write_json(self, name: str, data: Any) -> None: ...


class MemoryStore:
    """A store that keeps the history in memory and no state (nothing resumes from it):
    the search loop's store for benchmarks and tests."""

    keeps_state = False

    def __init__(self) -> None:
        self._history: list[HistoryRecord] = []
        self.files: dict[str, Any] = {}
        self.about: dict[str, Any] = {}

    def append(self, record: HistoryRecord) -> None:
        self._history.append(record)

    def history(self) -> list[HistoryRecord]:
        return list(self._history)

    def repair_history(self) -> None:
        """Nothing can be torn in memory."""

    def save_state(self, state: dict[str, Any]) -> None:
        """Not kept: a memory store is never resumed."""

    def load_state(self) -> dict[str, Any] | None:
        return None

    def write_json(self, name: str, data: Any) -> None:
        self.files[name] = data


def read_history(path: Path, offset: int = 0) -> tuple[list[HistoryRecord], int]:
    """The complete lines of a history file from byte ``offset`` on, and the offset after
    the last of them (a torn last line, a kill mid-write or a row still being written, is
    left for the next read)."""
    if not path.exists():
        return [], offset
    with open(path, "rb") as stream:
        stream.seek(offset)
        data = stream.read()
    complete = data[: data.rfind(b"\n") + 1]
    records = [HistoryRecord.from_json(line) for line in complete.decode("utf-8").splitlines() if line.strip()]
    return records, offset + len(complete)


class Mirror(Protocol):
    """Something kept equal to the history, told each row once it is on disk
    (``nasbench.run.journal.JournalMirror``); it must never raise."""

    def add(self, record: HistoryRecord) -> None: ...


class RunStore:
    """Reads and writes one run directory; ``mirror`` (if any) is told each appended row."""

    keeps_state = True

    def __init__(self, run_dir: str | Path, mirror: Mirror | None = None):
        self.run_dir = Path(run_dir).resolve()
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.about: dict[str, Any] = {}
        self.mirror = mirror

    @property
    def history_path(self) -> Path:
        return self.run_dir / HISTORY

    def append(self, record: HistoryRecord) -> None:
        """Append one finished candidate and make sure it is on disk; then tell the mirror."""
        with open(self.history_path, "a", encoding="utf-8") as stream:
            stream.write(record.to_json() + "\n")
            stream.flush()
            os.fsync(stream.fileno())
        if self.mirror is not None:
            self.mirror.add(record)

    def history(self) -> list[HistoryRecord]:
        """Every complete line of the history; a torn last line (a kill mid-write) is dropped."""
        return read_history(self.history_path)[0]

    def repair_history(self) -> None:
        """Cut a torn last line so that appends start on a fresh line."""
        if not self.history_path.exists():
            return
        data = self.history_path.read_bytes()
        if data and not data.endswith(b"\n"):
            atomic_write_bytes(self.history_path, data[: data.rfind(b"\n") + 1])

    def save_state(self, state: dict[str, Any]) -> None:
        atomic_write_bytes(self.run_dir / STATE, state_bytes(state))

    def load_state(self) -> dict[str, Any] | None:
        """The saved snapshot, None if there is none; a ``StateFileError`` if the file is
        damaged or not ours (read as data only: nothing in it is executed)."""
        path = self.run_dir / STATE
        if not path.exists():
            return None
        try:
            payload = path.read_bytes()
        except OSError as exc:
            raise StateFileError(f"{STATE} unreadable ({exc.strerror})") from None
        return state_from_bytes(payload)

    def write_json(self, name: str, data: Any) -> None:
        atomic_write_text(self.run_dir / name, json.dumps(data, indent=2, default=str) + "\n")

    def read_json(self, name: str) -> Any:
        path = self.run_dir / name
        if not path.exists():
            raise RunStoreError(f"{path}: not found")
        return json.loads(path.read_text())

    def write_text(self, name: str, text: str) -> None:
        atomic_write_text(self.run_dir / name, text)
