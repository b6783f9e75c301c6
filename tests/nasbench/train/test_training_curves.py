"""The candidates' per-epoch curves in TensorBoard event files (``RUN_DIR/tensorboard``,
one folder per trial): what the proxy trainer measured, epoch by epoch, a halving rung
that continues a candidate writing on from where it stopped."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

import nasbench
from nasbench.train.curves import TrainingCurves

pytest.importorskip("tensorboard")


def scalars(log_dir: Path) -> dict[str, list[tuple[int, float]]]:
    """Every scalar TensorBoard would show for ``log_dir``: tag -> [(step, value)], steps
    purged by a later writer left out, as TensorBoard leaves them out."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(log_dir))
    events.Reload()
    return {tag: [(e.step, e.value) for e in events.Scalars(tag)] for tag in events.Tags()["scalars"]}


def test_a_halving_search_writes_each_candidates_epochs(tmp_path):
    nasbench.search(space="nasbench201", evaluator="proxy", strategy="random", trials=6, run_dir=tmp_path,
                    overrides=["executor.scheduler=halving", "executor.eta=2", "trainer.epochs=2",
                               "space.skeleton.filters=4", "data.train_fraction=0.1", "+trainer.measure_latency=false"])
    rows = [json.loads(line) for line in (tmp_path / "history.jsonl").read_text().splitlines()]
    folders = sorted(p.name for p in (tmp_path / "tensorboard").iterdir())
    assert folders == [f"trial_{row['trial']:05d}" for row in sorted(rows, key=lambda r: r["trial"])]
    for row in rows:
        curves = scalars(tmp_path / "tensorboard" / f"trial_{row['trial']:05d}")
        curve = row["result"]["val_curve"]  # a promoted candidate's epochs come from two rungs
        assert curves["val_acc"] == [(epoch, pytest.approx(value)) for epoch, value in enumerate(curve, 1)]
        assert [step for step, _ in curves["train_loss"]] == list(range(1, len(curve) + 1))
        assert curves["train_loss"][-1][1] == pytest.approx(row["result"]["train_loss"])


def test_a_writer_started_again_at_an_epoch_replaces_what_followed(tmp_path):
    with TrainingCurves(tmp_path) as first:
        for epoch in (1, 2, 3):
            first.add(epoch, {"val_acc": epoch / 10})
    with TrainingCurves(tmp_path) as again:  # a resume from epoch 1's checkpoint, in the same second
        for epoch in (2, 3):
            again.add(epoch, {"val_acc": epoch / 100, "absent": None})
    assert scalars(tmp_path) == {"val_acc": [(1, pytest.approx(0.1)), (2, pytest.approx(0.02)),
                                             (3, pytest.approx(0.03))]}
