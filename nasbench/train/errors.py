"""Errors of a training run."""
from __future__ import annotations

from search_spaces.errors import NasError


class TrainError(NasError, RuntimeError):
    """Training could not go on (a non-finite loss, a failed worker)."""
