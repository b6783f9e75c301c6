"""A file that would run code when unpickled runs nothing, wherever nasbench reads one:
``--weights`` (rebuild, finetune), a training checkpoint (train --resume, finetune), and
each is refused with one line. (The strategy state and CIFAR batches have their own
tests: test_state_files.py and data/test_data.py.)"""
from __future__ import annotations

import pathlib

import pytest
import torch

from nasbench.cli.finetune import main as finetune_main
from nasbench.cli.rebuild import main as rebuild_main
from nasbench.cli.train import main as train_main


class Planted:
    """Unpickling this creates the marker file."""

    def __init__(self, marker: pathlib.Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (pathlib.Path.touch, (self.marker,))


@pytest.fixture()
def crafted(tmp_path):
    marker = tmp_path / "ran"
    path = tmp_path / "crafted.pt"
    torch.save({"model": Planted(marker), "state_dict": Planted(marker)}, path)
    return path, marker


def one_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


def test_weights_file(crafted, capsys):
    path, marker = crafted
    assert rebuild_main(["resnet18", "--weights", str(path)]) == 2
    assert "is not a state_dict file" in one_line(capsys) and not marker.exists()
    assert finetune_main(["resnet18", "--weights", str(path), "--data", "digits"]) == 2
    assert one_line(capsys) and not marker.exists()


@pytest.mark.parametrize("name", ["checkpoint.pt", "model.pt"])
def test_training_checkpoint(crafted, tmp_path, capsys, name):
    path, marker = crafted
    run = tmp_path / "train-run"
    run.mkdir()
    (run / name).write_bytes(path.read_bytes())
    assert finetune_main([str(run), "--data", "digits", "--mode", "linear"]) == 2
    assert one_line(capsys) and not marker.exists()
    if name == "checkpoint.pt":
        assert train_main(["--resume", str(run)]) == 2
        assert one_line(capsys) and not marker.exists()
