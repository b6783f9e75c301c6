"""Local search and BANANAS on Ray Tune through the one searcher adapter, two trials in
flight: every trial recorded once, the state told them all."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra

from nasbench.config.schema import CONF_DIR
from nasbench.run.store import RunStore
from nasbench.cli.search import run_from_config

pytest.importorskip("ray")

TABLE = ["+space=nasbench201", "evaluator=nasbench201", "progress=false"]
RAY = ["executor=ray", "executor.max_concurrent_trials=2"]


def composed(overrides):
    GlobalHydra.instance().clear()
    with initialize_config_dir(version_base="1.3", config_dir=str(CONF_DIR)):
        return compose(config_name="config", overrides=overrides)


@pytest.mark.slow  # 90-110 s each on the loaded 2-core machine: python -m pytest -m slow
@pytest.mark.parametrize("name, params", [
    ("local", []),
    # small settings: the predictor takes over after three results and trains briefly
    ("bananas", ["search.params.initial_points=3", "search.params.epochs=20", "search.params.refit_epochs=5"]),
])
def test_runs_on_ray_with_trials_in_flight(ray_session, tmp_path: Path, name, params):
    outcome = run_from_config(composed(TABLE + RAY + [f"search={name}", "budget.trials=12", *params]), tmp_path)
    rows = [json.loads(line) for line in (tmp_path / "history.jsonl").read_text().splitlines()]
    assert sorted(row["trial"] for row in rows) == list(range(12)) and len(outcome.history) == 12
    assert all(row["status"] == "ok" for row in rows)
    assert len({row["key"] for row in rows}) == 12, "no cell proposed twice"
    state = RunStore(tmp_path).load_state()
    assert state["told"] == 12 and state["pending"] == {}
    assert state["strategy"]["strategy"] == name
