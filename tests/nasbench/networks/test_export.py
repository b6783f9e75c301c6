"""``--export``: the genotype JSON, TorchScript, and a standalone ``.py`` that runs where
nasbench cannot be imported and loads the rebuilt network's state_dict strictly."""
from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from nasbench.core.errors import ExportError
from nasbench.networks.export import export_network, export_torchscript, standalone_source
from nasbench.cli.rebuild import main
from nasbench.networks.rebuild import build
from nasbench.networks.resolve import resolve
from search_spaces.dsl import aux_head, cell, edge, head, layer, network, node, stage
from search_spaces.genotype import NetworkGenotype
from search_spaces.zoo import zoo

REPO = Path(__file__).resolve().parents[3]


# Imports the exported file and runs it where neither nasbench nor search_spaces can be
# imported: the repository is not on sys.path, and since an editable install of nasbench
# finds it from anywhere, an import hook placed first refuses both.
RUNNER = '''
import runpy, sys
REPO = {repo!r}
assert not any(p and p.rstrip("/") == REPO for p in sys.path), sys.path


class Refuse:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("nasbench", "search_spaces"):
            raise ImportError(name + " must not be needed")
        return None


sys.meta_path.insert(0, Refuse())
for name in ("nasbench", "search_spaces"):
    try:
        __import__(name)
    except ImportError:
        pass
    else:
        raise SystemExit(name + " is importable")
import torch
import net

net.MODEL.load_state_dict(torch.load("state.pt"), strict=True)
net.MODEL.eval()
with torch.no_grad():
    torch.save(net.MODEL(torch.load("x.pt")), "out.pt")
runpy.run_path("net.py", run_name="__main__")
'''


def nasnet_like() -> dict:
    """A small NASNet-style network: 2-input cells of separable convolutions, poolings and
    skips; a reduction stage (factorized skips, and a factorized preprocessing after it);
    an auxiliary head."""
    def sep(i: int, k: int = 3) -> dict:
        return edge("sep_conv", i, k=k, repeats=2)

    normal = cell([node(sep(0), edge("skip", 1)),
                   node(edge("max_pool", 0, k=3), sep(1, 5)),
                   node(edge("avg_pool", 2, k=3), edge("skip", 0))], output=[2, 3, 4], inputs=2)
    reduction = cell([node(sep(0, 5), sep(1)),
                      node(edge("max_pool", 0, k=3), edge("skip", 1, projection="factorized")),
                      node(edge("skip", 2), sep(3))], output=[2, 3, 4], inputs=2)
    return network("nasnet_like", [stage(normal, 2, width=8), stage(reduction, width=16, stride=2),
                                   stage(normal, 2, width=16)],
                   stem=[layer("conv", 24, k=3)], input_size=32, num_classes=10,
                   aux_heads=[aux_head(1, [layer("avg_pool", stride=3, k=5, padding=0), layer("conv", 32, k=1)],
                                       head("avg"))])


def _genotype(name: str) -> dict:
    if name == "nasnet_like":
        return NetworkGenotype.from_dict(nasnet_like()).to_dict()
    if name not in zoo():
        pytest.skip(f"{name} is not in the zoo")
    return resolve(name).genotype


def _randomize_batch_norm(network: torch.nn.Module) -> None:
    """Make the batch-norm buffers matter: running statistics away from 0 and 1."""
    generator = torch.Generator().manual_seed(7)
    for module in network.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.copy_(0.1 * torch.randn(module.num_features, generator=generator))
            module.running_var.copy_(0.5 + torch.rand(module.num_features, generator=generator))
            module.num_batches_tracked.fill_(5)


