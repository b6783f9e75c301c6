"""Errors of a training run, and the one line of an error that a command prints."""
from __future__ import annotations


class TrainError(RuntimeError):
    """Training could not go on (a non-finite loss, a failed worker)."""


def first_line(exc: BaseException) -> str:
    """The first line of ``exc``'s message, or its type's name when it has none."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
