"""The files of a ``nasbench.train`` output directory, the RNG states a checkpoint holds,
and the per-epoch metrics file.

``train.json`` (the job: source, genotype, data, settings), ``metrics.jsonl`` (one line
per epoch, written as it is produced), ``checkpoint.pt`` (replaced atomically after every
epoch: model, EMA, optimizer, epoch, global step, RNG states, the job), ``final.json``
(status and final accuracies) and, once finished, ``model.pt`` (``{"model": state_dict,
"ema": state_dict, "genotype": ...}``, which ``nasbench.networks.weights`` and ``nasbench.finetune``
read).
"""
from __future__ import annotations

import io
import json
import os
import random
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import torch

from nasbench.core.errors import UsageError
from nasbench.core.files import atomic_write_bytes, atomic_write_text
from nasbench.core.errors import first_line

JOB = "train.json"
CHECKPOINT = "checkpoint.pt"
METRICS = "metrics.jsonl"
FINAL = "final.json"
WEIGHTS = "model.pt"
CHECKPOINT_FORMAT = "nasbench.train/1"


# --- seeds and RNG states -----------------------------------------------------------------------

def derived_seed(*parts: int) -> int:
    """A 63-bit seed mixed from integers (numpy's SeedSequence), e.g. (seed, epoch, rank)."""
    return int(np.random.SeedSequence([int(p) for p in parts]).generate_state(2, dtype=np.uint64)[0] >> 1)


def rng_states() -> dict[str, Any]:
    """The global generators' states (torch CPU and CUDA, Python, numpy) as plain data."""
    name, keys, position, has_gauss, gauss = np.random.get_state()
    return {"torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
            "python": random.getstate(),
            "numpy": [name, torch.from_numpy(np.asarray(keys, dtype=np.int64)), int(position), int(has_gauss),
                      float(gauss)]}


def restore_rng_states(states: Mapping[str, Any]) -> None:
    torch.set_rng_state(states["torch"])
    if states.get("cuda") and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])
    version, internal, gauss = states["python"]
    random.setstate((version, tuple(internal), gauss))
    name, keys, position, has_gauss, cached = states["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), position, has_gauss, cached))


# --- checkpoints ----------------------------------------------------------------------------

def save_checkpoint(path: Path, state: Mapping[str, Any]) -> None:
    buffer = io.BytesIO()
    torch.save(dict(state), buffer)
    atomic_write_bytes(path, buffer.getvalue())


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """A checkpoint of ``nasbench.train`` (the file, or the output directory holding it)."""
    path = Path(path).expanduser()
    if path.is_dir():
        path = path / CHECKPOINT
    if not path.is_file():
        raise UsageError(f"no checkpoint at {str(path)!r}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a torn or foreign file: one line, not a traceback
        raise UsageError(f"{path}: not a nasbench.train checkpoint ({first_line(exc)})") from exc
    if not isinstance(state, Mapping) or state.get("format") != CHECKPOINT_FORMAT:
        raise UsageError(f"{path}: not a nasbench.train checkpoint")
    return dict(state)


def has_checkpoint(output_dir: str | Path) -> bool:
    return (Path(output_dir) / CHECKPOINT).is_file()


# --- metrics.jsonl --------------------------------------------------------------------------

def append_metrics(path: Path, record: Mapping[str, Any]) -> None:
    """Append one epoch's line and flush it to disk."""
    with open(path, "a", encoding="utf-8") as stream:
        stream.write(json.dumps(record) + "\n")
        stream.flush()
        os.fsync(stream.fileno())


def read_metrics(path: str | Path) -> list[dict[str, Any]]:
    """The complete lines of a ``metrics.jsonl`` (a torn last line is left out)."""
    path = Path(path)
    if path.is_dir():
        path = path / METRICS
    if not path.exists():
        return []
    lines = path.read_text().split("\n")
    return [json.loads(line) for line in lines[:-1] if line]


def trim_metrics(path: Path, epochs_done: int) -> None:
    """Keep the lines of the epochs the checkpoint holds: a run killed after writing an
    epoch's line but before its checkpoint repeats that epoch, and writes it again."""
    if not path.exists():
        return
    kept = [record for record in read_metrics(path) if record["epoch"] <= epochs_done]
    atomic_write_text(path, "".join(json.dumps(record) + "\n" for record in kept))


def last_metrics(path: Path) -> dict[str, Any]:
    records = read_metrics(path)
    return records[-1] if records else {}
