"""Errors shared by the command-line entry points.

A ``UsageError`` is a mistake in what the user asked for (an unknown network, a malformed
file, a weights file that does not fit): an entry point prints its one-line message and
exits with status 2, never a traceback.
"""
from __future__ import annotations


class UsageError(Exception):
    """A request that cannot be carried out; the message is one line meant for the user."""


class ExportError(UsageError):
    """A network cannot be written in the requested format."""


class WeightsError(UsageError):
    """A weights file cannot be read, or its tensors do not fit the network."""
