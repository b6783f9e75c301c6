"""`python -m nasbench.train`: the image-folder loader, checkpoints every epoch, a stopped
run that resumes to the same weights as an uninterrupted one, and a two-worker Ray Train
(DDP on gloo) run that writes checkpoints and resumes from them."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from nasbench.data.image_folder import load_image_folder
from nasbench.core.errors import UsageError
from nasbench.train.checkpoint import load_checkpoint, read_metrics
from nasbench.cli.train import main
from nasbench.train.loop import train_full
from nasbench.train.plan import plan_network
from nasbench.train.recipe import DataSpec, FullTrainConfig, TrainJob
from nasbench.networks.transfer import SkeletonSettings

TIMING = ("epoch_seconds", "images_per_second")


def write_image_folder(root: Path, classes: int = 2, per_class: int = 8, size: int = 16) -> Path:
    """``classes`` × ``per_class`` PNG images; class c has a bright channel c."""
    rng = np.random.default_rng(0)
    for label in range(classes):
        folder = root / f"class{label}"
        folder.mkdir(parents=True)
        for index in range(per_class):
            pixels = rng.integers(0, 128, (size, size, 3), dtype=np.uint8)
            pixels[..., label % 3] += 127
            Image.fromarray(pixels).save(folder / f"{index:02d}.png")
    return root


@pytest.fixture(scope="module")
def image_folder(tmp_path_factory) -> Path:
    return write_image_folder(tmp_path_factory.mktemp("images") / "folder")


@pytest.fixture(scope="module")
def ray_two_cpus():
    """Ray with two CPUs for two training workers; reuses a Ray already started (by a
    session fixture) and shuts down only the one it started."""
    ray = pytest.importorskip("ray")
    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    if ray.cluster_resources().get("CPU", 0) < 2:
        pytest.skip("Ray has fewer than two CPUs")
    yield ray
    if started:
        ray.shutdown()


def tiny_job(folder: Path, output: Path, **settings) -> TrainJob:
    """NASNet-A, one cell per stage at 4 filters, with its auxiliary head, on 16×16 images:
    drop-path, cutout, label smoothing and EMA all on, so every source of randomness runs."""
    recipe = dict(epochs=2, batch_size=4, lr=0.05, cutout=4, drop_path=0.3, label_smoothing=0.1,
                  ema_decay=0.9, eval_batch_size=8)
    recipe.update(settings)
    plan, _ = plan_network("nasnet_a", DataSpec(name=str(folder), val_fraction=0.25),
                           SkeletonSettings(target="cifar", cells=1, filters=4, aux=True))
    return TrainJob(plan.name, plan.genotype, plan.data, FullTrainConfig(**recipe), str(output), source=plan.source)


def weights(output: Path) -> dict[str, dict[str, torch.Tensor]]:
    state = torch.load(output / "model.pt", map_location="cpu", weights_only=True)
    return {"model": state["model"], "ema": state["ema"]}


def same_weights(a: dict, b: dict) -> bool:
    return all(a[part].keys() == b[part].keys() and all(torch.equal(a[part][k], b[part][k]) for k in a[part])
               for part in ("model", "ema"))


def without_timing(records):
    return [{k: v for k, v in record.items() if k not in TIMING} for record in records]


def test_image_folder_splits(tmp_path, image_folder):
    splits = load_image_folder(image_folder, seed=0, val_fraction=0.25)
    assert splits.num_classes == 2 and splits.input_shape == (3, 16, 16)
    assert (len(splits.train[1]), len(splits.val[1]), len(splits.test[1])) == (12, 4, 0)
    again = load_image_folder(image_folder, seed=0, val_fraction=0.25)
    assert torch.equal(splits.val[0], again.val[0]) and torch.equal(splits.val[1], again.val[1])
    other = load_image_folder(image_folder, seed=1, val_fraction=0.25)
    assert not torch.equal(splits.val[0], other.val[0])
    assert load_image_folder(image_folder, resolution=8, val_fraction=0.25).input_shape == (3, 8, 8)
    # ImageNet's layout: train/CLASS and val/CLASS; val becomes the test split.
    imagenet = tmp_path / "imagenet"
    write_image_folder(imagenet / "train", per_class=5, size=20)
    write_image_folder(imagenet / "val", per_class=2, size=24)
    splits = load_image_folder(imagenet, resolution=12)
    assert splits.input_shape == (3, 12, 12) and len(splits.test[1]) == 4
    assert len(splits.train[1]) + len(splits.val[1]) == 10


def test_stopped_run_resumes_to_the_same_weights(tmp_path, image_folder):
    whole = train_full(tiny_job(image_folder, tmp_path / "whole"), log=lambda line: None)
    assert (whole.status, whole.epochs_done, whole.steps) == ("finished", 2, 6)
    stopped = train_full(tiny_job(image_folder, tmp_path / "killed"), stop_after_epoch=1, log=lambda line: None)
    assert (stopped.status, stopped.epochs_done, stopped.steps) == ("stopped", 1, 3)
    checkpoint = load_checkpoint(tmp_path / "killed")
    assert (checkpoint["epoch"], checkpoint["step"]) == (1, 3)
    assert checkpoint["ema"] is not None and checkpoint["optimizer"]["state"]
    # A kill after the metrics line of epoch 2 but before its checkpoint: the line is dropped.
    with open(tmp_path / "killed" / "metrics.jsonl", "a") as stream:
        stream.write(json.dumps({"epoch": 2, "step": 6}) + "\n")
    resumed = train_full(tiny_job(image_folder, tmp_path / "killed"), log=lambda line: None)
    assert (resumed.status, resumed.epochs_done, resumed.steps) == ("finished", 2, 6)
    assert same_weights(weights(tmp_path / "whole"), weights(tmp_path / "killed"))
    assert without_timing(read_metrics(tmp_path / "whole")) == without_timing(read_metrics(tmp_path / "killed"))
    assert [r["step"] for r in read_metrics(tmp_path / "killed")] == [3, 6]


def test_a_resumed_run_keeps_its_recipe(tmp_path, image_folder):
    train_full(tiny_job(image_folder, tmp_path, epochs=1), log=lambda line: None)
    with pytest.raises(UsageError, match=r"config.lr=0.1 differs from the checkpoint's 0.05"):
        train_full(tiny_job(image_folder, tmp_path, epochs=1, lr=0.1), log=lambda line: None)


def test_cli_trains_and_resumes(tmp_path, image_folder, capsys):
    common = ["--data", str(image_folder), "--val-fraction", "0.25", "--epochs", "2", "--batch-size", "4",
              "--cells", "1", "--filters", "4", "--no-aux", "--output", str(tmp_path)]
    assert main(["darts_v2", *common, "--stop-after-epoch", "1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "stopped"
    assert main(["--resume", str(tmp_path), "--lr", "1"]) == 2
    assert "--lr 1.0 differs from the checkpoint's 0.025" in capsys.readouterr().err
    assert main(["--resume", str(tmp_path), "--json"]) == 0
    final = json.loads(capsys.readouterr().out)
    assert (final["status"], final["steps"], final["epochs_done"]) == ("finished", 6, 2)
    assert main(["nasnet_b", "--data", str(image_folder)]) == 2
    assert "unknown network 'nasnet_b'; did you mean nasnet_a?" in capsys.readouterr().err
    assert main(["darts_v2", "--data", str(tmp_path / "nowhere")]) == 2


@pytest.mark.slow  # 20-60 s on 2 cores: python -m pytest -m slow
def test_two_ray_workers_train_checkpoint_and_resume(tmp_path, image_folder, ray_two_cpus):
    # One Ray Train start (each costs tens of seconds here): two DDP workers on gloo train
    # the first epoch of two and checkpoint it; the run then resumes in this process
    # (execution settings may change on resume) with the same global step count.
    job = tiny_job(image_folder, tmp_path, num_workers=2, backend="gloo")
    stopped = train_full(job, stop_after_epoch=1)
    assert (stopped.status, stopped.steps, stopped.final["workers"]) == ("stopped", 3, 2)
    checkpoint = load_checkpoint(tmp_path)
    assert (checkpoint["epoch"], checkpoint["step"]) == (1, 3)
    assert list((tmp_path / "ray").glob("train-0/checkpoint_*/checkpoint.pt"))  # reported to Ray too
    finished = train_full(tiny_job(image_folder, tmp_path, num_workers=1), log=lambda line: None)
    assert (finished.status, finished.epochs_done, finished.steps) == ("finished", 2, 6)
    assert [r["step"] for r in read_metrics(tmp_path)] == [3, 6]
    assert (tmp_path / "model.pt").is_file() and load_checkpoint(tmp_path)["epoch"] == 2


@pytest.mark.slow  # 20-60 s on 2 cores: python -m pytest -m slow
def test_sigkilled_training_resumes_to_the_same_weights(tmp_path, image_folder):
    """A real SIGKILL of `python -m nasbench.train` once it has a checkpoint; the same
    command again resumes from it and ends where an uninterrupted run ends."""
    import os
    import signal
    import subprocess
    import sys
    import time

    def command(output: Path) -> list[str]:
        return [sys.executable, "-m", "nasbench.train", "darts_v2", "--data", str(image_folder), "--val-fraction",
                "0.25", "--epochs", "25", "--batch-size", "4", "--cells", "1", "--filters", "4", "--no-aux",
                "--output", str(output), "--json"]

    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    killed = tmp_path / "killed"
    process = subprocess.Popen(command(killed), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and not (killed / "checkpoint.pt").exists():
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert (killed / "checkpoint.pt").exists() and not (killed / "final.json").exists()
    epoch_at_kill = load_checkpoint(killed)["epoch"]
    assert 1 <= epoch_at_kill < 25
    resumed = subprocess.run(command(killed), env=env, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    whole = subprocess.run(command(tmp_path / "whole"), env=env, capture_output=True, text=True, timeout=300)
    assert json.loads(resumed.stdout)["steps"] == json.loads(whole.stdout)["steps"] == 75
    assert same_weights(weights(tmp_path / "whole"), weights(killed))
    assert [r["step"] for r in read_metrics(killed)] == [3 * epoch for epoch in range(1, 26)]


def test_more_ray_workers_than_the_cluster_holds_are_refused_in_one_line(tmp_path, image_folder, ray_session):
    from nasbench.train.errors import TrainError

    with pytest.raises(TrainError, match="num_workers=3: the Ray cluster has room for 2 workers of 1 CPU each"):
        train_full(tiny_job(image_folder, tmp_path, num_workers=3, batch_size=6, backend="gloo"), log=lambda line: None)


def test_each_epoch_lands_in_tensorboard_and_a_resumed_run_writes_on(tmp_path, image_folder):
    pytest.importorskip("tensorboard")
    from tests.nasbench.train.test_training_curves import scalars

    output = tmp_path / "run"
    train_full(tiny_job(image_folder, output, epochs=3), stop_after_epoch=2, log=lambda line: None)
    assert load_checkpoint(output)["epoch"] == 2
    train_full(tiny_job(image_folder, output, epochs=3), log=lambda line: None)
    metrics = read_metrics(output / "metrics.jsonl")
    curves = scalars(output / "tensorboard")
    assert {"train_loss", "train_acc", "val_acc", "ema_val_acc", "lr"} <= set(curves)
    assert curves["val_acc"] == [(m["epoch"], pytest.approx(m["val_acc"])) for m in metrics]
    assert [step for step, _ in curves["train_loss"]] == [1, 2, 3]


def test_resuming_a_finished_run_says_it_is_finished(tmp_path, image_folder):
    lines: list[str] = []
    train_full(tiny_job(image_folder, tmp_path / "run", epochs=1), log=lines.append)
    before = (tmp_path / "run" / "model.pt").read_bytes()
    lines.clear()
    outcome = train_full(tiny_job(image_folder, tmp_path / "run", epochs=1), log=lines.append)
    assert outcome.status == "finished" and outcome.epochs_done == 1
    assert lines[0].startswith("train: ") and "already finished its 1 epochs" in lines[0]
    assert not any(line.startswith("train: resuming") for line in lines), lines
    assert (tmp_path / "run" / "model.pt").read_bytes() == before
