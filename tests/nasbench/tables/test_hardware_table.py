"""The HW-NAS-Bench table inside the package: the facts its README names, a missing value
as None, and (where the shared source is beside the checkout) the script's bytes."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from nasbench.core.errors import ConfigError
from nasbench.tables.hardware import DEVICE_METRICS, PACKAGED_HARDWARE, HardwareTable, device_metrics
from nasbench.tables.nasbench201 import NasBench201Table

CHECKOUT = Path(__file__).resolve().parents[3]
SOURCE = CHECKOUT.parent / "shared" / "data" / "hwnasbench201" / "hw_nb201.csv"


def test_cell_0_on_cifar10_is_hw_nas_benchs_own_example():
    costs = HardwareTable("cifar10").costs(0, DEVICE_METRICS)
    expected = {"edgegpu_latency": 5.8074, "edgegpu_energy": 24.2266, "raspi4_latency": 10.4820,
                "edgetpu_latency": 0.9572, "pixel3_latency": 3.6058, "eyeriss_latency": 3.6456,
                "eyeriss_energy": 0.6873, "fpga_latency": 2.5730, "fpga_energy": 18.0107}
    assert {k: costs[k] for k in expected} == {k: pytest.approx(v, abs=1e-4) for k, v in expected.items()}


def test_the_edge_tpus_missing_cells_are_none_and_the_spans_are_the_sources():
    table = HardwareTable("cifar10")
    assert len(table.known("edgetpu_latency")) == 15_625 - 4_699
    assert sum(value is None for value in table._table()["edgetpu_latency"]) == 4_699
    latencies = table.known("edgegpu_latency")
    assert (round(min(latencies), 2), round(max(latencies), 2), round(table.median("edgegpu_latency"), 2)) == (
        0.50, 11.69, 5.31)
    assert HardwareTable("ImageNet16-120").dataset == "imagenet16"


def test_a_cell_is_found_by_any_spelling_of_it():
    table = NasBench201Table()
    arch = table.arch_of(6111)
    assert table.index_of(arch) == table.index_of(6111) == table.index_of("6111") == 6111


def test_an_unknown_device_names_the_six():
    assert device_metrics(["fpga"]) == ("fpga_latency", "fpga_energy")
    with pytest.raises(ConfigError, match="'tpu' is not one of edgegpu, raspi4, edgetpu, pixel3, eyeriss, fpga"):
        device_metrics(["edgegpu", "tpu"])


@pytest.mark.skipif(not SOURCE.is_file(), reason="the shared HW-NAS-Bench source is not beside the checkout")
def test_the_shipped_table_is_what_the_script_writes(tmp_path):
    spec = importlib.util.spec_from_file_location("build_hw_table", CHECKOUT / "scripts" / "build_hw_table.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    assert script.build(SOURCE, tmp_path / "hw.csv.gz") == 15_625
    assert (tmp_path / "hw.csv.gz").read_bytes() == PACKAGED_HARDWARE.read_bytes()
