"""One writer per run directory: an exclusive ``fcntl`` lock on ``RUN_DIR/.lock``.

The operating system releases the lock when the process that holds it ends, however it
ends (a SIGKILL included), so a lock left by a killed search never blocks its resume;
a second live process on the same directory is refused with one line naming the first.
"""
from __future__ import annotations

import fcntl
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from nasbench.core.errors import UsageError

LOCK = ".lock"


class RunLockedError(UsageError):
    """Another live process is writing this run directory."""


@contextmanager
def run_lock(run_dir: str | Path) -> Iterator[None]:
    """Hold the run directory's lock for the ``with`` block (``RunLockedError`` if taken)."""
    path = Path(run_dir) / LOCK
    handle = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(handle, 32, 0).decode(errors="replace").strip() or "unknown"
            raise RunLockedError(f"{Path(run_dir)}: another search (pid {holder}) is writing this run directory; "
                                 f"wait for it to end or stop it") from None
        os.ftruncate(handle, 0)
        os.pwrite(handle, f"{os.getpid()}\n".encode(), 0)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
    finally:
        os.close(handle)
