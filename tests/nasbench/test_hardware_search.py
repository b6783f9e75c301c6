"""Searches under a device constraint, for every kind of strategy: the pick meets it, the
summary names it, Optuna's constrained samplers are given the violations and the others
see an infeasible candidate as a failure; the errors a user meets are one line."""
from __future__ import annotations

import json

import pytest

import nasbench
from nasbench.cli.search import main, spelled_for_hydra
from nasbench.core.errors import ConfigError
from nasbench.run.store import RunStore

DEVICE = ["evaluator.device=edgegpu"]


@pytest.mark.parametrize("strategy", ["tpe", "local", "evolution"])
def test_the_readmes_constrained_search_picks_a_cell_that_meets_it(tmp_path, strategy, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["+space=nasbench201", "evaluator=nasbench201", "evaluator.device=edgegpu", f"search={strategy}",
                 "search.constraints=[edgegpu_latency<=5.0]", "budget.trials=100", "progress=false",
                 f"hydra.run.dir={tmp_path / 'run'}"]) == 0
    best = json.loads((tmp_path / "run" / "best.json").read_text())
    assert best["result"]["hardware"]["edgegpu_latency"] <= 5.0
    rows = RunStore(tmp_path / "run").history()
    feasible = [r for r in rows if r.result.hardware["edgegpu_latency"] <= 5.0]
    assert best["result"]["val_acc"] == max(r.result.val_acc for r in feasible)
    assert 0 < len(feasible) < len(rows)  # the constraint bites
    assert all(("infeasible" in r.result.settings) == (r.result.hardware["edgegpu_latency"] > 5.0) for r in rows)
    summary = (tmp_path / "run" / "summary.md").read_text()
    assert f"`edgegpu_latency<=5`: {len(feasible)} of the 100 finished candidates meet it." in summary


def test_optunas_sampler_is_given_the_violations(tmp_path):
    outcome = nasbench.search(space="nasbench201", evaluator="nasbench201", strategy="nsga2", trials=30,
                              run_dir=tmp_path, strategy_params={"objectives": ["val_acc", "edgegpu_latency"]},
                              overrides=[*DEVICE, 'search.constraints=["params<=4e5"]'])
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    study = optuna.load_study(study_name="nasbench",
                              storage=JournalStorage(JournalFileBackend(str(tmp_path / "optuna.journal"))))
    told = {t.number: t.system_attrs.get("constraints") for t in study.trials}
    rows = {r.candidate.trial: r.result for r in outcome.history}
    assert all(told[n] == [pytest.approx(rows[n].params - 4e5)] for n in rows)  # Optuna's own record of them
    assert outcome.best.result.params <= 4e5


def test_a_strategy_without_constraint_support_sees_an_infeasible_cell_as_a_failure():
    from nasbench.core.constraints import parse_constraints
    from nasbench.core.result import EvalResult
    from nasbench.strategies.base import result_fitness

    result = EvalResult(status="ok", val_acc=0.9, hardware={"edgegpu_latency": 7.0})
    assert result_fitness(result) == 0.9
    parse_constraints(["edgegpu_latency<=5"], ("edgegpu_latency",)).annotate(result)
    assert result_fitness(result) is None


def test_no_cell_meeting_the_constraints_leaves_no_pick(tmp_path):
    outcome = nasbench.search(space="nasbench201", evaluator="nasbench201", strategy="random", trials=5,
                              run_dir=tmp_path, overrides=[*DEVICE, 'search.constraints=["edgegpu_latency<=0.6"]'])
    assert outcome.best is None and not (tmp_path / "best.json").exists()
    assert "No candidate meets them: there is no pick" in (tmp_path / "summary.md").read_text()


@pytest.mark.parametrize("overrides, message", [
    ([*DEVICE, 'search.constraints=["edgegpu_latency<=0.1"]'],
     "search.constraints[0]: no cell meets edgegpu_latency<=0.1: the smallest edgegpu_latency in the table is 0.501385"),
    (['search.constraints=["edgegpu_latency<=5"]'],
     "edgegpu_latency is not measured; measure it with evaluator=nasbench201 evaluator.device=edgegpu"),
    (["evaluator.device=tpu"], "evaluator.device: 'tpu' is not one of edgegpu, raspi4, edgetpu, pixel3, eyeriss, fpga"),
    ([*DEVICE, 'search.constraints=["params>=2e6"]'],
     "no cell meets params>=2e+06: the largest params in the table is 1.53155e+06"),
])
def test_a_constraint_or_device_no_search_can_serve_is_one_line(overrides, message):
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]").replace("+", r"\+")):
        nasbench.search(space="nasbench201", evaluator="nasbench201", trials=2, overrides=overrides)


def test_the_command_line_spells_constraints_and_home_paths_for_hydra():
    from pathlib import Path

    assert spelled_for_hydra("search.constraints=[edgegpu_latency<=5.0,params<1e6]") == \
        'search.constraints=["edgegpu_latency<=5.0","params<1e6"]'
    assert spelled_for_hydra('search.constraints=["params<=1"]') == 'search.constraints=["params<=1"]'
    assert spelled_for_hydra("data.root=~/my_images") == f"data.root={Path('~/my_images').expanduser()}"
    assert spelled_for_hydra("budget.trials=3") == "budget.trials=3"


def test_a_multi_objective_run_reports_its_front_and_its_share_of_the_true_front(tmp_path):
    import re

    from nasbench.evaluators.nasbench201 import NasBench201Evaluator
    from nasbench.run.pareto import hypervolume, pareto_front

    outcome = nasbench.search(space="nasbench201", evaluator="nasbench201", strategy="nsga2", trials=40,
                              run_dir=tmp_path, strategy_params={"objectives": ["val_acc", "edgegpu_latency"]},
                              overrides=DEVICE)
    summary = (tmp_path / "summary.md").read_text()
    points = [(r.result.hardware["edgegpu_latency"], r.result.val_acc) for r in outcome.history]
    every = NasBench201Evaluator(devices=["edgegpu"]).every_cell("edgegpu_latency")
    assert len(every) == 15_625
    reference = (max(latency for latency, _ in every), 0.0)
    ratio = hypervolume(points, reference) / hypervolume(every, reference)
    assert "## Pareto front (val_acc against edgegpu_latency)" in summary
    assert f"{len(pareto_front(points))} of the 40 feasible finished candidates are on the front." in summary
    shown = float(re.search(r"found / true (\d\.\d+)", summary).group(1))
    assert shown == pytest.approx(ratio, abs=5e-5) and 0 < ratio < 1


@pytest.mark.parametrize("strategy, params", [
    ("bananas", {"objectives": ["val_acc", "edgegpu_latency"], "initial_points": 5, "epochs": 10, "refit_epochs": 2}),
    ("local", {"objectives": ["val_acc", "edgegpu_latency"], "initial_points": 5}),
])
def test_bananas_and_local_search_take_two_objectives(tmp_path, strategy, params):
    outcome = nasbench.search(space="nasbench201", evaluator="nasbench201", strategy=strategy, trials=25,
                              run_dir=tmp_path, strategy_params=params, overrides=DEVICE)
    assert len(outcome.history) == 25 and len({r.candidate.key for r in outcome.history}) == 25
    assert "## Pareto front (val_acc against edgegpu_latency)" in (tmp_path / "summary.md").read_text()
