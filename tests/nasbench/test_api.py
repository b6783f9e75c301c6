"""The Python API: ``nasbench.search`` runs the CLI's search (same run directory, same
candidates, resume) with names or objects; ``nasbench.rebuild`` returns the module."""
from __future__ import annotations

import json

import pytest

import nasbench
from nasbench.config.schema import CONF_DIR
from nasbench.run.search_loop import SearchOutcome
from nasbench.evaluators.nasbench201 import NasBench201Evaluator
from nasbench.core.errors import ConfigError
from nasbench.core.result import EvalResult
from nasbench.cli.search import run_from_config
from nasbench.strategies.evolution import RegularizedEvolution
from search_spaces.spaces.nasbench201 import NasBench201Space

TABLE = {"space": "nasbench201", "evaluator": "nasbench201"}


def history_keys(run_dir):
    return [json.loads(line)["key"] for line in (run_dir / "history.jsonl").read_text().splitlines()]


def test_every_export_resolves():
    for name in nasbench.__all__:
        assert getattr(nasbench, name) is not None, name
    with pytest.raises(AttributeError):
        nasbench.no_such_thing  # noqa: B018


def test_search_by_names_is_the_cli_search(tmp_path):
    out = nasbench.search(**TABLE, strategy="evolution", trials=20, seed=3, run_dir=tmp_path / "api")
    assert isinstance(out, SearchOutcome) and len(out.history) == 20 and out.best is not None
    from nasbench.api import compose_config

    cfg = compose_config(["+space=nasbench201", "evaluator=nasbench201", "search=evolution", "budget.trials=20",
                          "seed=3", "progress=false"])
    run_from_config(cfg, tmp_path / "cli")
    assert history_keys(tmp_path / "api") == history_keys(tmp_path / "cli")
    for name in ("config.yaml", "best.json", "summary.md", "strategy_state.pt"):
        assert (tmp_path / "api" / name).is_file(), name


def test_search_resumes_its_run_directory_with_more_budget(tmp_path):
    first = nasbench.search(**TABLE, strategy="tpe", trials=8, run_dir=tmp_path)
    again = nasbench.search(**TABLE, strategy="tpe", trials=12, run_dir=tmp_path)
    assert [r.candidate.key for r in again.history[:8]] == [r.candidate.key for r in first.history]
    assert [r.candidate.trial for r in again.history] == list(range(12))
    assert (tmp_path / "optuna.journal").is_file()


def test_objects_are_accepted_where_names_are():
    space = NasBench201Space()
    seen = []

    def evaluate(candidate):
        seen.append(candidate.trial)
        return EvalResult(status="ok", val_acc=len(space.key(candidate.point)) / 100.0, cost_seconds=1.0)

    out = nasbench.search(space, strategy=RegularizedEvolution(space, seed=1, population_size=4, sample_size=2),
                          evaluator=evaluate, trials=10)
    assert seen == list(range(10)) and len(out.history) == 10
    table = nasbench.search(space, strategy="random", evaluator=NasBench201Evaluator(dataset="cifar100"), trials=5)
    assert all(r.result.settings["dataset"] == "cifar100" for r in table.history)


def test_bad_names_are_one_line_typed_errors():
    with pytest.raises(ConfigError, match="search=evolutoin: no such search"):
        nasbench.search(**TABLE, strategy="evolutoin", trials=2)
    with pytest.raises(ConfigError, match="looks up NAS-Bench-201 cells"):
        nasbench.search(space="nasnet", evaluator="nasbench201", trials=2)
    with pytest.raises(ConfigError, match="budget trials: 0 must be >= 1"):
        nasbench.search(**TABLE, trials=0)
    with pytest.raises(ConfigError, match="budget.trails"):
        nasbench.search(**TABLE, trials=2, overrides=["budget.trails=3"])
    with pytest.raises(ConfigError, match=r"strategy_params: a mapping of settings \(a dict\), not a list"):
        nasbench.search(**TABLE, trials=2, strategy_params=[1, 2])
    assert issubclass(ConfigError, nasbench.UsageError) and nasbench.ConfigError is ConfigError
    assert CONF_DIR.is_dir() and CONF_DIR.parent.name == "nasbench"


def test_rebuild_returns_the_module_with_the_papers_count():
    net = nasbench.rebuild("resnet34")
    assert sum(p.numel() for p in net.parameters()) == 21_797_672
    small = nasbench.rebuild("resnet18", num_classes=7, input_size=64)
    assert small(__import__("torch").zeros(1, 3, 64, 64)).shape == (1, 7)


