"""The NAS-Bench-201 table as an evaluator: a lookup instead of a training run.

Dong & Yang, "NAS-Bench-201: Extending the Scope of Reproducible Neural Architecture
Search", ICLR 2020, https://arxiv.org/abs/2001.00326.

A search sees the 12-epoch validation accuracy and is charged the estimated 12-epoch
training time; the 200-epoch test accuracy is reported for the cell it picks, never used
to select (the paper's protocol). The table itself (where it lives, how a cell or a data
set is named) is ``nasbench.tables.nasbench201``. Each result carries the cell's
parameters and multiply-adds on that data set's network, so a multi-objective search can
trade accuracy against size; with ``evaluator.device`` (one of HW-NAS-Bench's six devices,
or a list), its latency and energy there (``nasbench.tables.hardware``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence

from nasbench.core.errors import ConfigError
from nasbench.core.candidate import Candidate
from nasbench.core.result import EvalResult
from nasbench.evaluators.base import EvaluatorContext
from nasbench.tables.hardware import HardwareTable, device_metrics
from nasbench.tables.nasbench201 import DATASET_INPUTS, DATASETS, NasBench201Table, canonical_dataset
from search_spaces.spaces.nasbench201 import NasBench201Space

SEARCH_EPOCHS = 12


@dataclass
class TableEvaluatorConfig:
    """``evaluator=nasbench201``: which data set's columns, and where the table is
    (``null``: the copy inside the package)."""

    name: str = "nasbench201"
    dataset: str = "cifar10"
    path: Optional[str] = None
    device: Any = None  # None, a HW-NAS-Bench device (edgegpu) or a list of them: their costs in each result


class NasBench201Evaluator(NasBench201Table):
    """Evaluates NAS-Bench-201 cells by looking them up in the table (``dataset``: the
    column family, ``cifar10``, ``cifar100``, ``imagenet16`` or NB201's names for them)."""

    Config = TableEvaluatorConfig

    @classmethod
    def from_config(cls, settings: TableEvaluatorConfig, context: EvaluatorContext) -> "NasBench201Evaluator":
        if not isinstance(context.space, NasBench201Space):
            raise ConfigError(f"evaluator=nasbench201 looks up NAS-Bench-201 cells; use +space=nasbench201, "
                             f"not {context.space.name}")
        data = (context.data or {}).get("name", "digits")
        if data != "digits" and data != canonical_dataset(settings.dataset):  # digits: the config's default
            raise ConfigError(f"evaluator=nasbench201 looks up evaluator.dataset={settings.dataset}, not data={data}; "
                             f"pick the table's column with evaluator.dataset "
                             f"({', '.join(DATASETS)})")
        devices = [] if settings.device is None else [settings.device] if isinstance(settings.device, str) \
            else list(settings.device)
        return cls(path=settings.path, dataset=settings.dataset, devices=devices)

    def __init__(self, path: str | None = None, dataset: str = "cifar10", devices: Sequence[str] = ()):
        super().__init__(path=path, dataset=dataset)
        self.metrics = device_metrics(devices)  # refuses a device HW-NAS-Bench does not have
        self.hardware = HardwareTable(self.dataset) if self.metrics else None

    def measured(self) -> tuple[str, ...]:
        """The metrics each result has, which a constraint may bound."""
        return ("val_acc", "params", "macs", "train_seconds", "cost_seconds", *self.metrics)

    def every_cell(self, metric: str) -> list[tuple[float, float]] | None:
        """``(metric, val_acc)`` of every cell the table has ``metric`` for: the true front's
        points (None: the table has no such column)."""
        if metric not in self.metrics and metric not in ("params", "macs"):
            return None
        table = self._table()
        points = []
        for index, arch in sorted(self._arches.items()):
            row = table[arch]
            value = self.hardware.costs(index, [metric])[metric] if metric in self.metrics else getattr(row, metric)
            if value is not None:
                points.append((float(value), row.valid_acc / 100.0))
        return points

    def metric_range(self, metric: str) -> tuple[float, float] | None:
        """The smallest and largest value of ``metric`` over the table's cells (None: not a column)."""
        if metric in self.metrics:
            known = self.hardware.known(metric)
        elif metric in ("params", "macs"):
            rows = self._table().values()
            known = [getattr(row, metric) for row in rows if getattr(row, metric) is not None]
        elif metric == "val_acc":
            known = [row.valid_acc / 100.0 for row in self._table().values()]
        else:
            return None
        return (min(known), max(known)) if known else None

    def __call__(self, candidate: Candidate) -> EvalResult:
        return self.evaluate(candidate.point, seed=candidate.seed)

    def network_skeleton(self) -> dict[str, Any]:
        """The network the table's numbers are of (NB201's N=5 cells per stage, C=16), which
        a run hands on (``best_network.json``, ``rebuild RUN_DIR``), not the proxy skeleton
        of the search config."""
        return {"name": "nasbench201", "cells_per_stage": 5, "filters": 16}

    def network_inputs(self) -> dict[str, int]:
        """The classes and input shape the benchmark trained its networks on."""
        classes, size = DATASET_INPUTS[self.dataset]
        return {"num_classes": classes, "input_size": size, "input_channels": 3}

    def evaluate(self, point: Any, seed: int | None = None) -> EvalResult:
        """The table's record of ``point`` (a cell string or NB201 index) as a result:
        accuracies as fractions, the network's parameters and multiply-adds.

        ``seed`` is recorded only: the table holds means over the benchmark's seeds.
        """
        row = self.row(point)
        return EvalResult(
            status="ok",
            val_acc=row.valid_acc / 100.0,
            test_acc=row.test_acc / 100.0,
            params=row.params,
            macs=row.macs,
            train_seconds=row.cost_seconds,
            cost_seconds=row.cost_seconds,
            seed=seed,
            epochs_run=SEARCH_EPOCHS,
            hardware=self.hardware.costs(self.index_of(point), self.metrics) if self.hardware else {},
            settings={"evaluator": "nasbench201", "dataset": self.dataset, "epochs": SEARCH_EPOCHS},
        )