@pytest.mark.parametrize("name", ["resnet34", "densenet121", "nasnet_like"])
def test_standalone_python_file(name, tmp_path, capsys):
    genotype = _genotype(name)
    torch.manual_seed(0)
    net = build(genotype).eval()
    _randomize_batch_norm(net)
    torch.save(net.state_dict(), tmp_path / "state.pt")
    x = torch.randn(1, genotype["input_channels"], *genotype["input_size"])
    torch.save(x, tmp_path / "x.pt")
    if name == "nasnet_like":
        export_network(tmp_path / "net.py", genotype)
    else:
        assert main([name, "--export", str(tmp_path / "net.py")]) == 0
        assert f"exported: {tmp_path / 'net.py'} (standalone PyTorch source)" in capsys.readouterr().out
    (tmp_path / "runner.py").write_text(RUNNER.format(repo=str(REPO)))
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "PYTHONHOME")}
    env["OMP_NUM_THREADS"] = "1"
    done = subprocess.run([sys.executable, "-E", "-s", "runner.py"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    params = sum(p.numel() for p in net.parameters())
    assert done.stdout.strip() == (f"{genotype['name']}: {params:,} parameters, input {tuple(x.shape)} "
                                   f"-> output (1, {genotype['num_classes']})")
    with torch.no_grad():
        expected = net(x)
    assert (torch.load(tmp_path / "out.pt") - expected).abs().max() < 1e-5


def test_standalone_source_imports_torch_and_the_standard_library_only():
    source = standalone_source(_genotype("nasnet_like"))
    roots = set()
    for statement in ast.walk(ast.parse(source)):
        if isinstance(statement, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in statement.names)
        elif isinstance(statement, ast.ImportFrom):
            assert statement.level == 0
            roots.add((statement.module or "").split(".")[0])
    assert "torch" in roots
    assert all(root == "torch" or root in sys.stdlib_module_names for root in roots), roots
    assert source.count("from __future__ import annotations") == 1


def test_standalone_module_builds_the_same_parameter_names(tmp_path):
    genotype = _genotype("nasnet_like")
    source = standalone_source(genotype)
    namespace: dict = {"__name__": "standalone_net"}
    exec(compile(source, "net.py", "exec"), namespace)
    ours = build(genotype)
    theirs = namespace["build"]()
    assert [(k, tuple(v.shape)) for k, v in theirs.state_dict().items()] == \
           [(k, tuple(v.shape)) for k, v in ours.state_dict().items()]
    assert namespace["GENOTYPE"] == genotype


@pytest.mark.filterwarnings("ignore:.*torch.jit.load.*deprecated")
def test_torchscript_of_a_two_input_cell_network(tmp_path):
    genotype = _genotype("nasnet_like")
    torch.manual_seed(1)
    net = build(genotype)
    _randomize_batch_norm(net)
    net.train()  # export traces in eval mode and gives the training mode back
    export_network(tmp_path / "net.pt", genotype, net)
    assert net.training
    loaded = torch.jit.load(str(tmp_path / "net.pt"))
    x = torch.randn(3, 3, 32, 32)
    net.eval()
    with torch.no_grad():
        assert (loaded(x) - net(x)).abs().max() < 1e-5


@pytest.mark.filterwarnings("ignore:.*torch.jit.load.*deprecated")
def test_torchscript_of_resnet18(tmp_path):
    torch.manual_seed(2)
    net = build(resolve("resnet18").genotype).eval()
    export_torchscript(net, tmp_path / "r18.pt")
    loaded = torch.jit.load(str(tmp_path / "r18.pt"))
    x = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        assert (loaded(x) - net(x)).abs().max() < 1e-5


def test_torch_export_program_takes_any_batch_size(tmp_path):
    torch.manual_seed(4)
    net = _randomized_eval(build(resolve("resnet20_cifar").genotype))
    assert export_network(tmp_path / "net.pt2", resolve("resnet20_cifar").genotype, net).startswith("torch.export")
    program = torch.export.load(str(tmp_path / "net.pt2")).module()
    for batch in (1, 4):
        x = torch.randn(batch, 3, 32, 32)
        with torch.no_grad():
            assert (program(x) - net(x)).abs().max() < 1e-5


def _randomized_eval(network: torch.nn.Module) -> torch.nn.Module:
    _randomize_batch_norm(network)
    return network.eval()


def test_genotype_json_is_the_validated_dict(tmp_path):
    genotype = _genotype("nasnet_like")
    export_network(tmp_path / "net.json", genotype)
    assert json.loads((tmp_path / "net.json").read_text()) == genotype
    assert NetworkGenotype.load(tmp_path / "net.json").to_dict() == genotype


def test_unknown_extension_and_unwritable_path():
    genotype = _genotype("nasnet_like")
    with pytest.raises(ExportError, match="no known extension"):
        export_network("net.onnx", genotype)
    with pytest.raises(ExportError, match="cannot write"):
        export_network("/nonexistent-dir/net.json", genotype)
