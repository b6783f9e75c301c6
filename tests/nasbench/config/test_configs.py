"""Every config in conf/ composes and fits the structured schema."""
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra

from nasbench.config.schema import validate
from nasbench.evaluators.proxy import trainer_config
from nasbench.config.schema import CONF_DIR, ConfigSchemaError, group_choices

GROUP_OPTIONS = [(group, option) for group in ("space", "search", "evaluator", "data", "trainer", "executor")
                 for option in group_choices(group)]


def compose_with(overrides):
    GlobalHydra.instance().clear()
    with initialize_config_dir(version_base="1.3", config_dir=str(CONF_DIR)):
        return compose(config_name="config", overrides=overrides)


@pytest.mark.parametrize("group, option", GROUP_OPTIONS)
def test_every_group_option_composes_and_validates(group, option):
    overrides = [f"+space={option}"] if group == "space" else ["+space=nasnet", f"{group}={option}"]
    cfg = validate(compose_with(overrides))
    assert cfg[group] is not None
    trainer_config(dict(cfg.trainer), seed=0)


@pytest.mark.parametrize("experiment", group_choices("experiment"))
def test_every_experiment_preset_composes(experiment):
    cfg = validate(compose_with(["+space=nasbench201", f"+experiment={experiment}"]))
    assert cfg.budget.trials is not None or cfg.budget.seconds is not None


def test_every_config_file_is_reachable():
    files = {(path.parent.name, path.stem) for path in Path(CONF_DIR).glob("*/*.yaml")}
    assert files == set(GROUP_OPTIONS) | {("experiment", name) for name in group_choices("experiment")}


@pytest.mark.parametrize("override, key", [
    ("executor.max_concurent_trials=3", "executor.max_concurent_trials"),
    ("evaluator.datset=cifar100", "evaluator.datset"),
])
def test_each_group_is_checked_against_its_own_schema(override, key):
    group = override.split(".")[0]
    choice = {"executor": "executor=ray", "evaluator": "evaluator=nasbench201"}[group]
    with pytest.raises(ConfigSchemaError, match=key):
        validate(compose_with(["+space=nasbench201", choice, f"+{override}"]))
