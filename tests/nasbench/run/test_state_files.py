"""``strategy_state.pt`` holds data, not code: a damaged, foreign or crafted state file is
refused without running anything in it, and a resume rebuilds the state from
``history.jsonl`` to the search an uninterrupted run makes."""
from __future__ import annotations

import io
import json
import pickle
from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra

from nasbench.config.schema import CONF_DIR
from nasbench.run.search_loop import restore_run
from nasbench.core.result import EvalResult
from nasbench.run.store import STATE, HistoryRecord, RunStore, StateFileError, state_bytes, state_from_bytes
from nasbench.cli.search import run_from_config
from nasbench.core.candidate import Candidate, derive_seed
from nasbench.strategies.evolution import RegularizedEvolution
from search_spaces.spaces.nasbench201 import NasBench201Space

TABLE = ["+space=nasbench201", "evaluator=nasbench201", "progress=false"]


class Planted:
    """Unpickling this creates ``marker``: what a crafted state file would do."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return Path.touch, (self.marker,)


def crafted_pickle(marker: Path) -> bytes:
    return pickle.dumps({"strategy": Planted(marker), "told": 0})


def crafted_torch_file(marker: Path) -> bytes:
    buffer = io.BytesIO()
    torch.save({"format": "nasbench.strategy_state", "version": 1, "state": Planted(marker)}, buffer)
    return buffer.getvalue()


def composed(overrides: list[str]):
    GlobalHydra.instance().clear()
    with initialize_config_dir(version_base="1.3", config_dir=str(CONF_DIR)):
        return compose(config_name="config", overrides=overrides)


def keys(run_dir: Path) -> list[tuple[int, str]]:
    rows = [json.loads(line) for line in (run_dir / "history.jsonl").read_text().splitlines()]
    return [(row["trial"], row["key"]) for row in rows]


def test_a_snapshot_round_trips_as_data():
    strategy = RegularizedEvolution(NasBench201Space(), seed=0)
    asked = strategy.ask()
    snapshot = {"strategy": strategy.state_dict(), "told": 0, "pending": {asked.trial: asked}, "executor": "ray"}
    assert state_from_bytes(state_bytes(snapshot)) == snapshot
    with pytest.raises(TypeError, match=r"state.strategy.thing is a PosixPath, not plain data"):
        state_bytes({"strategy": {"thing": Path("/")}, "told": 0, "pending": {}})


def unsafe_torch_load(payload: bytes):
    return torch.load(io.BytesIO(payload), weights_only=False)


@pytest.mark.parametrize("make, unsafe_load", [(crafted_pickle, pickle.loads), (crafted_torch_file, unsafe_torch_load)])
def test_a_crafted_pickle_is_refused_and_runs_nothing(tmp_path, make, unsafe_load):
    unsafe_load(make(tmp_path / "proof"))  # the payload does run when unpickled...
    assert (tmp_path / "proof").exists()
    with pytest.raises(StateFileError, match=f"^{STATE} unreadable \\(UnpicklingError: ") as refused:
        state_from_bytes(make(tmp_path / "marker"))  # ...but not when a state is read
    assert "\n" not in str(refused.value)
    assert not (tmp_path / "marker").exists()


@pytest.mark.parametrize("payload, message", [
    (b"", f"{STATE} is empty"),
    (b"\x8a\x0b\x17 not a torch file at all", f"{STATE} unreadable"),
    (state_bytes({"strategy": {}, "told": 0, "pending": {}})[:100], f"{STATE} unreadable"),
])
def test_damaged_files_are_one_line(payload, message):
    with pytest.raises(StateFileError, match=f"^{message}") as refused:
        state_from_bytes(payload)
    assert "\n" not in str(refused.value)


def test_a_foreign_torch_file_is_not_ours():
    buffer = io.BytesIO()
    torch.save({"weights": torch.zeros(2)}, buffer)
    with pytest.raises(StateFileError, match=f"^{STATE} is not a nasbench strategy state$"):
        state_from_bytes(buffer.getvalue())


def damage(kind: str, path: Path, marker: Path) -> None:
    payload = path.read_bytes()
    path.write_bytes({
        "truncated": payload[: len(payload) // 2],
        "empty": b"",
        "random": bytes(range(256)) * 4,
        "crafted": crafted_pickle(marker),
        "missing": b"",
    }[kind])
    if kind == "missing":
        path.unlink()


SLOW = pytest.mark.slow  # the same path as its neighbours; their bytes are refused in test_damaged_files_are_one_line


@pytest.mark.parametrize("search, kind", [
    ("evolution", "truncated"), ("evolution", "crafted"), ("evolution", "missing"), ("tpe", "crafted"),
    pytest.param("evolution", "empty", marks=SLOW), pytest.param("evolution", "random", marks=SLOW),
    pytest.param("reinforce", "truncated", marks=SLOW),
])
def test_a_damaged_state_is_rebuilt_from_the_history(tmp_path, capsys, search, kind):
    part, marker = tmp_path / "part", tmp_path / "marker"
    run_from_config(composed(TABLE + [f"search={search}", "budget.trials=12"]), part)
    damage(kind, part / STATE, marker)
    capsys.readouterr()
    run_from_config(composed(TABLE + [f"resume={part}", "budget.trials=20"]), tmp_path / "unused",
                    command_line=["budget.trials=20"])
    err = capsys.readouterr().err
    assert f"resume: {STATE} " in err and "; rebuilt from history.jsonl (12 results)" in err
    run_from_config(composed(TABLE + [f"search={search}", "budget.trials=20"]), tmp_path / "whole")
    assert keys(part) == keys(tmp_path / "whole")
    assert not marker.exists()
    assert RunStore(part).load_state()["told"] == 20


def damage_journal(kind: str, path: Path) -> None:
    lines = path.read_bytes().splitlines(keepends=True)
    if kind == "torn":  # a kill while Optuna appended: half a line at the end
        path.write_bytes(b"".join(lines) + lines[-1][: len(lines[-1]) // 2])
    elif kind == "garbage":
        path.write_bytes(b"".join(lines[:5]) + bytes(range(256)) + b"\n" + b"".join(lines[5:]))
    elif kind == "foreign":
        path.write_bytes(b'{"op_code": 5, "worker_id": "x"}\n' + b"".join(lines))
    else:
        path.unlink()


@pytest.mark.parametrize("kind", ["torn", "garbage", pytest.param("foreign", marks=SLOW),
                                  pytest.param("missing", marks=SLOW)])
def test_a_damaged_optuna_journal_resumes_to_the_uninterrupted_search(tmp_path, capsys, kind):
    """TPE's study lives in RUN_DIR/optuna.journal: a torn tail is cut back, an unreadable
    journal is kept aside as optuna.journal.damaged and the study rebuilt from history."""
    part = tmp_path / "part"
    run_from_config(composed(TABLE + ["search=tpe", "budget.trials=8"]), part)
    damage_journal(kind, part / "optuna.journal")
    capsys.readouterr()
    run_from_config(composed(TABLE + [f"resume={part}", "budget.trials=14"]), tmp_path / "unused",
                    command_line=["budget.trials=14"])
    said = [line for line in capsys.readouterr().err.splitlines() if line.startswith("resume:")]
    run_from_config(composed(TABLE + ["search=tpe", "budget.trials=14"]), tmp_path / "whole")
    assert keys(part) == keys(tmp_path / "whole")
    if kind == "torn":
        assert said == []
    else:
        assert len(said) == 1 and said[0].endswith("; rebuilt from history.jsonl (8 results)"), said
    assert (part / "optuna.journal.damaged").exists() == (kind in ("garbage", "foreign"))


def test_replay_leaves_the_unfinished_candidates_to_evaluate_first(tmp_path):
    store = RunStore(tmp_path)
    strategy = RegularizedEvolution(NasBench201Space(), seed=0)
    asked = [strategy.ask() for _ in range(3)]
    result = EvalResult(status="ok", val_acc=0.5, cost_seconds=1.0)
    for candidate in (asked[0], asked[2]):  # trial 1 was in flight when the state was lost
        store.append(HistoryRecord(candidate, result, 0.0, 1.0))
    restored = restore_run(RegularizedEvolution(NasBench201Space(), seed=0), store)
    assert [r.candidate.trial for r in restored.history] == [0, 2]
    assert restored.pending == [Candidate(asked[1].trial, asked[1].point, asked[1].key, asked[1].seed)]


def test_replay_of_an_asynchronous_search_asks_what_had_started_before_each_result(tmp_path):
    """Two workers: trial k+2 is asked when trial k's result arrives, so trial k+1 was
    asked before it; the replay follows the timestamps, not one-at-a-time order."""
    def strategy():
        return RegularizedEvolution(NasBench201Space(), seed=1, population_size=2, sample_size=2)

    live, store, clock = strategy(), RunStore(tmp_path), iter(range(1000))
    in_flight = [(live.ask(), next(clock)) for _ in range(2)]
    while in_flight:
        candidate, started = in_flight.pop(0)
        result = EvalResult(status="ok", val_acc=derive_seed(0, candidate.key) / 2**32, cost_seconds=1.0)
        store.append(HistoryRecord(candidate, result, float(started), float(next(clock))))
        live.tell(candidate, result)
        if candidate.trial < 14:
            in_flight.append((live.ask(), next(clock)))
    restored = restore_run(strategy(), store)  # no state file: replayed
    assert len(restored.history) == 16 and restored.pending == []


def test_files_are_written_with_the_users_umask(tmp_path):
    """A run's results are readable by whoever may read the user's other files (mkstemp's
    0600 was not), and no temporary file is left beside them."""
    import os

    from nasbench.core.files import atomic_write_text

    previous = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / "best.json", "{}")
        atomic_write_text(tmp_path / "best.json", '{"again": 1}')
    finally:
        os.umask(previous)
    assert (tmp_path / "best.json").stat().st_mode & 0o777 == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["best.json"]
