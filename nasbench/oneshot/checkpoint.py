"""The one-shot checkpoint: supernet, optimizers, architecture and the epochs' records.

Written once per epoch, atomically, as plain data and tensors (``torch.save``) and read
with ``torch.load(weights_only=True)``, whose unpickler builds nothing else; a file
that is not such a checkpoint is one ``StateFileError`` line before anything in it runs.
"""
from __future__ import annotations

import io
import warnings
from pathlib import Path
from typing import Any

import torch

from nasbench.core.files import atomic_write_bytes
from nasbench.run.store import StateFileError

CHECKPOINT = "oneshot_state.pt"
FORMAT = "nasbench.oneshot_state"
VERSION = 1


def save_checkpoint(path: Path, method: str, epochs_done: int, records: list[str], state: dict[str, Any]) -> None:
    """Replace ``path`` with the state after ``epochs_done`` epochs (``records``: their
    ``history.jsonl`` lines)."""
    buffer = io.BytesIO()
    torch.save({"format": FORMAT, "version": VERSION, "method": method, "epochs_done": epochs_done,
                "records": list(records), "state": state}, buffer)
    atomic_write_bytes(path, buffer.getvalue())


def load_checkpoint(path: Path, method: str) -> dict[str, Any] | None:
    """The checkpoint at ``path`` (None when there is none), for ``method``."""
    if not path.exists():
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            data = torch.load(io.BytesIO(path.read_bytes()), map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - torch raises many types for a bad file
        first_line = (str(exc).strip().splitlines() or [""])[0][:160]
        raise StateFileError(f"{path.name} unreadable ({type(exc).__name__}: {first_line})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT or data.get("version") != VERSION:
        raise StateFileError(f"{path.name} is not a nasbench one-shot checkpoint (version {VERSION})")
    if data.get("method") != method:
        raise StateFileError(f"{path.name} is a {data.get('method')!r} search, not {method!r}")
    if not isinstance(data.get("records"), list) or not isinstance(data.get("state"), dict):
        raise StateFileError(f"{path.name} lacks its records or its state")
    return data
