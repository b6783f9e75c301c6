"""Errors of a training run."""
from __future__ import annotations


class TrainError(RuntimeError):
    """Training could not go on (a non-finite loss, a failed worker)."""
