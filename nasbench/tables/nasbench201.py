"""The NAS-Bench-201 table: every cell's accuracies, training cost and network size.

Dong & Yang, "NAS-Bench-201: Extending the Scope of Reproducible Neural Architecture
Search", ICLR 2020, https://arxiv.org/abs/2001.00326.

The table ships inside the package (``data/nb201.csv.gz``, written by
``scripts/build_nb201_table.py``; its README names the sources); ``path=`` or
``$NASBENCH201_CSV`` read another copy (plain or gzipped CSV). A cell is looked up by its
string or by its NB201 index (``6111``); a data set by our name or NB201's
(``cifar10-valid``, ``cifar10``, ``cifar100``, ``ImageNet16-120``). The evaluator over it
is ``nasbench.evaluators.nasbench201``; the resolver reads its index here.
"""
from __future__ import annotations

import csv
import gzip
import io
import os
from pathlib import Path
from typing import Any, NamedTuple

from search_spaces.spaces.base import SpaceError
from search_spaces.spaces.nasbench201 import NasBench201Space
from search_spaces.errors import NasError

from nasbench.core.errors import ConfigError

DATASETS: tuple[str, ...] = ("cifar10", "cifar100", "imagenet16")
# NB201's own names -> ours. NB201's cifar10-valid trains on CIFAR-10's train split and
# evaluates on its valid split: our cifar10 signal. NOTE: NB201's "cifar10" trains on
# train+valid and has no validation accuracy; it maps to the same columns, whose 200-epoch
# test accuracy is that training's (NB201's search protocol: select on cifar10-valid,
# report cifar10's test accuracy). cifar100 and ImageNet16-120 validate and test on the
# two halves of the test set (NB201's x-valid, x-test), as our columns do.
NB201_DATASET_NAMES: dict[str, str] = {"cifar10-valid": "cifar10", "cifar10": "cifar10", "cifar100": "cifar100",
                                       "ImageNet16-120": "imagenet16"}
# (classes, input side) of each data set's networks: CIFAR at 32x32, ImageNet16-120 at 16x16.
DATASET_INPUTS: dict[str, tuple[int, int]] = {"cifar10": (10, 32), "cifar100": (100, 32), "imagenet16": (120, 16)}
PATH_ENV_VAR = "NASBENCH201_CSV"
COST_COLUMN = "train_seconds_12ep_estimate"


class TableNotFoundError(NasError, FileNotFoundError):
    """The NAS-Bench-201 csv is not where it was looked for."""


class TableFormatError(NasError, ValueError):
    """The NAS-Bench-201 csv lacks a column a lookup needs."""


class UnknownArchitectureError(NasError, LookupError):
    """A point is not a NAS-Bench-201 cell, or not a row of the table."""


PACKAGED_TABLE = Path(__file__).resolve().parent / "data" / "nb201.csv.gz"


def default_table_path() -> Path:
    """``$NASBENCH201_CSV``, else the table inside the package."""
    override = os.environ.get(PATH_ENV_VAR)
    return Path(override).expanduser() if override else PACKAGED_TABLE


def _open_table(path: Path) -> io.TextIOBase:
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="")
    return path.open(encoding="utf-8", newline="")


class TableRow(NamedTuple):
    """One cell's record for one data set: accuracies in percent, cost in seconds, and
    its network's size (None when the table predates those columns)."""

    valid_acc: float
    test_acc: float
    cost_seconds: float
    params: int | None
    macs: int | None


def canonical_dataset(name: str) -> str:
    """Our name of a data set given by our name or NB201's (case-insensitive);
    ``ValueError`` naming the accepted names otherwise."""
    names = {key.lower(): value for key, value in NB201_DATASET_NAMES.items()}
    names.update({ours: ours for ours in DATASETS})
    if isinstance(name, str) and name.lower() in names:
        return names[name.lower()]
    accepted = ", ".join(dict.fromkeys([*DATASETS, *NB201_DATASET_NAMES]))
    raise ConfigError(f"dataset: {name!r} is not one of {accepted}")


def cost_columns(dataset: str) -> tuple[str, str]:
    """The table's parameter and multiply-add columns of ``dataset`` (our name)."""
    return f"{dataset}_params", f"{dataset}_macs"


