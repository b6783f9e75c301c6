"""The search entry point on the NAS-Bench-201 table: run directory, determinism,
one-line errors, and kill-and-resume without losing or repeating a candidate."""
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra

from nasbench.config.schema import CONF_DIR
from nasbench.cli.search import main, precheck, run_from_config
from nasbench.strategies import STRATEGIES

REPO_ROOT = Path(__file__).resolve().parents[3]
TABLE = ["+space=nasbench201", "evaluator=nasbench201", "progress=false"]


def composed(overrides):
    GlobalHydra.instance().clear()
    with initialize_config_dir(version_base="1.3", config_dir=str(CONF_DIR)):
        return compose(config_name="config", overrides=overrides)


def keys(run_dir: Path) -> list[tuple[int, str]]:
    lines = (run_dir / "history.jsonl").read_text().splitlines()
    return [(json.loads(line)["trial"], json.loads(line)["key"]) for line in lines]


@pytest.mark.parametrize("search", ["random", "evolution", "reinforce", "tpe"])
def test_search_writes_a_complete_run_directory(tmp_path, search):
    outcome = run_from_config(composed(TABLE + [f"search={search}", "budget.trials=15"]), tmp_path)
    assert len(outcome.history) == 15
    assert len(keys(tmp_path)) == 15
    for name in ("config.yaml", "best.json", "summary.md", "strategy_state.pt", "best_so_far.png"):
        assert (tmp_path / name).is_file(), name
    best = json.loads((tmp_path / "best.json").read_text())
    assert best["result"]["val_acc"] == max(r.result.val_acc for r in outcome.history)
    assert list((tmp_path).glob("best_*.dot"))


def test_same_seed_same_candidates_and_metrics(tmp_path):
    cfg = TABLE + ["search=evolution", "budget.trials=25", "seed=3"]
    run_from_config(composed(cfg), tmp_path / "a")
    run_from_config(composed(cfg), tmp_path / "b")
    run_from_config(composed(TABLE + ["search=evolution", "budget.trials=25", "seed=4"]), tmp_path / "c")
    assert keys(tmp_path / "a") == keys(tmp_path / "b")
    assert keys(tmp_path / "a") != keys(tmp_path / "c")


def test_seconds_budget_is_simulated_time(tmp_path):
    outcome = run_from_config(composed(TABLE + ["search=random", "budget.trials=null", "budget.seconds=1000"]), tmp_path)
    spent = sum(r.result.cost_seconds for r in outcome.history)
    assert spent >= 1000 and spent - outcome.history[-1].result.cost_seconds < 1000


def test_resume_continues_with_more_budget(tmp_path):
    run_from_config(composed(TABLE + ["search=reinforce", "budget.trials=10"]), tmp_path / "full")
    run_from_config(composed(TABLE + ["search=reinforce", "budget.trials=4"]), tmp_path / "part")
    resumed = composed(TABLE + [f"resume={tmp_path / 'part'}", "budget.trials=10"])
    run_from_config(resumed, tmp_path / "unused", command_line=["budget.trials=10"])
    assert keys(tmp_path / "part") == keys(tmp_path / "full")


@pytest.mark.parametrize("arguments, message", [
    ([], "no search space chosen: add +space=NAME, one of amoeba, blocks, darts, nasbench201, nasnet"),
    (["+space=nasbench201", "search=evolutoin"], "search=evolutoin: no such search; choose from "),
    (["space=nasnet"], "space=nasnet: a space is added, not overridden; write +space=nasnet"),
    (["+space=nasbench201", "search.seed_points=[|none~0|]"],
     "LexerNoViableAltException: search.seed_points=[|none~0|]: cannot parse the override; quote a value"),
    (["+space=nasbench201", "budget.trails=3"],
     "Could not override 'budget.trails': Key 'trails' is not in struct; did you mean budget.trials?"),
    (["+space=nasbench201", "search=evolution", "search.params.populaton_size=3"],
     "Could not override 'search.params.populaton_size': Key 'populaton_size' is not in struct; "
     "did you mean search.params.population_size?"),
])
def test_bad_command_lines_get_one_line_and_exit_2(arguments, message, capsys):
    assert main(arguments) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"search: {message}") and "\n" not in err


@pytest.mark.parametrize("arguments, message", [
    (["+space=nasnet", "trainer.epochs=abc"], "TrainerConfig.epochs: 'abc' is not an integer"),
    (["+space=nasnet", "trainer.epochs=1.5"], "TrainerConfig.epochs: 1.5 is not an integer"),
    (["+space=nasnet", "trainer.flip=maybe"], "TrainerConfig.flip: 'maybe' is not true or false"),
    (["+space=nasnet", "space.skeleton.filters=abc"], "F: 'abc' is not an integer"),
    (["+space=nasbench201", "space.skeleton.filters=abc"], "skeleton.filters: 'abc' is not an integer"),
    (TABLE + ["executor.scheduler=halving"], "executor.scheduler stops candidates between epochs"),
    (TABLE + ["search=evolution", "search.params.population_size=abc"],
     "search.params.population_size: 'abc' is not an integer"),
    (["+space=nasnet", "data=cifar10"], "cifar10 not found: looked for"),
])
def test_bad_settings_are_refused_before_the_run_starts(arguments, message, capsys, tmp_path, monkeypatch):
    """One line, exit 2, and no run directory left behind (the data check offline: the
    archive is neither in $NASBENCH_DATA nor downloadable)."""
    import nasbench.data.cifar as cifar

    def offline(url, destination):
        raise OSError("offline")

    monkeypatch.setattr(cifar, "urllib_download", offline)
    monkeypatch.setenv("NASBENCH_DATA", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["search"])
    with pytest.raises(SystemExit) as stop:
        main([*arguments, "progress=false"])
    assert stop.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"search: {message}") and "\n" not in err
    assert not (tmp_path / "runs").exists()


