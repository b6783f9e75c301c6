"""The Ray Tune executor on the NAS-Bench-201 table: the same candidates as the local
driver, full histories with trials in flight, failures recorded, workers killed and
retried, ASHA's early stops recorded with their fidelity, budgets, Hydra sweeps, and a
driver killed with SIGKILL that resumes losing and repeating nothing."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra

from nasbench.config.schema import CONF_DIR, validate
from nasbench.run.search_loop import restore_run
from nasbench.core.errors import ConfigError
from nasbench.evaluators.nasbench201 import NasBench201Evaluator
from nasbench.executors.ray_executor import ExecutorError, RayExecutor, RayExecutorConfig, _asha
from nasbench.config.parts import make_parts
from nasbench.run.store import RunStore
from nasbench.cli.search import main, run_from_config
from nasbench.strategies import STRATEGIES

REPO_ROOT = Path(__file__).resolve().parents[3]

ray = pytest.importorskip("ray")
# Workers cannot import this test module: its evaluator wrappers travel by value.
ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])

TABLE = ["+space=nasbench201", "evaluator=nasbench201", "progress=false"]
RAY = ["executor=ray", "executor.max_concurrent_trials=2"]


def composed(overrides):
    GlobalHydra.instance().clear()
    with initialize_config_dir(version_base="1.3", config_dir=str(CONF_DIR)):
        return compose(config_name="config", overrides=overrides)


def rows(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "history.jsonl").read_text().splitlines()]


def parts(overrides, run_dir: Path, wrap=None):
    """What ``run_from_config`` builds, so that a test can wrap the evaluator; ``wrap``:
    the evaluator around the table's that ``make_parts`` gets (its set-up checks see it)."""
    evaluator = None if wrap is None else wrap(NasBench201Evaluator())
    built = make_parts(validate(composed(TABLE + RAY + overrides)), run_dir, evaluator=evaluator)
    return built.executor, built.strategy, built.evaluator, built.budget, RunStore(run_dir)


class Faulty:
    """The table, but trial ``raise_at`` raises, trial ``kill_once_at`` kills its worker
    process on the first attempt, and trial ``kill_always_at`` on every attempt."""

    def __init__(self, evaluate, marks: Path, raise_at=None, kill_once_at=None, kill_always_at=None):
        self.evaluate, self.marks = evaluate, str(marks)
        self.raise_at, self.kill_once_at, self.kill_always_at = raise_at, kill_once_at, kill_always_at

    def __call__(self, candidate):
        if candidate.trial == self.raise_at:
            raise RuntimeError("injected failure")
        if candidate.trial in (self.kill_once_at, self.kill_always_at):
            attempts = sorted(Path(self.marks).glob(f"attempt-{candidate.trial}-*"))
            (Path(self.marks) / f"attempt-{candidate.trial}-{len(attempts)}").touch()
            if candidate.trial == self.kill_always_at or not attempts:
                os.kill(os.getpid(), signal.SIGKILL)
        return self.evaluate(candidate)


class Epochwise:
    """The table's accuracy reached linearly over ``epochs``, one progress call per epoch
    (the proxy trainer's callback protocol)."""

    def __init__(self, evaluate, epochs: int, seconds_per_epoch: float = 0.15):
        self.evaluate, self.epochs, self.seconds_per_epoch = evaluate, epochs, seconds_per_epoch

    def __call__(self, candidate, progress=None):
        result = self.evaluate(candidate)
        for epoch in range(1, self.epochs + 1):
            time.sleep(self.seconds_per_epoch)
            result.val_curve.append(result.val_acc * epoch / self.epochs)
            if progress is not None and progress(epoch, result.val_curve[-1], 1.0 / epoch) is False:
                break
        result.val_acc, result.epochs_run = result.val_curve[-1], len(result.val_curve)
        return result


def test_random_search_evaluates_the_same_candidates_as_the_local_driver(ray_session, tmp_path):
    overrides = TABLE + ["search=random", "seed=5", "budget.trials=12"]
    local = run_from_config(composed(overrides), tmp_path / "local")
    remote = run_from_config(composed(overrides + RAY), tmp_path / "ray")
    assert {(r["trial"], r["key"]) for r in rows(tmp_path / "ray")} == {(r["trial"], r["key"]) for r in
                                                                        rows(tmp_path / "local")}
    assert len(remote.history) == len(local.history) == 12 and not remote.interrupted
    for name in ("config.yaml", "best.json", "summary.md", "strategy_state.pt"):
        assert (tmp_path / "ray" / name).is_file(), name
    assert json.loads((tmp_path / "ray" / "best.json").read_text())["result"]["val_acc"] == local.best.result.val_acc
    assert list((tmp_path / "ray" / "ray").glob("tune-0/candidate_*")), "Tune's files stay in the run directory"


