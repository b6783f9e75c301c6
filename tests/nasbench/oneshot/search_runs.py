"""What the one-shot search tests share: a composed config, tiny settings, a run's history."""
from __future__ import annotations

import json
from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra

from nasbench.config.schema import CONF_DIR

QUICK = ["data.train_fraction=0.05", "search.params.batch_size=16", "progress=false"]  # 62 images: 3 steps an epoch


def composed(overrides: list[str]):
    GlobalHydra.instance().clear()
    with initialize_config_dir(version_base="1.3", config_dir=str(CONF_DIR)):
        return compose(config_name="config", overrides=overrides)


def history(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "history.jsonl").read_text().splitlines()]
