"""The protocol every evaluator follows, and what the config edge hands a constructor.

An evaluator is a callable ``evaluator(candidate) -> EvalResult`` (a failure is a result,
not an exception). One that can report per epoch also takes ``progress=`` (the trainer's
callback): early-stopping executors need that. Each evaluator class carries its own
config schema (``Config``, a dataclass) and builds itself from it with
``from_config(settings, context)``. One that knows the inputs of the networks it scores
has ``network_inputs()`` (classes, input size and channels): the report then records the
network exactly as it was evaluated.
"""
from __future__ import annotations

import inspect
from pathlib import Path
from dataclasses import dataclass, field
from typing import Any, Mapping, Protocol, runtime_checkable

from nasbench.core.result import EvalResult
from nasbench.train.trainer import TrainerConfig
from nasbench.core.candidate import Candidate
from search_spaces.spaces.base import Space


@dataclass(frozen=True)
class EvaluatorContext:
    """The parts of a search an evaluator may need: the space object, the network
    skeleton settings, the ``data`` and ``trainer`` config groups (plain dicts), and where
    per-epoch training curves go (``RUN_DIR/tensorboard``; None: nowhere)."""

    space: Space
    skeleton: Mapping[str, Any] = field(default_factory=dict)
    data: Mapping[str, Any] = field(default_factory=dict)
    trainer: Mapping[str, Any] = field(default_factory=dict)
    curves: Path | None = None


def takes_keyword(evaluate: Any, name: str, *, var_keyword: bool = True) -> bool:
    """Whether ``evaluate(candidate, name=...)`` is a call it takes: ``progress`` (it
    reports each epoch), ``checkpoint`` (it continues a saved training). ``var_keyword``:
    a ``**kwargs`` counts."""
    try:
        parameters = inspect.signature(evaluate).parameters
    except (TypeError, ValueError):
        return False
    return name in parameters or (var_keyword and any(p.kind is p.VAR_KEYWORD for p in parameters.values()))


def full_run_epochs(evaluate: Any) -> int:
    """The epochs of a full run of an evaluator that trains (its ``trainer`` settings, else
    the trainer's default): what an early-stopping scheduler stops candidates within."""
    trainer = getattr(evaluate, "trainer", None) or {}
    return int(trainer.get("epochs", TrainerConfig.epochs))


@runtime_checkable
class Evaluator(Protocol):
    def __call__(self, candidate: Candidate) -> EvalResult:
        """The result of evaluating ``candidate`` (a failed result, never an exception)."""
