"""The run's Optuna journal (``RUN_DIR/history.journal``): one trial per history row, with
the point's choices as parameters, the objectives as values, the state a scheduler's stop
gives; rebuilt from the history when deleted, damaged, ahead or another run's; and a
mirror that cannot write never stops a search."""
from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend
from optuna.trial import TrialState

import nasbench
from nasbench.run.journal import DAMAGED, JOURNAL, JournalMirror
from nasbench.run.store import RunStore
from nasbench.view.runs import rebuild_mirror
from search_spaces.spaces import make_space

ROOT = Path(__file__).resolve().parents[3]
TABLE = dict(space="nasbench201", evaluator="nasbench201")


def journal_study(run_dir: Path) -> optuna.Study:
    storage = JournalStorage(JournalFileBackend(str(run_dir / JOURNAL)))
    (name,) = optuna.get_all_study_names(storage)
    return optuna.load_study(study_name=name, storage=storage)


def journal_trials(run_dir: Path) -> list[optuna.trial.FrozenTrial]:
    return journal_study(run_dir).trials


def history_rows(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "history.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def evolution_run(tmp_path_factory) -> Path:
    run_dir = tmp_path_factory.mktemp("runs") / "evolution"
    nasbench.search(**TABLE, strategy="evolution", trials=20, run_dir=run_dir)
    return run_dir


def test_each_row_is_a_trial_with_the_points_choices_and_its_value(evolution_run):
    trials, rows = journal_trials(evolution_run), history_rows(evolution_run)
    assert len(trials) == len(rows) == 20
    space = make_space("nasbench201")
    for trial, row in zip(trials, rows):
        assert trial.state == TrialState.COMPLETE and trial.values == [row["result"]["val_acc"]]
        assert space.decode([space.decisions()[i].choices.index(trial.params[d.name])
                             for i, d in enumerate(space.decisions())]) == row["point"]
        assert trial.user_attrs["key"] == row["key"] and trial.user_attrs["params"] == row["result"]["params"]
        assert trial.user_attrs["macs"] == row["result"]["macs"] and trial.user_attrs["cell"] == row["point"]
    best = json.loads((evolution_run / "best.json").read_text())
    study = journal_study(evolution_run)
    assert study.best_value == best["result"]["val_acc"] and study.best_trial.user_attrs["key"] == best["key"]
    assert study.metric_names == ["val_acc"] and study.study_name == "/".join(evolution_run.parts[-2:])


def test_a_deleted_damaged_or_foreign_journal_is_rebuilt_from_the_history(evolution_run, tmp_path):
    expected = [(t.values, t.params) for t in journal_trials(evolution_run)]
    run = tmp_path / "copy"
    run.mkdir()
    for name in ("history.jsonl", "config.yaml"):
        (run / name).write_bytes((evolution_run / name).read_bytes())
    assert rebuild_mirror(run) == 20  # no journal: built
    assert [(t.values, t.params) for t in journal_trials(run)] == expected
    assert rebuild_mirror(run) == 0  # up to date: nothing added
    (run / JOURNAL).write_bytes(b'{"op_code": 0, "worker_id": "x"\n\x00garbage\n')  # damaged
    assert rebuild_mirror(run) == 20 and (run / DAMAGED).exists()
    assert [(t.values, t.params) for t in journal_trials(run)] == expected
    rows = (run / "history.jsonl").read_text().splitlines()
    (run / "history.jsonl").write_text("\n".join(rows[:5]) + "\n")  # the journal is now ahead of its history
    assert rebuild_mirror(run) == 5 and len(journal_trials(run)) == 5
    (run / "history.jsonl").write_text("\n".join(rows[10:15]) + "\n")  # another run's rows, as many
    assert rebuild_mirror(run) == 5
    assert [t.user_attrs["trial"] for t in journal_trials(run)] == list(range(10, 15))


def test_a_journal_lock_left_by_a_killed_process_does_not_stall_the_next(evolution_run, tmp_path):
    run = tmp_path / "copy"
    run.mkdir()
    for name in ("history.jsonl", "config.yaml"):
        (run / name).write_bytes((evolution_run / name).read_bytes())
    os.symlink(run / JOURNAL, run / (JOURNAL + ".lock"))  # what Optuna's lock is, left behind
    started = time.perf_counter()
    assert rebuild_mirror(run) == 20
    assert time.perf_counter() - started < 10  # Optuna alone would wait out its 30 s grace period


def test_a_multi_objective_run_gives_its_pareto_front(tmp_path):
    nasbench.search(**TABLE, strategy="nsga2", trials=16, run_dir=tmp_path,
                    strategy_params={"objectives": ["val_acc", "params"]})
    study = journal_study(tmp_path)
    assert study.directions == [optuna.study.StudyDirection.MAXIMIZE, optuna.study.StudyDirection.MINIMIZE]
    assert study.metric_names == ["val_acc", "params"]
    rows = [(r["result"]["val_acc"], r["result"]["params"]) for r in history_rows(tmp_path)]
    front = {row for row in rows if not any(o[0] >= row[0] and o[1] <= row[1] and o != row for o in rows)}
    assert {tuple(t.values) for t in study.best_trials} == front and len(front) >= 2


def test_a_stopped_candidate_is_pruned_with_its_curve(tmp_path):
    nasbench.search(space="nasbench201", evaluator="proxy", strategy="random", trials=6, run_dir=tmp_path,
                    overrides=["executor.scheduler=halving", "executor.eta=2", "trainer.epochs=2",
                               "space.skeleton.filters=4", "data.train_fraction=0.1", "+trainer.measure_latency=false"])
    trials, rows = journal_trials(tmp_path), history_rows(tmp_path)
    stopped = [bool(r["result"]["settings"].get("stopped_by")) for r in rows]
    assert [t.state == TrialState.PRUNED for t in trials] == stopped and 0 < sum(stopped) < len(rows)
    for trial, row in zip(trials, rows):
        assert list(trial.intermediate_values.values()) == row["result"]["val_curve"]
        if trial.state == TrialState.PRUNED:
            assert trial.user_attrs["stopped_by"] == "halving" and trial.values is None
        else:
            assert trial.values == [row["result"]["val_acc"]]


def test_a_one_shot_search_gives_a_trial_per_epoch(tmp_path):
    from tests.nasbench.oneshot.search_runs import QUICK

    nasbench.search(space="nasbench201", strategy="darts", trials=2, run_dir=tmp_path, overrides=QUICK[:2])
    trials, rows = journal_trials(tmp_path), history_rows(tmp_path)
    assert [t.user_attrs["epochs_run"] for t in trials] == [1, 2]
    assert [t.values for t in trials] == [[r["result"]["val_acc"]] for r in rows]
    assert trials[-1].user_attrs["val_acc_of"] == "supernet" and trials[-1].params["edge_0_1"] in (
        "none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")


def test_a_mirror_that_cannot_write_warns_once_and_the_search_goes_on(tmp_path, caplog, monkeypatch):
    from nasbench.run import journal

    calls = []

    def full_disk(*args, **kwargs):
        calls.append(1)
        if len(calls) > 2:
            raise OSError(28, "No space left on device")
        return adding(*args, **kwargs)

    adding = journal.add_records
    monkeypatch.setattr(journal, "add_records", full_disk)
    with caplog.at_level(logging.WARNING, logger="nasbench.journal"):
        outcome = nasbench.search(**TABLE, strategy="random", trials=6, run_dir=tmp_path)
    assert len(outcome.history) == 6 and len(history_rows(tmp_path)) == 6 and len(calls) == 3
    warnings = [r for r in caplog.records if r.name == "nasbench.journal"]
    assert len(warnings) == 1 and "history.jsonl is complete" in warnings[0].getMessage()
    monkeypatch.setattr(journal, "add_records", adding)
    assert rebuild_mirror(tmp_path) == 4 and len(journal_trials(tmp_path)) == 6


def test_a_journal_path_that_is_no_file_is_set_aside(tmp_path):
    (tmp_path / JOURNAL).mkdir()
    nasbench.search(**TABLE, strategy="random", trials=3, run_dir=tmp_path)
    assert (tmp_path / DAMAGED).is_dir() and len(journal_trials(tmp_path)) == 3


def test_the_mirror_catches_up_on_rows_it_missed(evolution_run, tmp_path):
    store = RunStore(tmp_path)
    rows = RunStore(evolution_run).history()
    for record in rows[:7]:
        store.append(record)  # no mirror: written while the journal was not kept
    (tmp_path / "config.yaml").write_bytes((evolution_run / "config.yaml").read_bytes())
    store.mirror = JournalMirror(tmp_path, store.history)
    for record in rows[7:]:
        store.append(record)
    assert [t.user_attrs["key"] for t in journal_trials(tmp_path)] == [r.candidate.key for r in rows]


def test_a_killed_search_keeps_its_history_and_the_resumed_mirror_equals_it(tmp_path):
    """SIGKILL mid-run (proxy training, so the kill lands between and inside appends):
    every history line is whole, and the resumed run's journal is its history."""
    config = ["+space=nasbench201", "search=random", "progress=false", "budget.trials=8", "trainer.epochs=1",
              "space.skeleton.filters=4", "data.train_fraction=0.1", "+trainer.measure_latency=false",
              f"hydra.run.dir={tmp_path}"]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "nasbench.search", *config]
    process = subprocess.Popen(command, env=env, cwd=tmp_path, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    history = tmp_path / "history.jsonl"
    while time.time() < deadline and process.poll() is None:
        if history.exists() and history.read_text().count("\n") >= 3:
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    rows = [json.loads(line) for line in history.read_text().splitlines() if line.endswith("}")]
    assert len(rows) >= 3
    subprocess.run(command, env=env, cwd=tmp_path, check=True, capture_output=True, timeout=300)
    rows = history_rows(tmp_path)
    assert [r["trial"] for r in rows] == list(range(8))
    assert [t.user_attrs["key"] for t in journal_trials(tmp_path)] == [r["key"] for r in rows]
