"""The NAS-Bench-201 table evaluator on the table that ships inside the package."""
from __future__ import annotations

import pytest

from nasbench.evaluators.nasbench201 import (
    PACKAGED_TABLE,
    NasBench201Table,
    TableNotFoundError,
    UnknownArchitectureError,
    default_table_path,
)

BEST_CIFAR10 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_1x1~1|nor_conv_3x3~2|"



@pytest.fixture(scope="module")
def table() -> NasBench201Table:
    return NasBench201Table()


def test_whole_space_is_in_the_table(table):
    assert len(table) == 15_625


def test_evaluate_reports_fractions_and_cost(table):
    result = table.evaluate(BEST_CIFAR10, seed=3)
    assert result.ok and result.seed == 3
    assert result.val_acc == pytest.approx(0.84892)
    assert result.test_acc == pytest.approx(0.943733)
    assert result.cost_seconds == pytest.approx(175.51)
    assert table.test_accuracy(BEST_CIFAR10) == result.test_acc


def test_optimum_matches_the_published_figures(table):
    assert table.optimum() == pytest.approx(0.943733)
    assert NasBench201Table(dataset="cifar100").optimum() == pytest.approx(0.7351, abs=1e-4)
    assert NasBench201Table(dataset="imagenet16").optimum() == pytest.approx(0.4731, abs=1e-4)


@pytest.mark.parametrize("point", ["|nor_conv_3x3~0|", "not a cell", 12])
def test_unknown_architecture_is_a_typed_error(table, point):
    with pytest.raises(UnknownArchitectureError, match="not a NAS-Bench-201 cell"):
        table.evaluate(point)


def test_missing_file_says_where_and_how_to_configure(tmp_path):
    missing = tmp_path / "nowhere.csv"
    with pytest.raises(TableNotFoundError, match="NASBENCH201_CSV") as error:
        NasBench201Table(missing).evaluate(BEST_CIFAR10)
    assert str(missing) in str(error.value)


def test_env_var_overrides_the_default_path(tmp_path, monkeypatch):
    monkeypatch.delenv("NASBENCH201_CSV", raising=False)
    assert default_table_path() == PACKAGED_TABLE and PACKAGED_TABLE.is_file()
    monkeypatch.setenv("NASBENCH201_CSV", str(tmp_path / "x.csv"))
    assert default_table_path() == tmp_path / "x.csv"


def test_a_plain_csv_copy_reads_like_the_packaged_table(tmp_path):
    import gzip

    plain = tmp_path / "nb201.csv"
    plain.write_bytes(gzip.decompress(PACKAGED_TABLE.read_bytes()))
    assert NasBench201Table(plain).evaluate(BEST_CIFAR10).val_acc == NasBench201Table().evaluate(BEST_CIFAR10).val_acc


def test_unknown_dataset_is_refused():
    with pytest.raises(ValueError, match="cifar1000"):
        NasBench201Table(dataset="cifar1000")


def test_a_table_without_a_column_is_refused(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("index,arch\n0,|none~0|+|none~0|none~1|+|none~0|none~1|none~2|\n")
    with pytest.raises(ValueError, match="cifar10_valid_acc_12ep"):
        len(NasBench201Table(path))