@pytest.mark.slow  # 20-60 s on 2 cores: python -m pytest -m slow
def test_failures_are_recorded_and_dead_workers_retried(ray_session, tmp_path):
    marks = tmp_path / "marks"
    marks.mkdir()
    executor, strategy, evaluate, budget, store = parts(
        ["search=evolution", "budget.trials=10", "executor.max_failures=1"], tmp_path / "run")
    faulty = Faulty(evaluate, marks, raise_at=2, kill_once_at=4, kill_always_at=5)  # 4 and 5 run together
    outcome = executor.run(strategy, faulty, budget, store)
    by_trial = {r["trial"]: r for r in rows(tmp_path / "run")}
    assert sorted(by_trial) == list(range(10)) and len(outcome.history) == 10
    assert by_trial[2]["status"] == "error" and "RuntimeError: injected failure" in by_trial[2]["result"]["message"]
    assert by_trial[4]["status"] == "ok", "a worker killed once is retried"
    assert by_trial[5]["status"] == "error" and "failed 2 time(s)" in by_trial[5]["result"]["message"]
    assert len(list(marks.glob("attempt-4-*"))) == 2 and len(list(marks.glob("attempt-5-*"))) == 2
    assert all(r["status"] == "ok" for t, r in by_trial.items() if t not in (2, 5))
    assert store.load_state()["told"] == 10 and store.load_state()["pending"] == {}


@pytest.mark.parametrize("scheduler", ["asha", pytest.param("hyperband", marks=pytest.mark.slow)])
def test_asha_stops_weak_candidates_and_records_their_fidelity(ray_session, tmp_path, scheduler):
    np.random.seed(0)  # Tune's ASHA draws each trial's bracket from numpy's global generator
    executor, strategy, evaluate, budget, store = parts(
        ["search=random", "budget.trials=12", f"executor.scheduler={scheduler}", "trainer.epochs=4"], tmp_path,
        wrap=lambda table: Epochwise(table, epochs=4))
    executor.run(strategy, evaluate, budget, store)
    history = rows(tmp_path)
    assert sorted(r["trial"] for r in history) == list(range(12))
    stopped = [r for r in history if r["result"]["epochs_run"] < 4]
    assert stopped and len(stopped) < 12
    for record in stopped:
        result = record["result"]
        assert record["status"] == "ok" and result["settings"]["stopped_by"] == scheduler
        assert result["message"].startswith(f"stopped early by the {scheduler} scheduler after epoch")
        assert result["val_acc"] == result["val_curve"][-1] and len(result["val_curve"]) == result["epochs_run"]
    assert all("stopped_by" not in r["result"]["settings"] for r in history if r["result"]["epochs_run"] == 4)


@pytest.mark.parametrize("scheduler, eta, min_epochs, epochs, rungs", [
    ("asha", 3, 1, 9, [[9, 3, 1]]),
    ("halving", 2, 2, 8, [[8, 4, 2]]),
    ("hyperband", 3, 1, 9, [[9, 3, 1], [9, 3], [9]]),  # Hyperband's brackets s = 2, 1, 0 (Li et al., 2018)
])
def test_the_ray_schedulers_rungs_are_those_of_the_local_ones(scheduler, eta, min_epochs, epochs, rungs):
    config = RayExecutorConfig(scheduler=scheduler, eta=eta, min_epochs=min_epochs)
    asha = _asha(epochs, config, set())
    assert [[milestone for milestone, _ in bracket._rungs] for bracket in asha._brackets] == rungs


@pytest.mark.parametrize("settings, message", [
    ({"scheduler": "halving", "eta": 1}, "executor.eta: 1 must be an integer >= 2"),
    ({"scheduler": "hyperband", "min_epochs": 0}, "executor.min_epochs: 0 must be an integer >= 1"),
    ({"scheduler": "median"}, "executor.scheduler: 'median' is not null or one of asha, halving, hyperband"),
])
def test_bad_scheduler_settings_are_refused_in_one_line(settings, message):
    with pytest.raises(ExecutorError, match=message):
        RayExecutor(RayExecutorConfig(**settings))


@pytest.mark.parametrize("overrides, message", [
    ([], "needs an evaluator that reports each epoch"),
    (["search=nsga2"], "a trial stopped early has no macs"),
])
def test_asha_needs_epochs_and_objectives_a_stopped_trial_has(tmp_path, overrides, message):
    with pytest.raises(ConfigError, match=message):  # at set-up, before Ray starts or the run is written
        parts(["budget.trials=2", "executor.scheduler=asha", *overrides], tmp_path)


