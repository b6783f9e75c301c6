"""The run directory: everything a search produces, written as it is produced.

``history.jsonl`` gets one line per finished candidate, flushed and synced before the
strategy learns of it; the strategy's state is replaced atomically after every result,
so a search killed at any moment resumes without losing or repeating a candidate.
"""
from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Protocol

import torch

from nasbench.result import EvalResult
from nasbench.strategies.base import Candidate

HISTORY = "history.jsonl"
STATE = "strategy_state.pt"
BEST = "best.json"
CONFIG = "config.yaml"


class RunStoreError(RuntimeError):
    """A run directory is missing, unreadable, or belongs to a different search."""


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


def atomic_write_bytes(path: Path, payload: bytes) -> None:
    """Write a file so that a reader sees the old or the new content, never a part."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(payload)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode())


class Store(Protocol):
    """Where a search keeps its history, strategy state and best candidate."""

    keeps_state: bool

    def append(self, record: HistoryRecord) -> None: ...
    def history(self) -> list[HistoryRecord]: ...
    def repair_history(self) -> None: ...
    def save_state(self, state: dict[str, Any]) -> None: ...
    def load_state(self) -> dict[str, Any] | None: ...
    def write_json(self, name: str, data: Any) -> None: ...


class MemoryStore:
    """A store that keeps the history in memory and no state (nothing resumes from it):
    the search loop's store for benchmarks and tests."""

    keeps_state = False

    def __init__(self) -> None:
        self._history: list[HistoryRecord] = []
        self.files: dict[str, Any] = {}

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


class RunStore:
    """Reads and writes one run directory."""

    keeps_state = True

    def __init__(self, run_dir: str | Path):
        self.run_dir = Path(run_dir).resolve()
        self.run_dir.mkdir(parents=True, exist_ok=True)

    @property
    def history_path(self) -> Path:
        return self.run_dir / HISTORY

    def append(self, record: HistoryRecord) -> None:
        """Append one finished candidate and make sure it is on disk."""
        with open(self.history_path, "a", encoding="utf-8") as stream:
            stream.write(record.to_json() + "\n")
            stream.flush()
            os.fsync(stream.fileno())

    def history(self) -> list[HistoryRecord]:
        """Every complete line of the history; a torn last line (a kill mid-write) is dropped."""
        return list(self._read_history())

    def _read_history(self) -> Iterator[HistoryRecord]:
        if not self.history_path.exists():
            return
        with open(self.history_path, encoding="utf-8") as stream:
            for line in stream:
                if not line.endswith("\n"):
                    break
                yield HistoryRecord.from_json(line)

    def repair_history(self) -> None:
        """Cut a torn last line so that appends start on a fresh line."""
        if not self.history_path.exists():
            return
        data = self.history_path.read_bytes()
        if data and not data.endswith(b"\n"):
            atomic_write_bytes(self.history_path, data[: data.rfind(b"\n") + 1])

    def save_state(self, state: dict[str, Any]) -> None:
        import io

        buffer = io.BytesIO()
        torch.save(state, buffer)
        atomic_write_bytes(self.run_dir / STATE, buffer.getvalue())

    def load_state(self) -> dict[str, Any] | None:
        path = self.run_dir / STATE
        if not path.exists():
            return None
        return torch.load(path, weights_only=False)

    def write_json(self, name: str, data: Any) -> None:
        atomic_write_text(self.run_dir / name, json.dumps(data, indent=2, default=str) + "\n")

    def read_json(self, name: str) -> Any:
        path = self.run_dir / name
        if not path.exists():
            raise RunStoreError(f"{path}: not found")
        return json.loads(path.read_text())

    def write_text(self, name: str, text: str) -> None:
        atomic_write_text(self.run_dir / name, text)
