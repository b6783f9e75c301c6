"""Default locations, relative to the user (never to the installed package).

Runs and training outputs go under the current working directory (``./runs``); data
sets are cached in the user's cache directory (``$NASBENCH_DATA``, else
``$XDG_CACHE_HOME/nasbench/data``, else ``~/.cache/nasbench/data``).
"""
from __future__ import annotations

import os
from pathlib import Path

DATA_ENV_VAR = "NASBENCH_DATA"


def runs_dir() -> Path:
    """``./runs`` under the current working directory."""
    return Path.cwd() / "runs"


def data_cache_dir() -> Path:
    """Where data sets are downloaded and looked for when no root is given."""
    override = os.environ.get(DATA_ENV_VAR)
    if override:
        return Path(override).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache).expanduser() / "nasbench" / "data"


def shown(path: Path) -> Path:
    """``path`` as a command prints it: relative to the working directory when it lies
    under it (``runs/2026-11-30/19-40-00``), absolute otherwise, however it was given."""
    absolute = Path(os.path.abspath(path.expanduser()))
    try:
        return absolute.relative_to(Path.cwd())
    except ValueError:
        return absolute
