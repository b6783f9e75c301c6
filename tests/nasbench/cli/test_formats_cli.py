"""The field's cell formats on the command line: rebuild and transfer take a DARTS
Genotype(...) or an NB201 string (typed or in a file), write the cell back with
``--export cell.txt`` and print it with ``--format``; bad text is one line, exit 2."""
from __future__ import annotations

import json

import pytest

from nasbench.networks.export import export_network
from nasbench.cli.rebuild import main as rebuild_main
from nasbench.networks.resolve import resolve
from nasbench.cli.transfer import main as transfer_main
from search_spaces.published import point

NB201_BEST = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"
# Lines of the authors' genotypes.py files (DARTS: quark0/darts cnn/genotypes.py; PC-DARTS:
# yuhuixu1993/PC-DARTS genotypes.py; P-DARTS: chenxin061/pdarts genotypes.py), with the
# parameter counts of DARTS' model.py NetworkCIFAR(36, 10, 20, auxiliary=True, genotype)
# without the auxiliary head (its count_parameters_in_MB), measured with the authors' code.
AUTHORS = {
    "DARTS_V2": ("Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), "
                 "('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], "
                 "normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), "
                 "('max_pool_3x3', 1), ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), "
                 "('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])", 3_349_342),
    "DARTS_V1": ("Genotype(normal=[('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('skip_connect', 0), ('sep_conv_3x3', 1), "
                 "('skip_connect', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('skip_connect', 2)], "
                 "normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), "
                 "('max_pool_3x3', 0), ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), "
                 "('avg_pool_3x3', 0)], reduce_concat=[2, 3, 4, 5])", 3_169_414),
    "PC_DARTS_cifar": ("Genotype(normal=[('sep_conv_3x3', 1), ('skip_connect', 0), ('sep_conv_3x3', 0), "
                       "('dil_conv_3x3', 1), ('sep_conv_5x5', 0), ('sep_conv_3x3', 1), ('avg_pool_3x3', 0), "
                       "('dil_conv_3x3', 1)], normal_concat=range(2, 6), reduce=[('sep_conv_5x5', 1), "
                       "('max_pool_3x3', 0), ('sep_conv_5x5', 1), ('sep_conv_5x5', 2), ('sep_conv_3x3', 0), "
                       "('sep_conv_3x3', 3), ('sep_conv_3x3', 1), ('sep_conv_3x3', 2)], reduce_concat=range(2, 6))",
                       3_634_678),
    "PDARTS": ("Genotype(normal=[('skip_connect', 0), ('dil_conv_3x3', 1), ('skip_connect', 0),('sep_conv_3x3', 1), "
               "('sep_conv_3x3', 1), ('sep_conv_3x3', 3), ('sep_conv_3x3',0), ('dil_conv_5x5', 4)], "
               "normal_concat=range(2, 6), reduce=[('avg_pool_3x3', 0), ('sep_conv_5x5', 1), ('sep_conv_3x3', 0), "
               "('dil_conv_5x5', 2), ('max_pool_3x3', 0), ('dil_conv_3x3', 1), ('dil_conv_3x3', 1), "
               "('dil_conv_5x5', 3)], reduce_concat=range(2, 6))", 3_433_798),
    "AmoebaNet": ("Genotype(normal=[('avg_pool_3x3', 0), ('max_pool_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_5x5', 2), "
                  "('sep_conv_3x3', 0), ('avg_pool_3x3', 3), ('sep_conv_3x3', 1), ('skip_connect', 1), "
                  "('skip_connect', 0), ('avg_pool_3x3', 1)], normal_concat=[4, 5, 6], reduce=[('avg_pool_3x3', 0), "
                  "('sep_conv_3x3', 1), ('max_pool_3x3', 0), ('sep_conv_7x7', 2), ('sep_conv_7x7', 0), "
                  "('avg_pool_3x3', 1), ('max_pool_3x3', 0), ('max_pool_3x3', 1), ('conv_7x1_1x7', 0), "
                  "('sep_conv_3x3', 5)], reduce_concat=[3, 4, 6])", 3_145_078),
}


def _json(capsys, main, argv):
    code = main([*argv, "--json"])
    return code, json.loads(capsys.readouterr().out)


