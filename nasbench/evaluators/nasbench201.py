"""The NAS-Bench-201 table as an evaluator: a lookup instead of a training run.

Dong & Yang, "NAS-Bench-201: Extending the Scope of Reproducible Neural Architecture
Search", ICLR 2020, https://arxiv.org/abs/2001.00326.

A search sees the 12-epoch validation accuracy and is charged the estimated 12-epoch
training time; the 200-epoch test accuracy is reported for the cell it picks, never used
to select (the paper's protocol). The table ships inside the package
(``data/nb201.csv.gz``, written by ``scripts/build_nb201_table.py``; its README names
the sources); ``path=`` or ``$NASBENCH201_CSV`` read another copy (plain or gzipped CSV).
"""
from __future__ import annotations

import csv
import gzip
import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from nasbench.evaluators.base import EvaluatorContext
from nasbench.result import EvalResult
from nasbench.strategies.base import Candidate
from search_spaces.spaces.base import SpaceError
from search_spaces.spaces.nasbench201 import NasBench201Space

DATASETS: tuple[str, ...] = ("cifar10", "cifar100", "imagenet16")
# (classes, input side) of each data set's networks: CIFAR at 32x32, ImageNet16-120 at 16x16.
DATASET_INPUTS: dict[str, tuple[int, int]] = {"cifar10": (10, 32), "cifar100": (100, 32), "imagenet16": (120, 16)}
PATH_ENV_VAR = "NASBENCH201_CSV"
COST_COLUMN = "train_seconds_12ep_estimate"
SEARCH_EPOCHS = 12


class TableNotFoundError(FileNotFoundError):
    """The NAS-Bench-201 csv is not where the evaluator looked."""


class TableFormatError(ValueError):
    """The NAS-Bench-201 csv lacks a column the evaluator needs."""


class UnknownArchitectureError(LookupError):
    """A point is not a NAS-Bench-201 cell, or not a row of the table."""


PACKAGED_TABLE = Path(__file__).resolve().parent / "data" / "nb201.csv.gz"


@dataclass
class TableEvaluatorConfig:
    """``evaluator=nasbench201``: which data set's columns, and where the table is
    (``null``: the copy inside the package)."""

    name: str = "nasbench201"
    dataset: str = "cifar10"
    path: Optional[str] = None


def default_table_path() -> Path:
    """``$NASBENCH201_CSV``, else the table inside the package."""
    override = os.environ.get(PATH_ENV_VAR)
    return Path(override).expanduser() if override else PACKAGED_TABLE


def _open_table(path: Path) -> io.TextIOBase:
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="")
    return path.open(encoding="utf-8", newline="")


class NasBench201Table:
    """Evaluates NAS-Bench-201 cells by looking them up in ``nb201.csv``.

    ``dataset`` picks the column family (``cifar10``, ``cifar100``, ``imagenet16``). The
    file is read once, on first use, and cached in the instance.
    """

    Config = TableEvaluatorConfig

    def __init__(self, path: str | Path | None = None, dataset: str = "cifar10") -> None:
        if dataset not in DATASETS:
            raise ValueError(f"dataset: {dataset!r} is not one of {', '.join(DATASETS)}")
        self.path = Path(path).expanduser() if path is not None else default_table_path()
        self.dataset = dataset
        self._space = NasBench201Space()
        # arch -> (valid_acc_12ep, test_acc_200ep, cost_seconds), accuracies in percent.
        self._rows: dict[str, tuple[float, float, float]] | None = None

    @classmethod
    def from_config(cls, settings: TableEvaluatorConfig, context: EvaluatorContext) -> "NasBench201Table":
        if not isinstance(context.space, NasBench201Space):
            raise ValueError(f"evaluator=nasbench201 looks up NAS-Bench-201 cells; use +space=nasbench201, "
                             f"not {context.space.name}")
        return cls(path=settings.path, dataset=settings.dataset)

    def __call__(self, candidate: Candidate) -> EvalResult:
        return self.evaluate(candidate.point, seed=candidate.seed)

    def network_inputs(self) -> dict[str, int]:
        """The classes and input shape the benchmark trained its networks on."""
        classes, size = DATASET_INPUTS[self.dataset]
        return {"num_classes": classes, "input_size": size, "input_channels": 3}

    def _table(self) -> dict[str, tuple[float, float, float]]:
        if self._rows is None:
            self._rows = self._load()
        return self._rows

    def _load(self) -> dict[str, tuple[float, float, float]]:
        if not self.path.is_file():
            raise TableNotFoundError(
                f"NAS-Bench-201 table not found at {self.path} "
                f"(pass path= or set {PATH_ENV_VAR} to where nb201.csv lives)"
            )
        valid = f"{self.dataset}_valid_acc_12ep"
        test = f"{self.dataset}_test_acc_200ep"
        with _open_table(self.path) as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in ("arch", valid, test, COST_COLUMN) if c not in (reader.fieldnames or ())]
            if missing:
                raise TableFormatError(f"NAS-Bench-201 table {self.path} lacks column(s) {', '.join(missing)}")
            return {
                row["arch"]: (float(row[valid]), float(row[test]), float(row[COST_COLUMN]))
                for row in reader
            }

    def _row(self, point: Any) -> tuple[float, float, float]:
        row = self._table().get(point) if isinstance(point, str) else None
        if row is not None:
            return row
        try:
            canonical = self._space.key(point)
        except SpaceError as error:
            raise UnknownArchitectureError(f"not a NAS-Bench-201 cell: {error}") from None
        row = self._table().get(canonical)
        if row is None:
            raise UnknownArchitectureError(f"NAS-Bench-201 cell {canonical!r} is not in {self.path}")
        return row

    def __len__(self) -> int:
        return len(self._table())

    def evaluate(self, point: Any, seed: int | None = None) -> EvalResult:
        """The table's record of ``point`` as a result (accuracies as fractions).

        ``seed`` is recorded only: the table holds means over the benchmark's seeds.
        """
        valid_acc, test_acc, cost = self._row(point)
        return EvalResult(
            status="ok",
            val_acc=valid_acc / 100.0,
            test_acc=test_acc / 100.0,
            train_seconds=cost,
            cost_seconds=cost,
            seed=seed,
            epochs_run=SEARCH_EPOCHS,
            settings={"evaluator": "nasbench201", "dataset": self.dataset, "epochs": SEARCH_EPOCHS},
        )

    def test_accuracy(self, point: Any) -> float:
        """The 200-epoch test accuracy of ``point`` (fraction): for reports, never for selection."""
        return self._row(point)[1] / 100.0

    def optimum(self) -> float:
        """The best 200-epoch test accuracy in the table (fraction)."""
        return max(test for _, test, _ in self._table().values()) / 100.0
