"""`python -m nasbench.finetune`: a new classifier for the new classes, and each mode
changes exactly the tensors it trains; frozen ones, batch-norm buffers included, stay
bitwise equal."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from nasbench.cli.finetune import main
from nasbench.train.finetune import INITIAL_WEIGHTS, finetune, load_pretrained
from nasbench.train.recipe import DataSpec, FullTrainConfig
from search_spaces.build import build_network
from search_spaces.zoo import zoo

NETWORK = "resnet20_cifar"  # three stages; 10 classes, pretrained here on nothing but a seed
RECIPE = dict(epochs=1, batch_size=4, lr=0.05, weight_decay=1e-4, cutout=0, drop_path=0.0, ema_decay=0.0,
              eval_batch_size=8)


@pytest.fixture(scope="module")
def image_folder(tmp_path_factory) -> Path:
    """Three classes × 6 PNG images of 16×16."""
    root = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(0)
    for label in range(3):
        (root / f"class{label}").mkdir()
        for index in range(6):
            pixels = rng.integers(0, 128, (16, 16, 3), dtype=np.uint8)
            pixels[..., label] += 127
            Image.fromarray(pixels).save(root / f"class{label}" / f"{index}.png")
    return root


@pytest.fixture(scope="module")
def weights_file(tmp_path_factory) -> Path:
    torch.manual_seed(0)
    network = build_network(zoo()[NETWORK].genotype())
    path = tmp_path_factory.mktemp("weights") / "resnet20.pth"
    torch.save(network.state_dict(), path)
    return path


def data(folder: Path) -> DataSpec:
    return DataSpec(name=str(folder), resolution=16, val_fraction=0.2)


def before_and_after(output: Path) -> tuple[dict, dict]:
    before = torch.load(output / INITIAL_WEIGHTS, weights_only=True)
    after = torch.load(output / "model.pt", weights_only=True)["model"]
    assert before.keys() == after.keys()
    return before, after


@pytest.mark.parametrize("mode, stages, trained", [
    ("linear", 0, ("head.layers.0.",)),
    ("partial", 1, ("stages.2.", "head.")),
    ("full", 0, ("",)),
])
def test_each_mode_changes_exactly_what_it_trains(tmp_path, image_folder, weights_file, mode, stages, trained):
    pretrained = load_pretrained(NETWORK, str(weights_file))
    outcome = finetune(pretrained, data(image_folder), mode, tmp_path, stages=stages,
                       config=FullTrainConfig(**RECIPE))
    assert outcome.status == "finished"
    before, after = before_and_after(tmp_path)
    assert before["head.layers.0.weight"].shape == (3, 64)  # the new classifier: 3 classes
    for key, value in before.items():
        if key.startswith("head.layers.0."):
            continue  # freshly initialised
        assert torch.equal(value, pretrained.state[key]), f"{key} was not loaded from the weights"
    changed = {key for key in before if not torch.equal(before[key], after[key])}
    expected = {key for key in before if key.startswith(trained)}
    assert changed == expected
    # Frozen batch norms kept their statistics (not only their affine parameters).
    frozen_buffers = [k for k in before if k.endswith(("running_mean", "num_batches_tracked")) and k not in expected]
    assert (len(frozen_buffers) > 0) == (mode != "full")
    assert outcome.final["trainable_params"] == sum(before[k].numel() for k in expected if not _is_buffer(k))


def _is_buffer(key: str) -> bool:
    return key.endswith(("running_mean", "running_var", "num_batches_tracked"))


def test_finetune_a_nasbench_train_run_from_the_command_line(tmp_path, image_folder, weights_file, capsys):
    first = tmp_path / "first"
    argv = ["--data", str(image_folder), "--resolution", "16", "--val-fraction", "0.2", "--epochs", "1",
            "--batch-size", "4", "--json"]
    assert main([NETWORK, "--weights", str(weights_file), "--mode", "full", "--ema-decay", "0.5",
                 "--output", str(first), *argv]) == 0
    capsys.readouterr()
    second = tmp_path / "second"
    assert main([str(first), "--ema", "--mode", "linear", "--output", str(second), *argv]) == 0
    printed = capsys.readouterr()
    final = json.loads(printed.out)
    assert "finetune: finished after epoch 1/1" in printed.err and "train: " not in printed.err
    assert final["status"] == "finished" and final["trainable_params"] == 3 * 64 + 3
    ema = torch.load(first / "model.pt", weights_only=True)["ema"]
    before, after = before_and_after(second)
    assert all(torch.equal(before[k], ema[k]) for k in before if not k.startswith("head.layers.0."))


@pytest.mark.parametrize("argv, message", [
    ([NETWORK, "--mode", "linear"], "resnet20_cifar: give its trained weights with --weights PATH"),
    ([NETWORK, "--weights", "WEIGHTS", "--mode", "partial"], "--mode partial needs --stages K"),
    ([NETWORK, "--weights", "WEIGHTS", "--mode", "partial", "--stages", "4"], "--stages: 4 is not in 1..3"),
    (["nowhere_net", "--mode", "full"], "unknown network 'nowhere_net'"),
])
def test_usage_errors(tmp_path, image_folder, weights_file, capsys, argv, message):
    argv = [str(weights_file) if arg == "WEIGHTS" else arg for arg in argv]
    assert main([*argv, "--data", str(image_folder), "--output", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err
