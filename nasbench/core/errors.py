"""Errors shared by the command-line entry points.

A ``UsageError`` is a mistake in what the user asked for (an unknown network, a malformed
file, a weights file that does not fit): an entry point prints its one-line message and
exits with status 2, never a traceback.
"""
from __future__ import annotations

import os
import sys

from search_spaces.errors import NasError


class UsageError(NasError):
    """A request that cannot be carried out; the message is one line meant for the user."""


class ConfigError(UsageError, ValueError):
    """A search config (or the API's arguments) names something that does not exist or
    has a bad value: an unknown space, strategy or key, a budget of 0, an evaluator that
    cannot score the space."""


class RunDirectoryError(UsageError):
    """A run directory cannot be written (disk full, read-only, vanished, no permission);
    what was finished is on disk and ``resume=`` continues."""


def run_directory_error(exc: OSError, run_dir: object) -> RunDirectoryError:
    """One line naming the path, the cause and how to continue (a file where the run
    directory should be holds no run to continue)."""
    if os.path.exists(str(run_dir)) and not os.path.isdir(str(run_dir)):
        return RunDirectoryError(f"run directory {run_dir} is a file; give a directory (new or a run's)")
    where = exc.filename or run_dir
    cause = exc.strerror or str(exc)
    return RunDirectoryError(f"cannot write {where}: {cause}; every finished candidate is in {run_dir}/history.jsonl; "
                             f"continue with: python -m nasbench.search resume={run_dir}")


class ExportError(UsageError):
    """A network cannot be written in the requested format."""


class WeightsError(UsageError):
    """A weights file cannot be read, or its tensors do not fit the network."""


def first_line(exc: BaseException) -> str:
    """The first line of ``exc``'s message, or its type's name when it has none: what a
    command prints of an error."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def one_line(exc: BaseException) -> str:
    """``exc``'s type and its whole message folded onto one line (a failure's record)."""
    return f"{type(exc).__name__}: {' '.join(str(exc).split())}"


def stdout_closed() -> int:
    """What a command returns when its reader went away (``rebuild --list | head``):
    nothing more is written, and no traceback; exit status 0."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())  # Python's own flush at exit must not fail again
    return 0