def parse_index(point: Any) -> int | None:
    """The NB201 index ``point`` names (an int, or a string of digits), else None."""
    if isinstance(point, int) and not isinstance(point, bool):
        return point
    if isinstance(point, str) and point.strip().isdigit():
        return int(point.strip())
    return None


class NasBench201Table:
    """NAS-Bench-201 cells looked up in ``nb201.csv``.

    ``dataset`` picks the column family (``cifar10``, ``cifar100``, ``imagenet16``, or
    NB201's names for them). The file is read once, on first use, and cached in the
    instance.
    """

    def __init__(self, path: str | Path | None = None, dataset: str = "cifar10") -> None:
        self.dataset = canonical_dataset(dataset)
        self.path = Path(path).expanduser() if path is not None else default_table_path()
        self._space = NasBench201Space()
        self._rows: dict[str, TableRow] | None = None
        self._arches: dict[int, str] = {}
        self._indices: dict[str, int] | None = None

    def _table(self) -> dict[str, TableRow]:
        if self._rows is None:
            self._rows, self._arches = self._load()
        return self._rows

    def _load(self) -> tuple[dict[str, TableRow], dict[int, str]]:
        """arch -> its row, and NB201 index -> arch."""
        if not self.path.is_file():
            raise TableNotFoundError(
                f"NAS-Bench-201 table not found at {self.path} "
                f"(pass path= or set {PATH_ENV_VAR} to where nb201.csv lives)"
            )
        valid = f"{self.dataset}_valid_acc_12ep"
        test = f"{self.dataset}_test_acc_200ep"
        with _open_table(self.path) as handle:
            reader = csv.DictReader(handle)
            columns = reader.fieldnames or ()
            missing = [c for c in ("arch", valid, test, COST_COLUMN) if c not in columns]
            if missing:
                raise TableFormatError(f"NAS-Bench-201 table {self.path} lacks column(s) {', '.join(missing)}")
            # A copy without the size columns (the shared source CSV) still answers accuracies.
            params, macs = (c if c in columns else None for c in cost_columns(self.dataset))
            rows, arches = {}, {}
            for row in reader:
                rows[row["arch"]] = TableRow(float(row[valid]), float(row[test]), float(row[COST_COLUMN]),
                                             int(row[params]) if params else None,
                                             int(row[macs]) if macs else None)
                if (row.get("index") or "").isdigit():
                    arches[int(row["index"])] = row["arch"]
            return rows, arches

    def arch_of(self, index: int | str) -> str:
        """The string of the cell with NB201 index ``index`` (``UnknownArchitectureError``
        when the table has no such index)."""
        number = parse_index(index)
        self._table()
        if number is None or number not in self._arches:
            known = f"indices 0..{len(self._arches) - 1}" if self._arches else "it has no index column"
            raise UnknownArchitectureError(f"NAS-Bench-201 index {index!r} is not in {self.path} ({known})")
        return self._arches[number]

    def index_of(self, point: Any) -> int:
        """The NB201 index of ``point`` (a cell string, in any spelling the space reads, or an
        index); ``UnknownArchitectureError`` when it is none of the table's cells."""
        number = parse_index(point)
        if number is not None:
            self.arch_of(number)
            return number
        self.row(point)  # refuses what is no cell of the table
        if self._indices is None:
            self._indices = {arch: index for index, arch in self._arches.items()}
        arch = point if point in self._indices else self._space.key(point)
        return self._indices[arch]

    def row(self, point: Any) -> TableRow:
        """The record of ``point`` (a cell string or NB201 index); ``UnknownArchitectureError``
        when it is none of the table's cells."""
        index = parse_index(point)
        if index is not None:
            return self._table()[self.arch_of(index)]
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

    def test_accuracy(self, point: Any) -> float:
        """The 200-epoch test accuracy of ``point`` (fraction): for reports, never for selection."""
        return self.row(point).test_acc / 100.0

    def optimum(self) -> float:
        """The best 200-epoch test accuracy in the table (fraction)."""
        return max(row.test_acc for row in self._table().values()) / 100.0


def arch_for_index(index: int | str, path: str | Path | None = None) -> str:
    """The NB201 string of the cell with NB201 index ``index``, from the table at ``path``
    (None: the packaged one): where a user names a cell by its index."""
    return NasBench201Table(path).arch_of(index)
