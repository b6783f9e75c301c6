"""Successive halving and Hyperband on the local executor: the brackets of Li et al.
(2018), what the history records, and a search stopped at any point resuming to the
history of an uninterrupted one (on a fake trainer whose curves are fixed by the point);
then, on a tiny proxy, a promoted candidate continuing its training (also after a kill)."""
from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from nasbench.run.search_loop import run_search
from nasbench.core.errors import ConfigError
from nasbench.executors.brackets import bracket, bracket_plan
from nasbench.executors.halving import SuccessiveHalving
from nasbench.run.report import summary_markdown
from nasbench.executors.local import LocalExecutor, LocalExecutorConfig, LocalExecutorError
from nasbench.core.result import EvalResult
from nasbench.run.store import RunStore
from nasbench.strategies import make_strategy
from nasbench.core.candidate import Candidate
from nasbench.core.budget import Budget
from search_spaces.spaces import make_space

FULL_EPOCHS = 9


class Killed(BaseException):
    """Stands for SIGKILL: nothing after it runs, what is on disk stays."""


class FakeTrainer:
    """Curves fixed by the candidate's key (a few candidates fail); each epoch costs 1 s."""

    trainer = {"epochs": FULL_EPOCHS}

    def __init__(self, kill_at: int | None = None) -> None:
        self.calls, self.kill_at = 0, kill_at

    def __call__(self, candidate: Candidate, progress=None) -> EvalResult:
        self.calls += 1
        if self.calls == self.kill_at:
            raise Killed
        digest = hashlib.sha256(candidate.key.encode()).digest()
        if digest[0] < 20:
            return EvalResult(status="diverged", message="non-finite loss", cost_seconds=0.5, seed=candidate.seed)
        quality, curve = digest[1] / 255, []
        for epoch in range(1, FULL_EPOCHS + 1):
            curve.append(round(quality * (1 - 0.5 ** epoch) + 0.01 * (digest[epoch + 1] / 255), 6))
            if progress is not None and progress(epoch, curve[-1], 0.1) is False:
                break
        return EvalResult(status="ok", val_acc=curve[-1], val_curve=curve, epochs_run=len(curve),
                          cost_seconds=float(len(curve)), seed=candidate.seed, params=100)


def search(store, evaluate, trials=30, kind="halving", strategy="evolution", seconds=None, save_fails_at=None):
    space = make_space("nasbench201")
    executor = LocalExecutor(LocalExecutorConfig(scheduler=kind, eta=3, min_epochs=1))
    if save_fails_at is not None:
        store = KilledOnSave(store, save_fails_at)
    return run_search(make_strategy(strategy, space, seed=1, population_size=6, sample_size=3)
                      if strategy == "evolution" else make_strategy(strategy, space, seed=1),
                      evaluate, Budget(trials=trials, seconds=seconds), store, progress=False,
                      scheduler=executor.scheduler(evaluate))


class KilledOnSave:
    """A run store whose ``save_state`` number ``at`` dies before writing (so the history
    line before it is on disk and the state is one step behind)."""

    def __init__(self, store: RunStore, at: int) -> None:
        self.store, self.at, self.saves = store, at, 0

    def __getattr__(self, name):
        return getattr(self.store, name)

    def save_state(self, state) -> None:
        self.saves += 1
        if self.saves == self.at:
            raise Killed
        self.store.save_state(state)


def rows(store: RunStore) -> list[tuple]:
    return [(r.candidate.trial, r.candidate.key, r.result.status, r.result.epochs_run, r.result.val_acc,
             r.result.cost_seconds, r.result.settings.get("stopped_by")) for r in store.history()]


def test_brackets_are_hyperbands():
    """Li et al. (2018), Table 1 with R=27, eta=3: (n, r) per bracket, then the rungs."""
    plans = [bracket_plan("hyperband", index, 1, 27, 3) for index in range(5)]
    assert plans == [(3, 27), (2, 12), (1, 6), (0, 4), (3, 27)]
    assert bracket(3, 27, 1, 27, 3).sizes == (27, 9, 3, 1) and bracket(3, 27, 1, 27, 3).epochs == (1, 3, 9, 27)
    assert bracket(2, 12, 1, 27, 3).sizes == (12, 4, 1) and bracket(2, 12, 1, 27, 3).epochs == (3, 9, 27)
    assert [bracket_plan("halving", index, 1, 9, 3) for index in range(3)] == [(2, 9)] * 3
    assert bracket(2, 2, 1, 9, 3).sizes == (2, 1)  # a rung that stops nobody is skipped


