"""`python -m nasbench.rebuild`: the layer table, the figure checks, the JSON record, the
errors (exit status 2, one line, no traceback) and the zoo listing."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from nasbench.cli import rebuild
from nasbench.cli.rebuild import main
from nasbench.networks.rebuild import build, measure
from nasbench.networks.resolve import resolve
from nasbench.networks.layer_table import check_figures, summarize
from search_spaces.dsl import aux_head, cell, edge, head, layer, network, node, stage
from search_spaces.genotype import NetworkGenotype
from search_spaces.zoo import Figures, ZooEntry
from search_spaces.zoo.registry import make_registry

REPO = Path(__file__).resolve().parents[3]
RESNET34_PARAMS = 21_797_672


def _one_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1, text
    assert "Traceback" not in text
    return lines[0]


def test_resnet34_prints_the_table_and_passes_its_checks(capsys):
    assert main(["resnet34"]) == 0
    out = capsys.readouterr().out
    assert "stem.0.op.conv" in out and "Conv2d 7x7/2" in out and "64x112x112" in out
    assert "head.layers.0" in out and "Linear" in out
    assert "check: params 21,797,672 vs 21,797,672 (torchvision.models.resnet34): pass" in out
    macs_line = next(line for line in out.splitlines() if line.startswith("check: MACs"))
    assert macs_line.endswith("%)") and ": pass (" in macs_line
    total = next(line for line in out.splitlines() if line.startswith("total ("))
    assert "21,797,672" in total


def test_resnet34_json_record(capsys):
    assert main(["resnet34", "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["name"] == "resnet34" and record["variant"] == "paper"
    assert record["input_size"] == [224, 224] and record["num_classes"] == 1000
    assert record["params"] == RESNET34_PARAMS
    assert abs(record["macs"] - 3.6e9) / 3.6e9 < 0.03
    assert record["activations"] > 0
    assert {f["quantity"] for f in record["figures"]} == {"params", "macs"}
    assert all(f["pass"] is True for f in record["figures"])
    assert all({"source", "expected", "measured", "pass"} <= set(f) for f in record["figures"])


def test_rows_add_up_to_the_totals():
    summary = measure(resolve("resnet34").genotype)
    assert sum(row.params for row in summary.rows) == summary.params == RESNET34_PARAMS
    assert sum(row.macs for row in summary.rows) == summary.macs
    stem = summary.rows[0]
    assert (stem.name, stem.output_shape, stem.params) == ("stem.0.op.conv", (64, 112, 112), 9408)
    assert stem.macs == 64 * 112 * 112 * 3 * 7 * 7
    assert summary.activations == 3 * 224 * 224 + sum(row.activations for row in summary.rows)


def test_meta_device_counts_equal_a_real_forward_pass():
    genotype = resolve("resnet20_cifar").genotype
    on_meta, on_cpu = summarize(build(genotype, meta=True)), summarize(build(genotype))
    assert on_meta == on_cpu


def _tiny_with_aux() -> dict:
    block = cell([node(edge("conv", 0, k=3)), node(edge("conv", 1, k=3, order="conv_bn"), edge("skip", 0)),
                  node(edge("act", 2))])
    return network("tiny_aux", [stage(block, 1, width=8), stage(block, 1, width=16, stride=2)],
                   stem=[layer("conv", 8, k=3)], input_size=16, num_classes=5,
                   aux_heads=[aux_head(0, [layer("conv", 4, k=1)], head("avg"))])


def test_aux_heads_are_counted_apart():
    summary = measure(NetworkGenotype.from_dict(_tiny_with_aux()).to_dict())
    assert summary.aux_params == (8 * 4 + 2 * 4) + (4 * 5 + 5)
    assert sum(row.params for row in summary.rows) == summary.params_without_aux
    with_aux = Figures("counts aux", params=summary.params)
    without_aux = Figures("without aux", params=summary.params_without_aux, counts_aux=False)
    checks = check_figures(summary, [with_aux, without_aux])
    assert [c.passed for c in checks] == [True, True]
    assert checks[1].line().startswith("check: params without aux heads")


def test_a_failing_figure_exits_1(monkeypatch, capsys):
    entry = ZooEntry("tiny_aux", "test", "A test (Nobody 2024), https://example.org",
                     {"default": _tiny_with_aux},
                     {"default": (Figures("made-up count", params=1000, params_tolerance=0.01),)})
    monkeypatch.setattr(rebuild, "zoo", lambda: make_registry([entry]))
    assert main(["tiny_aux"]) == 1
    line = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("check:"))
    assert line.startswith("check: params ") and "(made-up count): FAIL (+" in line and "over 1%" in line


def test_subprocess_json():
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-m", "nasbench.rebuild", "resnet18", "--json"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)
    assert record["params"] == 11_689_512


def test_unknown_name_exits_2_with_suggestions(capsys):
    assert main(["resnet35"]) == 2
    captured = capsys.readouterr()
    line = _one_line(captured.err)
    assert line.startswith("rebuild: unknown network 'resnet35'; did you mean ")
    assert "resnet34" in line and "resnet50" in line
    assert captured.out == ""


def test_malformed_genotype_file_exits_2_naming_the_field(tmp_path, capsys):
    genotype = resolve("resnet18").genotype
    genotype["stages"][2]["cell"]["nodes"][1]["edges"][0]["op"] = "conv_9x9"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(genotype))
    assert main([str(path)]) == 2
    line = _one_line(capsys.readouterr().err)
    assert "stages[2].cell.nodes[1].edges[0].op: 'conv_9x9' is not an op; known: " in line


def test_invalid_json_and_missing_file_exit_2(tmp_path, capsys):
    path = tmp_path / "broken.json"
    path.write_text("{\"stages\": [")
    assert main([str(path)]) == 2
    assert "not valid JSON" in _one_line(capsys.readouterr().err)
    assert main([str(tmp_path / "absent.json")]) == 2
    assert "no such file" in _one_line(capsys.readouterr().err)


def test_build_error_exits_2(tmp_path, capsys):
    # Adding an 8-map convolution to the 3-map input validates but cannot be built.
    bad = network("bad", [stage(cell([node(edge("conv", 0, k=3), edge("identity", 0))]), width=8)], input_size=8)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad))
    assert main([str(path)]) == 2
    line = _one_line(capsys.readouterr().err)
    assert line.startswith("rebuild: stages[0].cell.nodes[0]: add of different channel counts")


@pytest.mark.parametrize("argv, message", [
    (["resnet50", "--variant", "v9"], "resnet50 has no variant 'v9'; variants: paper, torchvision"),
    (["resnet18", "--input-size", "abc"], "--input-size: expected a positive integer or HxW"),
    (["resnet18", "--input-size", "0"], "--input-size: expected a positive integer or HxW"),
    (["resnet18", "--num-classes", "0"], "--num-classes: expected a positive integer"),
    (["resnet18", "--export", "net.onnx"], "--export: 'net.onnx' has no known extension"),
    ([], "give a NAME"),
])
def test_usage_errors_exit_2(argv, message, capsys):
    assert main(argv) == 2
    assert message in _one_line(capsys.readouterr().err)


def test_other_size_and_classes_skip_the_checks(capsys):
    assert main(["resnet18", "--input-size", "112x96", "--num-classes", "10", "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["input_size"] == [112, 96] and record["num_classes"] == 10
    assert record["params"] == 11_689_512 - 990 * 513
    assert record["figures"] and all(f["pass"] is None and f["reason"] for f in record["figures"])


def test_export_json_then_rebuild_from_the_file(tmp_path, capsys):
    path = tmp_path / "resnet34.json"
    assert main(["resnet34", "--export", str(path), "--json"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert json.loads(path.read_text()) == resolve("resnet34").genotype
    assert main([str(path), "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["params"] == first["params"] == RESNET34_PARAMS
    assert again["macs"] == first["macs"]
    # The file holds the zoo's graph, so the zoo's figures are checked against it.
    assert again["variant"] == "paper" and [f["pass"] for f in again["figures"]] == [True, True]


def test_list_filters_and_counts(capsys):
    assert main(["--list", "resnet18"]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("resnet18 "))
    assert "11,689,512" in row and "He et al. 2016" in row
    assert main(["--list", "resnet50", "--json"]) == 0
    records = json.loads(capsys.readouterr().out)["networks"]
    assert all("resnet50" in r["name"] for r in records)
    record = next(r for r in records if r["name"] == "resnet50")
    assert record["name"] == "resnet50" and record["other_variants"] == ["torchvision"]
    assert record["params"] == 25_557_032


def test_list_covers_the_whole_zoo(capsys):
    assert main(["--list", "--json"]) == 0
    records = json.loads(capsys.readouterr().out)["networks"]
    assert [r["name"] for r in records] == list(rebuild.zoo())
    assert all(r["params"] > 0 for r in records)


def test_help_documents_the_exit_status(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--help"])
    assert stop.value.code == 0
    out = capsys.readouterr().out
    assert "exit status: 0 when every figure check passes" in out and "1 when a figure check" in out


@pytest.mark.filterwarnings("ignore:.*torch.jit.load.*deprecated")
def test_weights_and_trace_share_the_rebuilt_network(tmp_path, capsys):
    torch.manual_seed(3)
    net = build(resolve("resnet18").genotype).eval()
    torch.save(net.state_dict(), tmp_path / "weights.pth")
    assert main(["resnet18", "--weights", str(tmp_path / "weights.pth"), "--export", str(tmp_path / "net.pt")]) == 0
    out = capsys.readouterr().out
    assert "weights: 122 tensors loaded from" in out and "exported: " in out
    traced = torch.jit.load(str(tmp_path / "net.pt"))
    x = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        assert (traced(x) - net(x)).abs().max() < 1e-5


def test_a_reader_that_goes_away_is_no_traceback(tmp_path):
    """``rebuild --list | head``: the command stops quietly when its reader has gone."""
    import subprocess
    import sys

    command = f"{sys.executable} -m nasbench.rebuild vgg --list | true; exit ${{PIPESTATUS[0]}}"
    run = subprocess.run(["bash", "-c", command], cwd=tmp_path, env={**__import__("os").environ, "PYTHONPATH": str(REPO)},
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and "Traceback" not in run.stderr, run.stderr[-500:]


def test_a_nul_in_the_name_is_refused_before_export(tmp_path, capsys):
    genotype = NetworkGenotype.from_dict(network("tiny", [stage(cell([node(edge("conv", 0, k=3))]), width=4)],
                                                 input_size=8)).to_dict()
    genotype["name"] = "tiny\x00net"
    path = tmp_path / "nul.json"
    path.write_text(json.dumps(genotype))
    assert main([str(path), "--export", str(tmp_path / "net.py")]) == 2
    assert _one_line(capsys.readouterr().err).endswith("name: expected at most 256 printable characters, got 'tiny\\x00net'")
    assert not (tmp_path / "net.py").exists()


def test_files_too_large_or_too_deep_exit_2_at_once(tmp_path, capsys):
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    assert main([str(deep)]) == 2
    assert _one_line(capsys.readouterr().err).endswith("deep.json: not valid JSON: nested too deeply")
    big = tmp_path / "big.json"
    big.write_bytes(b" " * (6 * 2**20))
    assert main([str(big)]) == 2
    assert _one_line(capsys.readouterr().err).endswith("big.json: 6,291,456 bytes, more than the limit of 5,242,880")


@pytest.mark.parametrize("spelling, name", [("Resnet50", "resnet50"), ("RESNET34", "resnet34"), ("DARTS_V2", "darts_v2")])
def test_names_are_case_blind(spelling, name):
    assert resolve(spelling).name == resolve(name).name
