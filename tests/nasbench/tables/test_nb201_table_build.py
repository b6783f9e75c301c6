"""``scripts/build_nb201_table.py``: the shipped table is what the script writes."""
from __future__ import annotations

import csv
import gzip
import importlib.util
import io
from pathlib import Path
from types import ModuleType

import pytest

from nasbench.tables.nasbench201 import PACKAGED_TABLE

SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "build_nb201_table.py"


@pytest.fixture(scope="module")
def script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_nb201_table", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def packaged_rows() -> tuple[list[str], list[dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(gzip.decompress(PACKAGED_TABLE.read_bytes()).decode("utf-8")))
    return list(reader.fieldnames or ()), list(reader)


def test_a_source_that_is_not_the_whole_space_is_refused(script, tmp_path):
    source = tmp_path / "nb201.csv"
    source.write_text("index,arch\n0,|none~0|+|none~0|none~1|+|none~0|none~1|none~2|\n")
    with pytest.raises(SystemExit, match="expected 15625 distinct cells, got 1 rows"):
        script.build(source, tmp_path / "out.csv.gz")


def test_a_source_that_already_has_sizes_is_refused(script, tmp_path):
    source = tmp_path / "nb201.csv"
    source.write_text("index,arch,cifar10_params\n0,|none~0|+|none~0|none~1|+|none~0|none~1|none~2|,73306\n")
    with pytest.raises(SystemExit, match="already has cost column"):
        script.build(source, tmp_path / "out.csv.gz")


def test_the_shipped_table_is_small_and_every_cell_has_sizes():
    header, rows = packaged_rows()
    assert PACKAGED_TABLE.stat().st_size < 1_500_000
    size_columns = [name for name in header if name.endswith(("_params", "_macs"))]
    assert len(size_columns) == 6
    assert all(int(row[name]) > 0 for row in rows for name in size_columns)


@pytest.mark.slow
def test_rebuilding_from_the_shared_source_gives_the_shipped_bytes(script, tmp_path):
    """About a minute and a half: one network per (3x3, 1x1) count and data set, plus a
    full rebuild of two sampled cells per data set."""
    if not script.DEFAULT_SOURCE.is_file():
        pytest.skip(f"the shared source {script.DEFAULT_SOURCE} is not here")
    output = tmp_path / "nb201.csv.gz"
    assert script.build(script.DEFAULT_SOURCE, output, verify=2) == 15_625
    assert output.read_bytes() == PACKAGED_TABLE.read_bytes()
