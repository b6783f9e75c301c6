"""The README's walk-through on a user's own images, end to end on generated PNGs: search
on the folder, transfer the best cell, train it, fine-tune it on another folder, and
export it as a standalone ``.py`` that loads the trained weights."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from nasbench.cli.finetune import main as finetune
from nasbench.cli.rebuild import main as rebuild
from nasbench.cli.search import main as search
from nasbench.cli.train import main as train
from nasbench.cli.transfer import main as transfer

SMALL_NET = ["--target", "cifar", "--cells", "1", "--filters", "4", "--no-aux"]
TRAINING = ["--resolution", "8", "--epochs", "1", "--batch-size", "8", "--device", "cpu"]


def image_folder(root: Path, classes: tuple[str, ...], per_class: int) -> Path:
    """One subfolder of PNGs per class; class k's images are bright in channel k % 3."""
    for label, name in enumerate(classes):
        (root / name).mkdir(parents=True)
        rng = np.random.default_rng(label)
        for index in range(per_class):
            pixels = rng.integers(0, 100, (10, 10, 3), dtype=np.uint8)
            pixels[..., label % 3] += 150
            Image.fromarray(pixels).save(root / name / f"{index:02d}.png")
    return root


@pytest.mark.slow  # about 40 s on 2 idle cores: python -m pytest -m slow
def test_search_transfer_train_finetune_export_on_an_image_folder(tmp_path, capsys):
    mine = image_folder(tmp_path / "mine", ("cat", "dog", "eel"), 8)
    other = image_folder(tmp_path / "other", ("x", "y"), 6)
    run = tmp_path / "run"
    assert search(["+space=nasnet", "data=image_folder", f"data.root={mine}", "data.resolution=8",
                   "trainer.epochs=1", "+trainer.measure_latency=false", "budget.trials=2", "progress=false",
                   "space.skeleton.cells_per_stage=1", "space.skeleton.filters=4", f"hydra.run.dir={run}"]) == 0
    assert json.loads((run / "best.json").read_text())["inputs"]["num_classes"] == 3

    network = tmp_path / "network.json"
    assert transfer([str(run), *SMALL_NET, "--num-classes", "3", "--input-size", "8",
                     "--export", str(network)]) == 0
    assert train([str(run), *SMALL_NET, "--data", "image_folder", "--data-root", str(mine), *TRAINING,
                  "--output", str(tmp_path / "trained")]) == 0
    trained = json.loads((tmp_path / "trained" / "final.json").read_text())
    assert trained["status"] == "finished" and trained["epochs_done"] == 1
    assert finetune([str(tmp_path / "trained"), "--data", "image_folder", "--data-root", str(other), *TRAINING,
                     "--output", str(tmp_path / "tuned")]) == 0
    assert json.loads((tmp_path / "tuned" / "final.json").read_text())["status"] == "finished"

    source = tmp_path / "net.py"
    assert rebuild([str(network), "--export", str(source)]) == 0
    spec = importlib.util.spec_from_file_location("exported_net", source)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    standalone = module.build().eval()
    saved = torch.load(tmp_path / "trained" / "model.pt", weights_only=True)
    standalone.load_state_dict(saved["model"], strict=True)  # the trained weights, name for name
    capsys.readouterr()
    assert standalone(torch.rand(2, 3, 8, 8)).shape == (2, 3)