def test_a_run_directory_is_continued_only_with_its_own_settings(tmp_path):
    """Another strategy, evaluator or seed in a run directory that holds a run is refused
    before anything is written: its history and config.yaml stay the run's own."""
    table = {"space": "nasbench201", "evaluator": "nasbench201", "strategy": "local"}
    nasbench.search(**table, trials=4, run_dir=tmp_path)
    config = (tmp_path / "config.yaml").read_text()
    for changed, named in (({"strategy": "random"}, "search.name=local, not random"),
                           ({"evaluator": "proxy"}, "evaluator.name=nasbench201, not proxy"),
                           ({"seed": 5}, "seed=0, not 5")):
        with pytest.raises(nasbench.ConfigError, match=f"holds a run with {named}; continue it with resume="):
            nasbench.search(**{**table, **changed}, trials=6, run_dir=tmp_path)
        assert (tmp_path / "config.yaml").read_text() == config
    assert len(nasbench.search(**table, trials=6, run_dir=tmp_path).history) == 6  # more budget: continued


def test_a_file_given_as_the_run_directory_is_named_as_such(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(nasbench.UsageError, match=r"run directory .*notes.txt is a file; give a directory"):
        nasbench.search(**TABLE, trials=2, run_dir=tmp_path / "notes.txt")
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_one_objective_and_one_override_may_be_plain_strings():
    outcome = nasbench.search(space="nasbench201", evaluator="nasbench201", strategy="nsga2", trials=3,
                              strategy_params={"objectives": "val_acc"}, overrides="evaluator.dataset=cifar100")
    assert len(outcome.history) == 3 and outcome.history[0].result.settings["dataset"] == "cifar100"


def test_an_evaluator_returning_something_else_is_a_failed_candidate():
    outcome = nasbench.search(space="nasbench201", strategy="random", trials=2, evaluator=lambda candidate: 0.5)
    assert [r.result.status for r in outcome.history] == ["error", "error"] and outcome.all_failed
    assert "the evaluator returned float, not an EvalResult" in outcome.history[0].result.message


def test_a_one_shot_search_refuses_another_evaluator():
    with pytest.raises(ConfigError, match="search=gdas scores cells with its supernet on data=digits; "
                                          "evaluator=nasbench201 does not apply"):
        nasbench.search(space="nasbench201", strategy="gdas", evaluator="nasbench201", trials=1)


def test_the_summary_says_what_ran(tmp_path):
    """A sweep's folders 0, 1, ... are told apart by their summaries' first line."""
    def score(candidate):
        from nasbench.core.result import EvalResult
        return EvalResult(status="ok", val_acc=0.5)

    nasbench.search(space="nasbench201", strategy="random", evaluator=score, trials=2, seed=3, run_dir=tmp_path)
    line = (tmp_path / "summary.md").read_text().splitlines()[2]
    assert line == "`search=random, +space=nasbench201, evaluator=score on data=digits, executor=local, seed=3, " \
                   "budget 2 trials`"


def test_a_table_run_hands_on_the_benchmarks_network_and_says_its_costs_are_the_tables(tmp_path):
    """NB201's numbers are of its N=5, C=16 network: best_network.json (what rebuild RUN_DIR
    builds) is that network, with the parameters best.json reports."""
    import json

    from nasbench.networks.rebuild import build

    nasbench.search(space="nasbench201", evaluator="nasbench201", strategy="random", trials=3, run_dir=tmp_path)
    best = json.loads((tmp_path / "best.json").read_text())
    assert best["skeleton"] == {"name": "nasbench201", "cells_per_stage": 5, "filters": 16}
    network = json.loads((tmp_path / "best_network.json").read_text())
    assert sum(p.numel() for p in build(network).parameters()) == best["result"]["params"]
    assert "cost (s, the table's 12-epoch estimate)" in (tmp_path / "summary.md").read_text()


def test_the_summary_shows_the_picks_cell_as_text_and_drawing(tmp_path):
    import json

    nasbench.search(space="nasbench201", evaluator="nasbench201", strategy="random", trials=3, run_dir=tmp_path)
    summary = (tmp_path / "summary.md").read_text()
    best = json.loads((tmp_path / "best.json").read_text())
    assert "## The pick (`best.json`)" in summary and f"\n{best['point']}\n" in summary
    drawings = [line[line.index("(") + 1:-1] for line in summary.splitlines() if line.startswith("![")]
    assert drawings and all((tmp_path / name).is_file() for name in drawings)
