"""The best candidate of a run, and ``best.json``: one shape, one writer.

``best.json`` holds the point, its key, trial, seed and result, and what the run's
points are evaluated in (``Store.about``: the space, the skeleton settings, the data's
``inputs``, a one-shot search's ``method``), so that ``rebuild RUN_DIR`` builds the
network the search scored. The search loop writes it as the best improves, the report
when the run ends (with the ``inputs`` the evaluator fed the networks), a one-shot
search after every epoch.
"""
from __future__ import annotations

import math
from typing import Any, Sequence

from nasbench.core.constraints import is_infeasible
from nasbench.core.result import EvalResult
from nasbench.run.store import BEST, HistoryRecord, Store


def counts_as_best(result: EvalResult) -> bool:
    """Whether ``result`` may be a run's pick: finished, with a validation accuracy, and
    breaking none of the search's constraints (``nasbench.core.constraints``)."""
    return result.ok and result.val_acc is not None and math.isfinite(result.val_acc) and not is_infeasible(result)


def best_record(history: Sequence[HistoryRecord]) -> HistoryRecord | None:
    """The feasible finished candidate with the highest validation accuracy (first on ties)."""
    finished = [r for r in history if counts_as_best(r.result)]
    return max(finished, key=lambda r: r.result.val_acc) if finished else None


def best_json(record: HistoryRecord, about: dict[str, Any]) -> dict[str, Any]:
    """What ``best.json`` holds for ``record`` in a run described by ``about``."""
    return {"trial": record.candidate.trial, "key": record.candidate.key, "point": record.candidate.point,
            "seed": record.candidate.seed, "result": record.result.to_dict(), **about}


def write_best(store: Store, record: HistoryRecord) -> None:
    """Write ``best.json`` for ``record`` (the store's ``about`` says what it was evaluated in)."""
    store.write_json(BEST, best_json(record, dict(store.about)))
