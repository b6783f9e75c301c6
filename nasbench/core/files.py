"""Files written whole or not at all: a reader sees the old content or the new, never a part.

Every file of a run directory that is replaced (the strategy state, ``best.json``,
``summary.md``, checkpoints) is written this way, so a search or a training killed at any
moment leaves files that read.
"""
from __future__ import annotations

import gzip
import os
import uuid
from pathlib import Path


def atomic_write_bytes(path: Path, payload: bytes) -> None:
    """Write a file so that a reader sees the old or the new content, never a part. It is
    created as any file is (mode 0666 less the umask; ``mkstemp``'s 0600 would hide a
    run's results from the other users of shared storage)."""
    temporary = str(path.parent / f".{path.name}.{uuid.uuid4().hex}")
    handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
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


def write_reproducible_gzip(path: Path, text: str) -> None:
    """``text`` gzip-compressed at ``path``, the same bytes for the same text (no timestamp
    or file name in the header): how the tables inside the package are written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=9, mtime=0,
                                                filename="") as stream:
        stream.write(text.encode("utf-8"))