def test_a_file_as_hydras_run_directory_is_one_line(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("mine")
    assert main([*TABLE, f"hydra.run.dir={tmp_path / 'notes.txt'}"]) == 2
    assert capsys.readouterr().err.strip() == (f"search: hydra.run.dir={tmp_path / 'notes.txt'}: a file is there; "
                                               f"give a directory for the run")
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_precheck_accepts_sweeps():
    assert precheck(TABLE + ["search=random,evolution", "seed=0,1"]) is None


CONSTRAINED = ["evaluator.device=edgegpu", 'search.constraints=["edgegpu_latency<=5.0"]']
PARETO = ["evaluator.device=edgegpu", "search.params.objectives=[val_acc,edgegpu_latency]",
          'search.constraints=["params<=1e6"]']


@pytest.mark.parametrize("stop", [signal.SIGKILL, signal.SIGINT], ids=["sigkill", "ctrl-c"])
@pytest.mark.parametrize("name, setting", [
    *(pytest.param(name, [], marks=[] if name == "evolution" else [pytest.mark.slow], id=name) for name in STRATEGIES),
    pytest.param("evolution", CONSTRAINED, id="evolution-constrained"),
    pytest.param("tpe", CONSTRAINED, marks=[pytest.mark.slow], id="tpe-constrained"),
    pytest.param("local", CONSTRAINED, marks=[pytest.mark.slow], id="local-constrained"),
    pytest.param("nsga2", PARETO, marks=[pytest.mark.slow], id="nsga2-latency-pareto-constrained"),
])
def test_kill_or_ctrl_c_then_resume_loses_and_repeats_nothing(tmp_path, name, setting, stop, search_overrides):
    """Kill the search process (or press Ctrl-C) at a random moment after ten results,
    resume, and compare with an uninterrupted run of the same config: every registered
    strategy, so a new one is covered without a new test, and searches under a device
    constraint and for an accuracy/latency front."""
    budget, run_dir = 100, tmp_path / "killed"  # a table search of 40 could end before the signal lands
    config = TABLE + search_overrides(name) + setting + [f"budget.trials={budget}"]
    args = [sys.executable, "-m", "nasbench.search", *config, f"hydra.run.dir={run_dir}"]
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    process = subprocess.Popen(args, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    history = run_dir / "history.jsonl"
    kill_after = random.Random(name).randint(10, 25)
    deadline = time.time() + 120
    while time.time() < deadline and process.poll() is None:
        if history.exists() and history.read_text().count("\n") >= kill_after:
            break
        time.sleep(0.005)
    process.send_signal(stop)
    process.wait(timeout=60)
    assert stop != signal.SIGINT or process.returncode == 130, "Ctrl-C: exit 130 after saying how to resume"
    done_before = history.read_text().count("\n")
    assert kill_after <= done_before < budget
    resumed = subprocess.run([sys.executable, "-m", "nasbench.search", f"resume={run_dir}",
                              f"hydra.run.dir={tmp_path / 'resume-log'}"], cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    run_from_config(composed(config), tmp_path / "reference")
    assert keys(run_dir) == keys(tmp_path / "reference")
    assert [trial for trial, _ in keys(run_dir)] == list(range(budget))


def test_help_needs_no_space(capsys):
    with pytest.raises(SystemExit) as leaving:  # Hydra exits after printing its help
        main(["--help"])
    assert leaving.value.code == 0
    assert "space: amoeba, blocks, darts, nasbench201, nasnet" in capsys.readouterr().out


def test_a_home_relative_data_root_works_as_the_readme_prints_it(tmp_path, monkeypatch):
    """``data.root=~/my_images``: the shell leaves a ``~`` after ``=`` as typed, and Hydra's
    grammar refused it; the command expands it."""
    from tests.nasbench.train.test_train_full import write_image_folder

    write_image_folder(tmp_path / "my_images", per_class=6)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    assert main(["+space=nasbench201", "data=image_folder", "data.root=~/my_images", "budget.trials=1",
                 "trainer.epochs=1", "progress=false", "+trainer.measure_latency=false",
                 f"hydra.run.dir={tmp_path / 'run'}"]) == 0
    config = (tmp_path / "run" / "config.yaml").read_text()
    assert f"root: {tmp_path / 'my_images'}" in config