def test_halving_records_rungs_and_stopped_candidates():
    outcome = search(None, FakeTrainer(), trials=9)
    history = outcome.history
    assert sorted(r.candidate.trial for r in history) == list(range(9))
    ok = [r for r in history if r.result.ok]
    stopped = [r for r in ok if r.result.settings.get("stopped_by") == "halving"]
    full = [r for r in ok if r.result.epochs_run == FULL_EPOCHS]
    assert len(full) == 1 and len(stopped) == len(ok) - 1
    assert {r.result.epochs_run for r in stopped} <= {1, 3}
    assert all("stopped early by halving after epoch" in r.result.message for r in stopped)
    for record in ok:  # every rung is charged: 1 + 3 + 9 epochs for the winner
        assert record.result.cost_seconds == sum(rung["epochs"] for rung in record.result.settings["rungs"])
    at_one = sorted((r.result.settings["rungs"][0]["val_acc"], r.candidate.trial) for r in ok)
    assert full[0].result.settings["rungs"][0]["val_acc"] >= at_one[-3][0]  # it was among the best at rung 1
    summary = summary_markdown(history)
    stopped_at_one = sum(r.result.epochs_run == 1 for r in stopped)
    assert "## Early stopping (halving)" in summary and f"| 1 | {len(ok)} | {stopped_at_one} |" in summary


def test_hyperband_runs_brackets_of_each_size():
    outcome = search(None, FakeTrainer(), trials=30, kind="hyperband", strategy="random")
    members = [sum(r.result.settings.get("bracket") == index for r in outcome.history) for index in range(5)]
    assert members == [9, 5, 3, 9, 4] and len(outcome.history) == 30  # s = 2, 1, 0, 2, and what is left
    last = [r for r in outcome.history if r.result.settings.get("bracket") == 2]
    assert all(r.result.epochs_run == FULL_EPOCHS for r in last if r.result.ok)  # s=0: all in full


def test_seconds_budget_counts_unfinished_rungs():
    outcome = search(None, FakeTrainer(), trials=None, seconds=40)
    assert sum(r.result.cost_seconds for r in outcome.history) < 40  # the rest is in unfinished rungs


@pytest.mark.parametrize("kill_at", [10, 13] + [pytest.param(at, marks=pytest.mark.slow) for at in (2, 9, 12, 19, 25)])
def test_killed_mid_evaluation_resumes_to_the_same_history(tmp_path, kill_at):
    search(RunStore(tmp_path / "whole"), FakeTrainer(), kind="hyperband")
    with pytest.raises(Killed):
        search(RunStore(tmp_path / "killed"), FakeTrainer(kill_at=kill_at), kind="hyperband")
    search(RunStore(tmp_path / "killed"), FakeTrainer(), kind="hyperband")
    assert rows(RunStore(tmp_path / "killed")) == rows(RunStore(tmp_path / "whole"))


@pytest.mark.parametrize("save_fails_at", [12, 16] + [pytest.param(at, marks=pytest.mark.slow) for at in (11, 15, 30)])
def test_killed_between_history_and_state_resumes_to_the_same_history(tmp_path, save_fails_at):
    search(RunStore(tmp_path / "whole"), FakeTrainer())
    with pytest.raises(Killed):
        search(RunStore(tmp_path / "killed"), FakeTrainer(), save_fails_at=save_fails_at)
    search(RunStore(tmp_path / "killed"), FakeTrainer())
    assert rows(RunStore(tmp_path / "killed")) == rows(RunStore(tmp_path / "whole"))


def test_lost_state_file_loses_and_repeats_nothing(tmp_path):
    with pytest.raises(Killed):
        search(RunStore(tmp_path), FakeTrainer(kill_at=14), strategy="random")
    (tmp_path / "strategy_state.pt").unlink()
    search(RunStore(tmp_path), FakeTrainer(), strategy="random")
    trials = [row[0] for row in rows(RunStore(tmp_path))]
    assert sorted(trials) == list(range(30))


def test_settings_are_checked():
    with pytest.raises(LocalExecutorError, match="executor.eta: 1 must be an integer >= 2"):
        LocalExecutorConfig(scheduler="halving", eta=1)
    with pytest.raises(LocalExecutorError, match="executor.scheduler: 'asha' is not null or one of halving"):
        LocalExecutorConfig(scheduler="asha")
    with pytest.raises(LocalExecutorError, match="executor.max_epochs: 12 is more than the trainer's epochs"):
        LocalExecutor(LocalExecutorConfig(scheduler="halving", max_epochs=12)).scheduler(FakeTrainer())
    with pytest.raises(LocalExecutorError, match="needs an evaluator that trains them epoch by epoch"):
        LocalExecutor(LocalExecutorConfig(scheduler="halving")).scheduler(lambda candidate: None)


