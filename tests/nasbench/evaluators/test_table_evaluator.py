"""The NAS-Bench-201 table evaluator on the table that ships inside the package."""
from __future__ import annotations

import gzip

import pytest

from nasbench.evaluators.nasbench201 import NasBench201Evaluator
from nasbench.tables.nasbench201 import (PACKAGED_TABLE, TableNotFoundError, UnknownArchitectureError,
                                         arch_for_index, default_table_path)

BEST_CIFAR10 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_1x1~1|nor_conv_3x3~2|"
# NB201 index 6111, the other cell with the best CIFAR-10 test accuracy (issue 11's best cell).
INDEX_6111 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"


@pytest.fixture(scope="module")
def table() -> NasBench201Evaluator:
    return NasBench201Evaluator()


@pytest.fixture(scope="module")
def tables(table):
    """Our data set name -> its table, each read once for the module."""
    cache = {"cifar10": table}

    def table_of(dataset: str) -> NasBench201Evaluator:
        return cache.setdefault(dataset, NasBench201Evaluator(dataset=dataset))

    return table_of


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
    assert NasBench201Evaluator(dataset="cifar100").optimum() == pytest.approx(0.7351, abs=1e-4)
    assert NasBench201Evaluator(dataset="imagenet16").optimum() == pytest.approx(0.4731, abs=1e-4)


@pytest.mark.parametrize("point", ["|nor_conv_3x3~0|", "not a cell", 12.0, None])
def test_unknown_architecture_is_a_typed_error(table, point):
    with pytest.raises(UnknownArchitectureError, match="not a NAS-Bench-201 cell"):
        table.evaluate(point)


def test_missing_file_says_where_and_how_to_configure(tmp_path):
    missing = tmp_path / "nowhere.csv"
    with pytest.raises(TableNotFoundError, match="NASBENCH201_CSV") as error:
        NasBench201Evaluator(missing).evaluate(BEST_CIFAR10)
    assert str(missing) in str(error.value)


def test_env_var_overrides_the_default_path(tmp_path, monkeypatch):
    monkeypatch.delenv("NASBENCH201_CSV", raising=False)
    assert default_table_path() == PACKAGED_TABLE and PACKAGED_TABLE.is_file()
    monkeypatch.setenv("NASBENCH201_CSV", str(tmp_path / "x.csv"))
    assert default_table_path() == tmp_path / "x.csv"


def test_a_plain_csv_copy_reads_like_the_packaged_table(tmp_path):
    plain = tmp_path / "nb201.csv"
    plain.write_bytes(gzip.decompress(PACKAGED_TABLE.read_bytes()))
    assert NasBench201Evaluator(plain).evaluate(BEST_CIFAR10).val_acc == NasBench201Evaluator().evaluate(BEST_CIFAR10).val_acc


def test_unknown_dataset_is_refused_naming_the_accepted_ones():
    with pytest.raises(ValueError, match="'cifar1000' is not one of cifar10, cifar100, imagenet16, cifar10-valid, "
                                         "ImageNet16-120"):
        NasBench201Evaluator(dataset="cifar1000")


@pytest.mark.parametrize("index", [6111, "6111", " 6111 "])
def test_a_cell_is_asked_by_its_nb201_index(table, index):
    assert table.arch_of(index) == INDEX_6111 == arch_for_index(6111)
    assert table.evaluate(index) == table.evaluate(INDEX_6111)
    assert table.test_accuracy(index) == pytest.approx(0.943733)


@pytest.mark.parametrize("index", [15_625, -1, "99999"])
def test_an_index_outside_the_table_is_a_typed_error(table, index):
    with pytest.raises(UnknownArchitectureError, match=r"index .* is not in .*\(indices 0\.\.15624\)"):
        table.evaluate(index)


@pytest.mark.parametrize("nb201_name, ours", [("cifar10-valid", "cifar10"), ("cifar10", "cifar10"),
                                              ("cifar100", "cifar100"), ("ImageNet16-120", "imagenet16"),
                                              ("imagenet16-120", "imagenet16")])
def test_nb201_dataset_names_read_the_right_columns(tables, nb201_name, ours):
    by_nb201_name, by_ours = NasBench201Evaluator(dataset=nb201_name), tables(ours)
    assert by_nb201_name.dataset == ours
    assert by_nb201_name.evaluate(6111) == by_ours.evaluate(6111)
    assert by_nb201_name.network_inputs() == by_ours.network_inputs()


# (params, multiply-adds) of index 6111's network per data set; xautodl's get_model_infos
# gives 1.073466 / 1.079316 / 1.080616 MB and 153.273 / 153.279 / 38.326 M "FLOPs" (MACs).
SIZES_6111 = {"cifar10": (1_073_466, 153_272_960), "cifar100": (1_079_316, 153_278_720),
              "imagenet16": (1_080_616, 38_325_760)}


@pytest.mark.parametrize("dataset", sorted(SIZES_6111))
def test_results_carry_the_networks_parameters_and_macs(tables, dataset):
    result = tables(dataset).evaluate(6111)
    assert (result.params, result.macs) == SIZES_6111[dataset]


def test_table_sizes_are_our_builders_counts_of_the_whole_network(tables):
    from nasbench.evaluators.nasbench201_costs import network_costs

    smallest = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
    for dataset, point in (("cifar10", smallest), ("imagenet16", BEST_CIFAR10)):
        result = tables(dataset).evaluate(point)
        inputs = tables(dataset).network_inputs()
        assert (result.params, result.macs) == network_costs(point, inputs["num_classes"], inputs["input_size"])


def test_a_copy_without_size_columns_answers_accuracies_without_sizes(tmp_path):
    lines = gzip.decompress(PACKAGED_TABLE.read_bytes()).decode().splitlines()
    header = lines[0].split(",")
    keep = [i for i, name in enumerate(header) if not name.endswith(("_params", "_macs"))]
    plain = tmp_path / "nb201.csv"
    plain.write_text("\n".join(",".join(line.split(",")[i] for i in keep) for line in lines) + "\n")
    result = NasBench201Evaluator(plain).evaluate(6111)
    assert (result.params, result.macs) == (None, None)
    assert result.val_acc == NasBench201Evaluator().evaluate(6111).val_acc


def test_a_table_without_a_column_is_refused(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("index,arch\n0,|none~0|+|none~0|none~1|+|none~0|none~1|none~2|\n")
    with pytest.raises(ValueError, match="cifar10_valid_acc_12ep"):
        len(NasBench201Evaluator(path))


def test_a_data_group_other_than_the_tables_column_is_refused():
    """data=cifar100 with the table's default column (cifar10) would search CIFAR-10's
    accuracies under a CIFAR-100 label; the data group's default (digits) is not looked at."""
    from nasbench.evaluators.base import EvaluatorContext
    from nasbench.evaluators.nasbench201 import TableEvaluatorConfig
    from search_spaces.spaces.nasbench201 import NasBench201Space

    space = NasBench201Space()
    with pytest.raises(ValueError, match="looks up evaluator.dataset=cifar10, not data=cifar100"):
        NasBench201Evaluator.from_config(TableEvaluatorConfig(), EvaluatorContext(space, data={"name": "cifar100"}))
    for data, dataset in (("digits", "cifar10"), ("cifar100", "cifar100"), ("cifar10", "cifar10-valid")):
        chosen = NasBench201Evaluator.from_config(TableEvaluatorConfig(dataset=dataset),
                                              EvaluatorContext(space, data={"name": data}))
        assert chosen.dataset == ("cifar100" if dataset == "cifar100" else "cifar10")