@pytest.mark.slow  # 20-60 s on 2 cores: python -m pytest -m slow
def test_seconds_budget_stops_asking_and_records_the_trials_in_flight(ray_session, tmp_path):
    outcome = run_from_config(composed(TABLE + RAY + ["search=random", "budget.trials=null", "budget.seconds=600"]),
                              tmp_path)
    costs = [r.result.cost_seconds for r in outcome.history]
    assert sum(costs) >= 600 and sum(costs[:-2]) < 600  # at most two were in flight when it was spent


@pytest.mark.slow  # 20-60 s on 2 cores: python -m pytest -m slow
def test_sweep_of_asynchronous_strategies_reuses_ray(ray_session, tmp_path):
    """Two searches one after another in one process, each on the Ray started once:
    REINFORCE and TPE (constant liar) with two trials in flight (evolution runs so in the
    failure and SIGKILL tests)."""
    sweep = ["search=reinforce,tpe", "budget.trials=12", f"hydra.sweep.dir={tmp_path}"]
    assert main(["-m", *TABLE, *RAY, *sweep]) == 0
    for job in ("0", "1"):
        assert sorted(r["trial"] for r in rows(tmp_path / job)) == list(range(12))
        assert all(r["status"] == "ok" for r in rows(tmp_path / job))
        state = RunStore(tmp_path / job).load_state()
        assert state["told"] == 12 and state["pending"] == {}


def test_resume_redispatches_what_was_asked_but_not_finished(tmp_path):
    """A state saved after two asks and one tell: the told row stays, the other is replayed
    from history, and the candidate never finished comes back first."""
    executor, strategy, evaluate, budget, store = parts(["search=evolution", "budget.trials=4"], tmp_path)
    from nasbench.run.store import HistoryRecord

    first, second, third = strategy.ask(), strategy.ask(), strategy.ask()
    for candidate in (first, second):
        store.append(HistoryRecord(candidate, evaluate(candidate), 0.0, 1.0))
    strategy.tell(first, evaluate(first))
    store.save_state({"strategy": strategy.state_dict(), "told": 1, "pending": {2: third, 1: second},
                      "executor": "ray"})
    _, fresh, _, _, _ = parts(["search=evolution", "budget.trials=4"], tmp_path)
    restored = restore_run(fresh, store)
    assert [r.candidate.trial for r in restored.history] == [0, 1] and restored.pending == [third]
    assert fresh.ask().trial == 3


@pytest.mark.slow  # 20-60 s each on 2 cores: python -m pytest -m slow
@pytest.mark.parametrize("name", list(STRATEGIES))
def test_sigkill_of_the_driver_then_resume_loses_and_repeats_nothing(tmp_path, name, search_overrides):
    """Every registered strategy on Ray: what finished before the kill stays as it was, and
    every trial number appears exactly once after the resume (Ray's order is its own, so
    the history is compared with itself, not with a local run)."""
    run_dir, budget = tmp_path / "killed", 60
    args = [sys.executable, "-m", "nasbench.search", *TABLE, *RAY, "executor.num_cpus=2", *search_overrides(name),
            f"budget.trials={budget}", f"hydra.run.dir={run_dir}"]
    env = {key: value for key, value in os.environ.items() if key != "RAY_ADDRESS"}
    env["PYTHONPATH"] = str(REPO_ROOT)
    process = subprocess.Popen(args, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    history = run_dir / "history.jsonl"
    deadline = time.time() + 120
    while time.time() < deadline and process.poll() is None:
        if history.exists() and history.read_text().count("\n") >= 12:
            break
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    text = history.read_text()
    before = text[:text.rfind("\n") + 1].splitlines()  # a torn last line is dropped on resume
    assert 0 < len(before) < budget
    resumed = subprocess.run([sys.executable, "-m", "nasbench.search", f"resume={run_dir}",
                              f"hydra.run.dir={tmp_path / 'resume-log'}"], cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    after = history.read_text().splitlines()
    assert after[:len(before)] == before
    trials = [json.loads(line)["trial"] for line in after]
    assert sorted(trials) == list(range(budget)), "every trial number exactly once"
    assert len(list((run_dir / "ray").glob("tune-*"))) == 2


def test_a_request_no_node_can_meet_is_refused_up_front(ray_session, tmp_path):
    executor, strategy, evaluate, budget, store = parts(["budget.trials=2", "executor.gpus_per_trial=0.5"], tmp_path)
    if ray.cluster_resources().get("GPU", 0) > 0:
        pytest.skip("this machine has a GPU")
    with pytest.raises(ExecutorError, match=r"executor.gpus_per_trial=0.5: no node of the Ray cluster has that many GPUs"):
        executor.run(strategy, evaluate, budget, store)
    assert not (tmp_path / "history.jsonl").exists()