def test_config_names_the_bad_setting():
    import nasbench

    with pytest.raises(ConfigError, match="executor.min_epochs: 0 must be an integer >= 1"):
        nasbench.search("nasbench201", evaluator="nasbench201", trials=1,
                        overrides=["executor.scheduler=halving", "executor.min_epochs=0"])


@pytest.mark.slow
def test_a_proxy_search_on_digits_halves(tmp_path):
    import nasbench

    outcome = nasbench.search("nasnet", strategy="random", trials=4, seed=0, run_dir=tmp_path,
                              overrides=["executor.scheduler=halving", "executor.eta=2", "trainer.epochs=2",
                                         "+trainer.measure_latency=false", "space.skeleton.filters=4",
                                         "data.train_fraction=0.2"])
    stopped = [r for r in outcome.history if r.result.settings.get("stopped_by") == "halving"]
    assert len(outcome.history) == 4 and {r.result.epochs_run for r in stopped} == {1}
    assert len(stopped) == 2 or any(not r.result.ok for r in outcome.history)  # brackets of 2: (2, 1) at (1, 2)
    summary = (tmp_path / "summary.md").read_text()
    assert "## Early stopping" in summary and "| 1 |" in summary


@pytest.mark.slow
def test_sigkilled_halving_search_resumes_without_losing_or_repeating(tmp_path):
    """The command line, a real proxy on digits: SIGKILL mid-bracket, ``resume=``, and the
    history of an uninterrupted run (same trials, points, rungs reached)."""
    import os
    import signal
    import subprocess
    import sys
    import time

    config = ["+space=nasnet", "search=random", "progress=false", "budget.trials=6", "trainer.epochs=2",
              "executor.scheduler=halving", "executor.eta=2", "space.skeleton.filters=4", "data.train_fraction=0.1",
              "+trainer.measure_latency=false"]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[3]), "OMP_NUM_THREADS": "1"}

    def command(*arguments):
        return [sys.executable, "-m", "nasbench.search", *arguments]

    killed = tmp_path / "killed"
    process = subprocess.Popen(command(*config, f"hydra.run.dir={killed}"), env=env, cwd=tmp_path,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 600
    while time.time() < deadline and process.poll() is None:
        history = killed / "history.jsonl"
        if history.exists() and history.read_text().count("\n") >= 2:
            break
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    assert 2 <= (killed / "history.jsonl").read_text().count("\n") < 6
    subprocess.run(command(f"resume={killed}", f"hydra.run.dir={tmp_path / 'log'}"), env=env, cwd=tmp_path,
                   check=True, capture_output=True, timeout=900)
    subprocess.run(command(*config, f"hydra.run.dir={tmp_path / 'whole'}"), env=env, cwd=tmp_path, check=True,
                   capture_output=True, timeout=900)

    def rungs(run_dir: Path) -> list[tuple]:
        return sorted((r[0], r[1], r[3], r[6]) for r in rows(RunStore(run_dir)))

    assert rungs(killed) == rungs(tmp_path / "whole") and len(rungs(killed)) == 6


# -- a promoted candidate continues its training (the proxy trainer, tiny, on the CPU) ----------

PROXY_EPOCHS = 3  # eta=3 from 1 epoch: a bracket of 3 at 1 epoch, its best at 3


def proxy_evaluator():
    from nasbench.evaluators.proxy import ProxyEvaluator

    return ProxyEvaluator(make_space("nasbench201"), {"name": "nasbench201", "cells_per_stage": 1, "filters": 4},
                          {"name": "digits", "train_fraction": 0.1},
                          {"epochs": PROXY_EPOCHS, "batch_size": 32, "measure_latency": False, "device": "cpu",
                           "cpu_threads": 1})


class CountsEpochs:
    """The proxy evaluator, counting the epochs it trains per trial; it dies (``Killed``)
    at the start of call ``kill_at``."""

    def __init__(self, evaluator, kill_at: int | None = None) -> None:
        self.evaluator, self.trainer, self.kill_at = evaluator, evaluator.trainer, kill_at
        self.calls, self.epochs = 0, {}

    def __call__(self, candidate: Candidate, progress=None, checkpoint=None) -> EvalResult:
        self.calls += 1
        if self.calls == self.kill_at:
            raise Killed

        def counted(epoch, val_acc, loss):
            self.epochs[candidate.trial] = self.epochs.get(candidate.trial, 0) + 1
            return None if progress is None else progress(epoch, val_acc, loss)

        return self.evaluator(candidate, progress=counted, checkpoint=checkpoint)


def proxy_search(evaluate, store=None):
    space = make_space("nasbench201")
    executor = LocalExecutor(LocalExecutorConfig(scheduler="halving", eta=3, min_epochs=1))
    return run_search(make_strategy("random", space, seed=1), evaluate, Budget(trials=3), store, progress=False,
                      scheduler=executor.scheduler(evaluate))


def trained(record) -> tuple:
    result = record.result
    return (record.candidate.trial, record.candidate.key, result.status, result.epochs_run, result.val_acc,
            result.val_curve, result.train_loss, [rung["epochs"] for rung in result.settings["rungs"]])


@pytest.fixture(scope="module")
def uninterrupted():
    """A proxy search in memory, the epochs it trained, and each winner's uninterrupted run."""
    evaluate = CountsEpochs(proxy_evaluator())
    history = proxy_search(evaluate).history
    winners = [r for r in history if r.result.epochs_run == PROXY_EPOCHS]
    return history, evaluate.epochs, [(r, evaluate.evaluator(r.candidate)) for r in winners]


def test_a_promoted_candidate_continues_its_training(uninterrupted):
    history, _, winners = uninterrupted
    assert len(history) == 3 and len(winners) == 1
    record, alone = winners[0]
    assert record.result.settings["rungs"][1]["resumed_from"] == 1  # the rung of 3 began after epoch 1
    assert record.result.val_curve == alone.val_curve and record.result.val_acc == alone.val_acc
    assert record.result.train_loss == alone.train_loss  # bit for bit: the state was restored, not retrained


def test_promoted_candidates_train_no_epoch_twice(uninterrupted):
    history, epochs, winners = uninterrupted
    assert epochs == {r.candidate.trial: r.result.epochs_run for r in history}  # 1 + 1 + 3, not 1 + 1 + (1 + 3)
    assert sum(epochs.values()) == 2 + PROXY_EPOCHS
    record = winners[0][0]
    assert record.result.settings["resumed_from_epoch"] == 1 and record.result.epochs_run == PROXY_EPOCHS


def test_a_table_or_a_plain_callable_is_retrained_per_rung():
    assert not SuccessiveHalving("halving", 3, 1, 9, 9).resume
    assert not LocalExecutor(LocalExecutorConfig(scheduler="halving")).scheduler(FakeTrainer()).resume
    outcome = search(None, FakeTrainer(), trials=9)
    assert all("resumed_from" not in rung for r in outcome.history for rung in r.result.settings.get("rungs", []))


@pytest.mark.parametrize("damage", [None, "garbage", "missing"])
def test_killed_mid_bracket_continues_from_the_saved_state(tmp_path, uninterrupted, caplog, damage):
    """Killed as the winner's second rung starts: resumed, it loads the state its first
    rung saved (a damaged or missing one: one log line, trained from its seed); either
    way the history is the uninterrupted search's, and no state is left."""
    with pytest.raises(Killed):
        proxy_search(CountsEpochs(proxy_evaluator(), kill_at=4), RunStore(tmp_path))
    saved = list((tmp_path / "halving").iterdir())
    assert [path.name for path in saved] == [f"trial-{uninterrupted[2][0][0].candidate.trial}-epoch-1.pt"]
    if damage == "garbage":
        saved[0].write_bytes(b"not a state")
    elif damage == "missing":
        saved[0].unlink()
    evaluate = CountsEpochs(proxy_evaluator())
    with caplog.at_level("WARNING", logger="nasbench.search"):
        proxy_search(evaluate, RunStore(tmp_path))
    history = RunStore(tmp_path).history()
    assert [trained(r) for r in history] == [trained(r) for r in uninterrupted[0]]
    winner = next(r for r in history if r.result.epochs_run == PROXY_EPOCHS)
    warnings = [r.getMessage() for r in caplog.records if "training it from its seed" in r.getMessage()]
    if damage is None:
        assert evaluate.epochs == {winner.candidate.trial: PROXY_EPOCHS - 1} and not warnings
        assert winner.result.settings["rungs"][1]["resumed_from"] == 1
    else:
        assert evaluate.epochs == {winner.candidate.trial: PROXY_EPOCHS}
        assert len(warnings) == 1 and ("unreadable" if damage == "garbage" else "missing") in warnings[0]
        assert winner.result.settings["rungs"][1]["resumed_from"] == 0
    assert not list((tmp_path / "halving").iterdir())  # removed once the candidate is finished
