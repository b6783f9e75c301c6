"""The one error of the format readers and writers."""
from __future__ import annotations

from ..errors import NasError


class FormatError(NasError, ValueError):
    """Text that is not a cell in the format it claims (a DARTS ``Genotype(...)``, its
    JSON, an NB201 string), or a cell that cannot be written in a format. The message is
    one line that names what is wrong and where."""
