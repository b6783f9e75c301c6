"""Searches that cannot succeed end, with one line and a non-zero exit; a refused or
resumed search leaves no empty run directory; the search's log lands in the run."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from nasbench.run.search_loop import run_search
from nasbench.core.result import EvalResult
from nasbench.cli.search import main
from nasbench.core.budget import Budget, BudgetError
from nasbench.strategies.random_search import RandomSearch
from search_spaces.spaces.nasbench201 import NasBench201Space

TABLE = ["+space=nasbench201", "evaluator=nasbench201", "progress=false"]
REPO_ROOT = Path(__file__).resolve().parents[3]


def failing(candidate):
    return EvalResult(status="error", message="no data", seed=candidate.seed)


def test_failures_cost_wall_time_and_a_run_of_them_stops_the_search():
    outcome = run_search(RandomSearch(NasBench201Space(), seed=0), failing,
                         Budget(seconds=1e9, max_consecutive_failures=5), progress=False)
    assert len(outcome.history) == 5 and outcome.all_failed
    assert all(record.result.cost_seconds > 0 for record in outcome.history)
    assert outcome.stopped.startswith("5 candidates in a row failed; the last: error: no data")
    with pytest.raises(BudgetError, match="max_consecutive_failures"):
        Budget(trials=3, max_consecutive_failures=0)


def test_a_success_resets_the_count():
    calls = iter(range(100))

    def sometimes(candidate):
        return failing(candidate) if next(calls) % 3 else EvalResult(status="ok", val_acc=0.5, cost_seconds=1.0)

    outcome = run_search(RandomSearch(NasBench201Space(), seed=0), sometimes,
                         Budget(trials=12, max_consecutive_failures=3), progress=False)
    assert len(outcome.history) == 12 and not outcome.stopped and not outcome.all_failed


def test_cli_stops_a_search_whose_table_is_missing(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("NASBENCH201_CSV", str(tmp_path / "missing.csv"))
    run_dir = tmp_path / "run"
    with pytest.raises(SystemExit) as leaving:
        main([*TABLE, "budget.trials=null", "budget.seconds=12000", f"hydra.run.dir={run_dir}"])
    assert leaving.value.code == 1
    err = capsys.readouterr().err
    assert "search: stopped: 20 candidates in a row failed" in err and "missing.csv" in err
    assert len((run_dir / "history.jsonl").read_text().splitlines()) == 20


def test_resume_writes_into_the_run_and_refuses_what_it_would_ignore(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    run_dir = tmp_path / "runs" / "first"
    assert main([*TABLE, "budget.trials=4", f"hydra.run.dir={run_dir}"]) == 0
    assert main([f"resume={run_dir}", "budget.trials=6"]) == 0
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["first"], "a resume makes no new run dir"
    log = (run_dir / "search.log").read_text()
    assert log.count("nasbench.search") == 6 and "trial 5 ok" in log
    assert main([f"resume={run_dir}", "search=reinforce"]) == 2
    assert "would ignore search=reinforce" in capsys.readouterr().err
    assert main([f"resume={tmp_path / 'nowhere'}"]) == 2
    assert not (tmp_path / "nowhere").exists()
    assert len(json.loads((run_dir / "best.json").read_text())["point"]) > 0


def test_a_search_refused_after_hydra_started_leaves_no_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run_dir = tmp_path / "runs" / "day" / "refused"
    with pytest.raises(SystemExit) as leaving:
        main(["+space=nasnet", "evaluator=nasbench201", f"hydra.run.dir={run_dir}"])
    assert leaving.value.code == 2
    assert not run_dir.exists() and not run_dir.parent.exists()


def test_one_writer_per_run_directory(tmp_path):
    """A second process on a run directory in use is refused with the first one's pid; a
    lock left by a killed process does not block the resume."""
    import os
    import signal
    import subprocess
    import sys

    from nasbench.run.lock import RunLockedError, run_lock

    holder = subprocess.Popen([sys.executable, "-c", "import sys, time\nfrom nasbench.run.lock import run_lock\n"
                               f"with run_lock({str(tmp_path)!r}):\n    print('held', flush=True)\n    time.sleep(60)"],
                              stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})
    assert holder.stdout.readline().strip() == "held"
    with pytest.raises(RunLockedError, match=f"another search \\(pid {holder.pid}\\) is writing"):
        with run_lock(tmp_path):
            pass
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    with run_lock(tmp_path):  # the dead holder's lock is gone
        pass


def test_a_full_disk_is_one_line_and_resume_loses_nothing(tmp_path, monkeypatch, capsys):
    import errno

    from nasbench.run.store import RunStore

    real_append, written = RunStore.append, []

    def append_until_full(store, record):
        if len(written) == 3:
            raise OSError(errno.ENOSPC, "No space left on device", str(store.history_path))
        written.append(record)
        real_append(store, record)

    monkeypatch.setattr(RunStore, "append", append_until_full)
    run_dir = tmp_path / "run"
    with pytest.raises(SystemExit) as leaving:
        main([*TABLE, "search=evolution", "budget.trials=8", f"hydra.run.dir={run_dir}"])
    assert leaving.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "No space left on device" in err[0] and f"resume={run_dir}" in err[0]
    monkeypatch.setattr(RunStore, "append", real_append)
    assert main([f"resume={run_dir}"]) == 0
    assert main([*TABLE, "search=evolution", "budget.trials=8", f"hydra.run.dir={tmp_path / 'reference'}"]) == 0
    keys = [json.loads(line)["key"] for line in (run_dir / "history.jsonl").read_text().splitlines()]
    reference = [json.loads(line)["key"] for line in (tmp_path / "reference" / "history.jsonl").read_text().splitlines()]
    assert keys == reference and len(keys) == 8


def test_a_received_config_cannot_write_outside_its_run(tmp_path):
    from nasbench.strategies import StrategyError, make_strategy

    outside = tmp_path / "elsewhere" / "planted.journal"
    with pytest.raises(StrategyError, match="is outside the run directory"):
        make_strategy("tpe", NasBench201Space(), run_dir=tmp_path / "run", storage=str(outside))
    assert not outside.exists() and not outside.parent.exists()
    inside = make_strategy("tpe", NasBench201Space(), run_dir=tmp_path / "run", storage="my.journal")
    assert inside.storage_path == (tmp_path / "run" / "my.journal").resolve()
