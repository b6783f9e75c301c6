"""The root of every error nasbench raises for what a user asked (Optuna's ``OptunaError`` is
the model): one class that a command catches to print one line, with a subclass per cause
in the module that raises it. It lives at the bottom of the layers, so that the genotype
language's errors (``GenotypeError``, ``SpaceError``, ...) share it with nasbench's."""
from __future__ import annotations


class NasError(Exception):
    """A request that cannot be carried out, with a one-line message for the user: a name
    that stands for nothing, a malformed file or setting, a run that cannot continue."""
