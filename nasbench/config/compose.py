"""Composing the search config with Hydra, from the config tree inside the package.

Hydra keeps one global instance; every composition here clears it before and after, so
that composing never depends on (or disturbs) what ran before in the process.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import DictConfig

from nasbench.config.schema import CONF_DIR


def compose_overrides(overrides: Sequence[str], conf_dir: Path = CONF_DIR) -> DictConfig:
    """The config ``config.yaml`` of ``conf_dir`` composes with ``overrides``
    (``["+space=nasnet", "search=tpe"]``); Hydra's and OmegaConf's errors as they raise them."""
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(version_base="1.3", config_dir=str(conf_dir)):
            return compose(config_name="config", overrides=list(overrides))
    finally:
        GlobalHydra.instance().clear()
