"""NAS-Bench-201 arch strings as text: read and print.

Dong & Yang 2020, "NAS-Bench-201", https://arxiv.org/abs/2001.00326: a cell is written
``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|``, node ``j``'s incoming edges between bars, the
nodes joined by ``+``. The string is the ``nasbench201`` space's point itself
(``search_spaces.spaces.nasbench201``); this module reads it from text a user typed or a
file held (surrounding whitespace and quotes dropped) and prints a point back.
"""
from __future__ import annotations

from typing import Any

from ..spaces.base import SpaceError
from ..spaces.nasbench201 import NasBench201Space, parse_arch
from .errors import FormatError

MAX_CHARS = 1000  # the longest NB201 string is under 120 characters


def looks_like_nb201(text: str) -> bool:
    """Whether ``text`` is meant as an NB201 string (bars around ``op~i`` groups)."""
    stripped = _unquoted(text)
    return len(stripped) <= MAX_CHARS and stripped.startswith("|") and stripped.endswith("|") and "~" in stripped


def parse_nb201(text: str) -> str:
    """The ``nasbench201`` point ``text`` spells; ``FormatError`` says what is wrong."""
    stripped = _unquoted(text)
    if len(stripped) > MAX_CHARS:
        raise FormatError(f"NB201 string: {len(stripped):,} characters; an NB201 cell has fewer than {MAX_CHARS}")
    try:
        parse_arch(stripped)
    except SpaceError as exc:
        raise FormatError(str(exc).replace("NAS-Bench-201 point", "NB201 string")) from None
    return stripped


def nb201_string(point: Any) -> str:
    """The NB201 string of a ``nasbench201`` point (checked)."""
    if not NasBench201Space().contains(point):
        raise FormatError(f"{point!r:.80} is not a NAS-Bench-201 cell")
    return str(point)


def _unquoted(text: str) -> str:
    stripped = text.strip()
    if len(stripped) >= 2 and stripped[0] == stripped[-1] and stripped[0] in "'\"":
        stripped = stripped[1:-1].strip()
    return stripped
