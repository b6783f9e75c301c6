"""`python -m nasbench.transfer`: published cells at full scale against the papers' figures
(counted on the meta device), a real search run directory transferred as it is, point
files, and one-line usage errors with exit status 2."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra

from nasbench.networks import transfer
from nasbench.networks.rebuild import measure
from nasbench.config.schema import CONF_DIR
from nasbench.cli.search import run_from_config
from nasbench.cli.transfer import main
from nasbench.networks.transfer import SkeletonSettings, figure_checks, load_cell, transfer_genotype
from search_spaces.genotype import NetworkGenotype
from search_spaces.published import point
from search_spaces.zoo import Figures


@pytest.fixture(scope="module")
def search_run(tmp_path_factory) -> Path:
    """A real (tiny) nasbench.search run of the NASNet space on the digits."""
    run_dir = tmp_path_factory.mktemp("search") / "run"
    GlobalHydra.instance().clear()
    with initialize_config_dir(version_base="1.3", config_dir=str(CONF_DIR)):
        cfg = compose(config_name="config", overrides=["+space=nasnet", "evaluator=proxy", "data=digits",
                                                       "budget.trials=2", "trainer.epochs=1", "progress=false"])
    GlobalHydra.instance().clear()
    run_from_config(cfg, run_dir)
    return run_dir


def _json_run(capsys, argv):
    code = main([*argv, "--json"])
    out, err = capsys.readouterr()
    return code, (json.loads(out) if out.strip() else None), err


def _error(capsys, argv) -> str:
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 2 and not out
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_nasnet_a_mobile_has_the_papers_figures(capsys):
    # NASNet-A (4 @ 1056): 5.3M parameters, 564M multiply-adds (Zoph et al. 2018, Table 2).
    code, record, _ = _json_run(capsys, ["nasnet_a", "--target", "imagenet", "--preset", "mobile"])
    assert code == 0 and record["pass"] is True
    assert abs(record["params"] - 5.3e6) <= 0.02 * 5.3e6
    assert abs(record["macs"] - 564e6) <= 0.03 * 564e6
    assert (record["cells"], record["filters"], record["num_classes"], record["input_size"]) == (4, 44, 1000, [224, 224])
    params, macs = record["figures"]
    assert params["quantity"] == "params_without_aux" and params["pass"] is True
    assert params["difference"] == record["params"] - 5_300_000
    assert macs["quantity"] == "macs" and macs["pass"] is True
    assert macs["relative_difference"] == pytest.approx((record["macs"] - 564e6) / 564e6)


def test_cifar_preset_is_nasnet_a_6_at_768(capsys):
    code, record, _ = _json_run(capsys, ["nasnet_a", "--target", "cifar"])
    assert code == 0 and record["pass"] is True
    assert (record["cells"], record["filters"], record["num_classes"]) == (6, 32, 10)
    assert abs(record["params"] - 3.3e6) <= 0.03 * 3.3e6
    assert record["output_shape"] == [10]


def test_darts_v2_cifar_and_the_auxiliary_head_left_out_of_the_check(capsys):
    code, record, _ = _json_run(capsys, ["darts_v2", "--target", "cifar", "--aux"])
    assert code == 0 and record["pass"] is True
    assert record["params_without_aux"] == 3_349_342 and record["aux_params"] > 0


@pytest.mark.slow
def test_darts_v2_imagenet_is_dartss_own_network(capsys):
    # DARTS's NetworkImageNet(48, 1000, 14): the authors' model.py has 4,718,752 parameters.
    code, record, _ = _json_run(capsys, ["darts_v2", "--target", "imagenet", "--preset", "mobile"])
    assert code == 0 and record["pass"] is True
    assert (record["setting"], record["stem"], record["cells"], record["filters"]) == ("darts", "darts", 4, 48)
    assert record["params"] == 4_718_752 and abs(record["params"] - 4.7e6) <= 0.03 * 4.7e6


def test_stem_and_aux_position_override_the_papers(capsys):
    code, record, _ = _json_run(capsys, ["darts_v2", "--target", "cifar", "--cells", "1", "--filters", "8", "--aux",
                                         "--aux-position", "normal"])
    assert code == 0 and (record["stem"], record["aux_position"]) == ("conv", "normal")
    code, record, _ = _json_run(capsys, ["darts_v2", "--cells", "1", "--filters", "8", "--stem", "nasnet"])
    assert code == 0 and record["stem"] == "nasnet" and record["input_size"] == [224, 224]
    assert all(check["pass"] is None and "darts stem" in check["reason"] for check in record["figures"])


def test_text_report_prints_the_table_and_the_verdict(capsys):
    assert main(["nasnet_a", "--target", "cifar"]) == 0
    out = capsys.readouterr().out
    assert "layer" in out.splitlines()[1] and "params 3,328,234" in out
    assert "NASNet-A (6 @ 768)" in out and ": pass (+0.86%, within 3%)" in out


def test_other_settings_skip_the_figures(capsys):
    code, record, _ = _json_run(capsys, ["nasnet_a", "--target", "cifar", "--cells", "1", "--filters", "8"])
    assert code == 0 and record["pass"] is None
    assert all(check["pass"] is None and "N=6, F=32" in check["reason"] for check in record["figures"])


def test_a_failing_check_exits_1(capsys, monkeypatch):
    wrong = Figures("made up", params=1_000, counts_aux=False)
    monkeypatch.setattr(transfer, "published_figures", lambda cell, settings: ([wrong], ""))
    code, record, _ = _json_run(capsys, ["darts_v2", "--target", "cifar", "--cells", "1", "--filters", "8"])
    assert code == 1 and record["pass"] is False and record["figures"][0]["pass"] is False


def test_search_run_directory_transfers_as_it_is(capsys, search_run, tmp_path):
    best = json.loads((search_run / "best.json").read_text())
    exported = tmp_path / "net.json"
    code, record, _ = _json_run(capsys, [str(search_run), "--target", "cifar", "--cells", "1", "--filters", "8",
                                         "--export", str(exported)])
    assert code == 0 and record["figures"] == [] and record["pass"] is None
    assert record["source"]["origin"] == "run" and record["source"]["space"] == "nasnet"
    assert record["source"]["point"] == best["point"]
    assert record["setting"] == "nasnet"  # its space's setting, named (it was null)
    genotype = NetworkGenotype.load(exported).to_dict()
    assert measure(genotype).params == record["params"]


def test_search_run_directory_at_imagenet_scale(search_run):
    cell = load_cell(search_run)
    settings = SkeletonSettings(target="imagenet", preset="mobile", cells=1)
    genotype = transfer_genotype(cell, settings)
    assert genotype["input_size"] == [224, 224] and genotype["num_classes"] == 1000
    assert [stage["width"] for stage in genotype["stages"]] == [11, 22, 44, 88, 88, 176, 176]
    assert figure_checks(cell, settings, measure(genotype)) == []


def test_point_files_bare_and_wrapped(tmp_path):
    bare = tmp_path / "darts.json"
    bare.write_text(json.dumps(point("darts_v2")))
    cell = load_cell(bare)
    assert (cell.space, cell.origin, cell.output) == ("darts", "file", None)
    wrapped = tmp_path / "wrapped.json"
    wrapped.write_text(json.dumps({"space": "amoeba", "point": point("nasnet_a")}))
    assert load_cell(wrapped).space == "amoeba"


@pytest.mark.parametrize("argv, message", [
    (["nasnet-a"], "unknown cell 'nasnet-a'; did you mean nasnet_a"),
    (["darts_v2", "--target", "cifar", "--preset", "large"], "--preset applies to --target imagenet"),
    (["darts_v2", "--filters", "0"], "--filters: expected a positive integer, got 0"),
    (["darts_v2", "--preset", "large"], "--preset: the darts setting has no 'large' ImageNet network"),
    (["no/such/run"], "no such file or directory 'no/such/run'"),
])
def test_usage_errors(capsys, argv, message):
    assert message in _error(capsys, argv)


def test_run_directory_without_best_json(capsys, search_run, tmp_path):
    shutil.copy(search_run / "config.yaml", tmp_path / "config.yaml")
    assert _error(capsys, [str(tmp_path)]).endswith("no best.json; the search has not finished a candidate yet")
    assert "no config.yaml" in _error(capsys, [str(tmp_path / "..")])


def test_malformed_files_name_the_field(capsys, tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text('{"normal": [')
    assert "broken.json: not valid JSON (line 1" in _error(capsys, [str(broken)])
    bad = point("nasnet_a")
    bad["reduce"][3][1] = 9
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({"space": "nasnet", "point": bad}))
    assert "wrong.json: point: nasnet point.reduce[3]: input 9 is not an earlier state (0..4)" in \
        _error(capsys, [str(wrong)])
    best = tmp_path / "run"
    best.mkdir()
    (best / "config.yaml").write_text("space:\n  name: nasnet\n")
    (best / "best.json").write_text(json.dumps({"trial": 0}))
    assert "best.json: no 'point' field" in _error(capsys, [str(best)])
    (best / "config.yaml").write_text("space:\n  name: nasbench201\n")
    (best / "best.json").write_text(json.dumps({"point": "|nor_conv_3x3~0|"}))
    assert "space 'nasbench201' has no cell-network skeleton" in _error(capsys, [str(best)])
    network = tmp_path / "network.json"
    network.write_text(json.dumps({"stages": [], "head": {}}))
    assert "a network genotype, not a cell" in _error(capsys, [str(network)])


def test_an_nb201_cell_is_refused_with_where_it_can_go(capsys):
    assert main(["6111", "--target", "cifar"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and err.startswith("transfer: NAS-Bench-201 index 6111: space 'nasbench201' has no")
    assert err.endswith("python -m nasbench.rebuild SOURCE builds it in its own space's network")


def test_a_runs_cell_keeps_its_classes_at_its_scale(search_run, tmp_path):
    """A pets run (3 classes) transferred to the CIFAR skeleton builds 3 classes, so the
    weights trained on it load; to ImageNet scale from small images: ImageNet's 1000."""
    import shutil

    run = tmp_path / "pets"
    shutil.copytree(search_run, run)
    best = json.loads((run / "best.json").read_text())
    best["inputs"] = {"num_classes": 3, "input_size": 32, "input_channels": 3}
    (run / "best.json").write_text(json.dumps(best))
    cell = load_cell(run)
    assert transfer_genotype(cell, SkeletonSettings(target="cifar"))["num_classes"] == 3
    assert transfer_genotype(cell, SkeletonSettings(target="imagenet", cells=1))["num_classes"] == 1000
    assert transfer_genotype(cell, SkeletonSettings(target="cifar", num_classes=7))["num_classes"] == 7
