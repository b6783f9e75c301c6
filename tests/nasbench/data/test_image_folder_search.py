"""A search on a user's own image folder (``data=image_folder data.root=DIR``), and the
one-line refusals of folders that cannot be searched on."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from nasbench.data import DATASETS, ImageFolderError, check_dataset, load_dataset
import nasbench
from nasbench.cli.search import main

TINY_NASNET = ["space.skeleton.cells_per_stage=1", "space.skeleton.filters=4"]


def write_pngs(folder: Path, count: int, label: int, size: int = 10) -> None:
    """``count`` PNGs whose channel ``label % 3`` is bright (a learnable class signal)."""
    rng = np.random.default_rng(label)
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(count):
        pixels = rng.integers(0, 100, (size, size, 3), dtype=np.uint8)
        pixels[..., label % 3] += 150
        Image.fromarray(pixels).save(folder / f"{index:02d}.png")


@pytest.fixture(scope="module")
def three_classes(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("images") / "mine"
    for label, name in enumerate(("cat", "dog", "eel")):
        write_pngs(root / name, 8, label)
    return root


def test_registered_and_loaded_like_every_data_set(three_classes):
    assert "image_folder" in DATASETS
    splits = load_dataset("image_folder", three_classes, seed=0, resolution=8)
    assert splits.num_classes == 3 and splits.input_shape == (3, 8, 8)
    assert len(splits.train[1]) + len(splits.val[1]) == 24 and len(splits.test[1]) == 0


def test_train_and_val_subfolders(tmp_path):
    for label, name in enumerate(("a", "b")):
        write_pngs(tmp_path / "train" / name, 6, label)
        write_pngs(tmp_path / "val" / name, 2, label)
    splits = load_dataset("image_folder", tmp_path, resolution=8)
    assert len(splits.test[1]) == 4 and len(splits.train[1]) + len(splits.val[1]) == 12


def test_search_api_on_an_image_folder(three_classes):
    outcome = nasbench.search("nasnet", strategy="random", data="image_folder", trials=1,
                              overrides=[f"data.root={three_classes}", "data.resolution=8", "trainer.epochs=1",
                                         "+trainer.measure_latency=false", *TINY_NASNET])
    assert [record.result.status for record in outcome.history] == ["ok"]
    assert outcome.history[0].result.settings["data"]["name"] == "image_folder"


@pytest.mark.slow
def test_search_command_on_an_image_folder(tmp_path, three_classes, capsys):
    run_dir = tmp_path / "run"
    code = main(["+space=nasnet", "data=image_folder", f"data.root={three_classes}", "data.resolution=8",
                 "trainer.epochs=1", "+trainer.measure_latency=false", "budget.trials=2", "progress=false",
                 *TINY_NASNET, f"hydra.run.dir={run_dir}"])
    assert code == 0, capsys.readouterr().err
    rows = [json.loads(line) for line in (run_dir / "history.jsonl").read_text().splitlines()]
    assert [row["status"] for row in rows] == ["ok", "ok"]
    best = json.loads((run_dir / "best.json").read_text())
    assert best["inputs"] == {"num_classes": 3, "input_size": 8, "input_channels": 3}


def bad_folders(root: Path) -> dict[str, tuple[Path, str]]:
    """Folders that cannot be searched on, each with the start of its one-line refusal."""
    write_pngs(root / "one_empty" / "full", 3, 0)
    (root / "one_empty" / "hollow").mkdir()
    write_pngs(root / "one_class" / "only", 3, 0)
    (root / "no_classes").mkdir()
    (root / "no_classes" / "stray.png").write_bytes(b"")
    write_pngs(root / "unreadable" / "a", 2, 0)
    write_pngs(root / "unreadable" / "b", 2, 1)
    (root / "unreadable" / "b" / "01.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(40))  # a header, then zeros
    return {
        "unreadable": (root / "unreadable", f"{root / 'unreadable' / 'b' / '01.png'}: not a readable image"),
        "missing": (root / "nowhere", "image folder"),
        "no_classes": (root / "no_classes", f"{root / 'no_classes'}: no class subfolders"),
        "empty_class": (root / "one_empty", f"{root / 'one_empty'}: class 'hollow' has no images"),
        "one_class": (root / "one_class", f"{root / 'one_class'}: expected a subfolder of images per class"),
    }


@pytest.mark.parametrize("case", ["missing", "no_classes", "empty_class", "one_class", "unreadable"])
def test_bad_folder_is_refused_with_one_line(tmp_path, case):
    folder, message = bad_folders(tmp_path)[case]
    with pytest.raises((ImageFolderError, FileNotFoundError)) as refused:
        check_dataset("image_folder", folder)
    assert str(refused.value).startswith(message) and "\n" not in str(refused.value)


def test_bad_folder_stops_the_search_command_with_exit_2(tmp_path, capsys):
    folder, message = bad_folders(tmp_path)["empty_class"]
    with pytest.raises(SystemExit) as stopped:
        main(["+space=nasnet", "data=image_folder", f"data.root={folder}", "progress=false",
              f"hydra.run.dir={tmp_path / 'run'}"])
    assert stopped.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"search: {message}") and "\n" not in err
    assert not (tmp_path / "run").exists()  # a refused search leaves no run directory


def test_no_root_is_refused_with_its_setting_named():
    with pytest.raises(ImageFolderError, match="data.root=DIR"):
        check_dataset("image_folder", None)
