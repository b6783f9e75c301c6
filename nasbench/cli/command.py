"""What every command does with an error: one line and exit status 2, never a traceback.

Every error nasbench raises for what a user asked derives from one root
(``search_spaces.errors.NasError``: an unknown name, a malformed file or setting, a run
that cannot continue); a command's body runs under ``run_command``, the one place that
turns such an error into ``PROG: message`` on stderr. Anything else is a bug and keeps
its traceback.
"""
from __future__ import annotations

import sys
from typing import Callable

from nasbench.core.errors import first_line, stdout_closed
from search_spaces.errors import NasError


def run_command(prog: str, body: Callable[[], int]) -> int:
    """``body()``'s exit status; a ``NasError`` is its first line on stderr and status 2, a
    reader that went away (``rebuild --list | head``) is status 0 and no traceback."""
    try:
        return body()
    except BrokenPipeError:
        return stdout_closed()
    except NasError as exc:
        print(f"{prog}: {first_line(exc)}", file=sys.stderr)
        return 2
