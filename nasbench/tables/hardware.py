"""HW-NAS-Bench: every NAS-Bench-201 cell's latency and energy on six devices.

Li et al., "HW-NAS-Bench: Hardware-Aware Neural Architecture Search Benchmark", ICLR 2021,
https://arxiv.org/abs/2103.10584. Measured: the Jetson TX2 edge GPU (``edgegpu``), the
Raspberry Pi 4 (``raspi4``), the Edge TPU (``edgetpu``), the Pixel 3 (``pixel3``);
estimated by their simulators: the Eyeriss ASIC (``eyeriss``) and a ZC706 FPGA (``fpga``).
Latency in ms, energy in mJ, Eyeriss' arithmetic intensity in ops/byte, per data set's
network (``cifar10``, ``cifar100``, ``imagenet16``).

The table ships inside the package (``data/hw_nb201.csv.gz``, written by
``scripts/build_hw_table.py``; its README names the sources), by NB201 index. A value the
source does not have (the Edge TPU on 4,699 cells) is None, never 0.
"""
from __future__ import annotations

import csv
import gzip
import io
import statistics
from pathlib import Path
from typing import Sequence

from nasbench.core.errors import ConfigError
from nasbench.tables.nasbench201 import canonical_dataset

DEVICES: tuple[str, ...] = ("edgegpu", "raspi4", "edgetpu", "pixel3", "eyeriss", "fpga")
DEVICE_METRICS: tuple[str, ...] = ("edgegpu_latency", "edgegpu_energy", "raspi4_latency", "edgetpu_latency",
                                   "pixel3_latency", "eyeriss_latency", "eyeriss_energy",
                                   "eyeriss_arithmetic_intensity", "fpga_latency", "fpga_energy")
UNITS = {"latency": "ms", "energy": "mJ", "arithmetic_intensity": "ops/byte"}
PACKAGED_HARDWARE = Path(__file__).resolve().parent / "data" / "hw_nb201.csv.gz"


def column(dataset: str, metric: str) -> str:
    """The table's column of ``metric`` (``edgegpu_latency``) on ``dataset``'s network."""
    return f"{dataset}_{metric}"


def unit(metric: str) -> str:
    return next((u for suffix, u in UNITS.items() if metric.endswith(suffix)), "")


def device_metrics(devices: Sequence[str]) -> tuple[str, ...]:
    """The metrics the table has for ``devices`` (each checked: ``ConfigError`` names the six)."""
    metrics = []
    for device in devices:
        if device not in DEVICES:
            raise ConfigError(f"evaluator.device: {device!r} is not one of {', '.join(DEVICES)} (HW-NAS-Bench)")
        metrics += [metric for metric in DEVICE_METRICS if metric.startswith(device + "_")]
    return tuple(dict.fromkeys(metrics))


class HardwareTable:
    """The HW-NAS-Bench values of one data set's networks, read once on first use."""

    def __init__(self, dataset: str = "cifar10", path: str | Path | None = None):
        self.dataset = canonical_dataset(dataset)
        self.path = Path(path) if path is not None else PACKAGED_HARDWARE
        self._columns: dict[str, list[float | None]] | None = None

    def _table(self) -> dict[str, list[float | None]]:
        if self._columns is None:
            with io.TextIOWrapper(gzip.open(self.path, "rb"), encoding="utf-8", newline="") as handle:
                rows = list(csv.DictReader(handle))
            if [int(row["index"]) for row in rows] != list(range(len(rows))):
                raise ConfigError(f"{self.path}: rows are not NB201 indices 0..{len(rows) - 1} in order")
            self._columns = {metric: [float(row[column(self.dataset, metric)]) if row[column(self.dataset, metric)]
                                      else None for row in rows] for metric in DEVICE_METRICS}
        return self._columns

    def costs(self, index: int, metrics: Sequence[str]) -> dict[str, float | None]:
        """``metric -> value`` of the cell with NB201 index ``index`` (None where missing)."""
        table = self._table()
        return {metric: table[metric][index] for metric in metrics}

    def known(self, metric: str) -> list[float]:
        """Every cell's value of ``metric`` the source has."""
        return [value for value in self._table()[metric] if value is not None]

    def median(self, metric: str) -> float:
        return statistics.median(self.known(metric))