@pytest.mark.slow
@pytest.mark.parametrize("name", list(AUTHORS))
def test_transfer_of_a_genotypes_line_has_the_authors_count(name, tmp_path, capsys):
    path = tmp_path / f"{name}.txt"
    path.write_text(f"{name} = {AUTHORS[name][0]}\n")
    code, record = _json(capsys, transfer_main, [str(path), "--target", "cifar"])
    assert code == 0 and record["params_without_aux"] == AUTHORS[name][1]
    assert record["source"]["format"] == "darts"


@pytest.mark.slow
def test_rebuild_of_an_nb201_string_has_nb201s_count(capsys):
    code, record = _json(capsys, rebuild_main, [NB201_BEST, "--num-classes", "10", "--input-size", "32"])
    assert (code, record["params"], record["origin"], record["cell"]) == (0, 1_073_466, "text", NB201_BEST)


def test_the_api_builds_an_nb201_string_and_a_darts_genotype():
    import nasbench

    network = nasbench.rebuild(NB201_BEST, num_classes=10, input_size=32)
    assert sum(p.numel() for p in network.parameters()) == 1_073_466
    assert nasbench.rebuild(AUTHORS["DARTS_V2"][0]).num_classes == 10


def test_format_prints_the_cell_alone(capsys):
    assert rebuild_main([NB201_BEST, "--format", "nb201"]) == 0
    assert capsys.readouterr().out == NB201_BEST + "\n"
    assert transfer_main(["darts_v2", "--format", "darts"]) == 0
    printed = capsys.readouterr().out.strip()
    assert printed.startswith("darts_v2 = Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ")
    assert resolve(printed).point == point("darts_v2")
    code, record = _json(capsys, rebuild_main, [AUTHORS["PDARTS"][0], "--format", "darts"])
    assert (code, record["format"], record["space"]) == (0, "darts", "darts")


def test_format_with_export_writes_the_cell_in_that_format(tmp_path, capsys):
    assert transfer_main(["darts_v2", "--format", "darts", "--export", str(tmp_path / "cell.py")]) == 0
    assert capsys.readouterr().out.strip() == f"exported: {tmp_path / 'cell.py'} (darts cell)"
    assert resolve(str(tmp_path / "cell.py")).point == point("darts_v2")
    assert rebuild_main([NB201_BEST, "--format", "nb201", "--export", str(tmp_path / "cell.txt")]) == 0
    assert (tmp_path / "cell.txt").read_text() == NB201_BEST + "\n"


def test_export_txt_writes_the_cell_that_reads_back(tmp_path, capsys):
    cell_file = tmp_path / "cell.txt"
    argv = [AUTHORS["PC_DARTS_cifar"][0], "--target", "cifar", "--cells", "1", "--filters", "8"]
    code, record = _json(capsys, transfer_main, [*argv, "--export", str(cell_file)])
    assert code == 0 and record["export"]["path"] == str(cell_file)
    assert resolve(cell_file).point == resolve(AUTHORS["PC_DARTS_cifar"][0]).point
    assert cell_file.read_text().startswith("darts_genotype = Genotype(normal=[('sep_conv_3x3', 1), ('skip_connect', 0)")
    nb201_file = tmp_path / "nb201.txt"
    source = resolve(NB201_BEST)
    export_network(nb201_file, source.network(), cell_text=source.cell_text())
    assert nb201_file.read_text() == NB201_BEST + "\n" and resolve(nb201_file).point == NB201_BEST


@pytest.mark.parametrize("main, argv, message", [
    (rebuild_main, ["Genotype(normal=[('sep_conv_3x3', 0)], normal_concat=[2]"],
     "rebuild: the cell: not a Python expression: '(' was never closed at line 1, column 9"),
    (rebuild_main, ["Genotype(normal=[('sep_conv_3x3', 0), ('skip', 1)], normal_concat=[2], reduce=[], "
                    "reduce_concat=[2])"], "rebuild: the cell: DARTS genotype: reduce: expected a non-empty list"),
    (rebuild_main, [NB201_BEST, "--format", "darts"], "a cell of the nasbench201 space has no darts form"),
    (rebuild_main, ["resnet18", "--export", "x.txt"], "rebuild: resnet18 is a zoo network, not a cell"),
    (transfer_main, [NB201_BEST], "space 'nasbench201' has no cell-network skeleton"),
    (transfer_main, ["|nor_conv_3x3~0|"], "transfer: the cell: NB201 string '|nor_conv_3x3~0|': expected 3"),
])
def test_bad_cells_are_one_line_and_exit_2(main, argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
