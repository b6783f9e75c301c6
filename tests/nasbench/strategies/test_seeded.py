"""A search's seed points: evaluated first in any form the resolver takes, learned from by
evolution, kept across a resume."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra

from nasbench.config.schema import CONF_DIR, validate
from nasbench.core.errors import ConfigError
from nasbench.config.parts import make_parts
from nasbench.core.result import EvalResult
from nasbench.run.store import STATE
from nasbench.cli.search import run_from_config
from nasbench.strategies.evolution import RegularizedEvolution
from nasbench.strategies.seeded import SeededStrategy
from search_spaces.published import point as published_point
from search_spaces.spaces.nasbench201 import NasBench201Space

TABLE = ["+space=nasbench201", "evaluator=nasbench201", "progress=false", "search=evolution"]
BEST = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"


def composed(overrides: list[str]):
    GlobalHydra.instance().clear()
    with initialize_config_dir(version_base="1.3", config_dir=str(CONF_DIR)):
        return compose(config_name="config", overrides=overrides)


def points(run_dir: Path) -> list[str]:
    return [json.loads(line)["point"] for line in (run_dir / "history.jsonl").read_text().splitlines()]


def test_seed_points_come_first_then_the_strategy_s_own():
    space = NasBench201Space()
    seeded = SeededStrategy(RegularizedEvolution(space, seed=1), space, [BEST], seed=1)
    plain = RegularizedEvolution(space, seed=1)
    first = seeded.ask()
    assert (first.trial, first.point) == (0, BEST)
    following = [seeded.ask() for _ in range(3)]
    assert [c.trial for c in following] == [1, 2, 3]
    assert [c.point for c in following] == [plain.ask().point for _ in range(3)]


def test_evolution_takes_a_seed_into_its_population():
    space = NasBench201Space()
    evolution = RegularizedEvolution(space, seed=0)
    seeded = SeededStrategy(evolution, space, [BEST], seed=0)
    seeded.tell(seeded.ask(), EvalResult(status="ok", val_acc=0.9, cost_seconds=1.0))
    assert evolution.population == [(BEST, space.key(BEST), 0.9)]


def test_a_resumed_seeded_search_is_the_uninterrupted_one(tmp_path):
    seeds = ['search.seed_points=["6111",12]']
    run_from_config(composed(TABLE + seeds + ["budget.trials=6"]), tmp_path / "part")
    (tmp_path / "part" / STATE).unlink()  # rebuilt by replay: the seeds are asked again, in order
    run_from_config(composed(TABLE + [f"resume={tmp_path / 'part'}", "budget.trials=14"]), tmp_path / "unused",
                    command_line=["budget.trials=14"])
    run_from_config(composed(TABLE + seeds + ["budget.trials=14"]), tmp_path / "whole")
    assert points(tmp_path / "part") == points(tmp_path / "whole")
    assert points(tmp_path / "whole")[:2] == [BEST, "|none~0|+|none~0|none~1|+|none~0|nor_conv_3x3~1|avg_pool_3x3~2|"]


def test_a_darts_format_seed_becomes_a_point_of_the_darts_space(tmp_path):
    text = ("Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), "
            "('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], "
            "normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), "
            "('max_pool_3x3', 1), ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), "
            "('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])")
    cfg = composed(["+space=darts", "search=random", f"search.seed_points=[{json.dumps(text)}]"])
    strategy = make_parts(validate(cfg), tmp_path).strategy
    assert strategy.ask().point == published_point("darts_v2")


@pytest.mark.parametrize("seed, message", [
    ("darts_v2", r"search.seed_points\[0\]: .*darts_v2 is a cell of the darts space"),
    ("15625", r"search.seed_points\[0\]: NAS-Bench-201 index '15625' is not in"),
])
def test_a_bad_seed_point_is_one_line_naming_it(tmp_path, seed, message):
    with pytest.raises(ConfigError, match=message):
        make_parts(validate(composed(TABLE + [f"search.seed_points=[{seed}]"])), tmp_path)


def test_the_report_keeps_what_the_wrapped_strategy_says():
    space = NasBench201Space()

    class Talking(RegularizedEvolution):
        def report(self):
            return {"moves": 3}

    assert SeededStrategy(Talking(space), space, [BEST]).report() == {"seed points": 1, "moves": 3}


def test_a_seed_point_named_twice_is_evaluated_once():
    space = NasBench201Space()
    other = "|none~0|+|none~0|none~1|+|none~0|nor_conv_3x3~1|avg_pool_3x3~2|"
    seeded = SeededStrategy(RegularizedEvolution(space), space, [BEST, other, BEST])
    assert seeded.points == [BEST, other]
    assert [seeded.ask().point for _ in range(2)] == [BEST, other] and seeded.ask().point not in (BEST, other)
