"""Structured configs (Hydra's ConfigStore idea): the composed config is merged into these
schemas at start-up, so a misspelt key fails at once with its name, not mid-run.

The ``evaluator`` and ``executor`` groups are checked against the schema of the class
their ``name`` picks (``Config`` on each class of ``EVALUATORS`` and ``EXECUTORS``), so a
new evaluator brings its own settings without an edit here.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Sequence

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from nasbench.evaluators import EVALUATORS
from nasbench.executors import EXECUTORS
from search_spaces.errors import NasError
from search_spaces.registry import Registry, RegistryError

CONF_DIR = Path(__file__).resolve().parents[1] / "conf"  # nasbench/conf, the Hydra config tree
GROUPS = ("space", "search", "evaluator", "data", "trainer", "executor", "experiment")


class ConfigSchemaError(NasError, ValueError):
    """The composed config does not fit the schema; the message names the key."""


@dataclass
class SpaceConfig:
    name: str = "???"
    skeleton: dict[str, Any] = field(default_factory=dict)  # checked by the space's ``network``


@dataclass
class SearchConfig:
    name: str = "evolution"
    params: dict[str, Any] = field(default_factory=dict)  # checked by the strategy's constructor
    seed_points: list[Any] = field(default_factory=list)  # cells evaluated first (any form the resolver takes)
    constraints: list[str] = field(default_factory=list)  # ["edgegpu_latency<=5.0", "params<=1e6"]: the pick must meet them


@dataclass
class DataConfig:
    name: str = "digits"
    root: Optional[str] = None
    train_fraction: float = 1.0
    resolution: Optional[int] = None
    seed: int = 0


@dataclass
class BudgetConfig:
    trials: Optional[int] = None
    seconds: Optional[float] = None
    max_consecutive_failures: Optional[int] = 20


@dataclass
class RootConfig:
    search: SearchConfig = field(default_factory=SearchConfig)
    evaluator: Any = field(default_factory=lambda: {"name": "proxy"})  # checked by _group_schema
    data: DataConfig = field(default_factory=DataConfig)
    trainer: dict[str, Any] = field(default_factory=dict)
    executor: Any = field(default_factory=lambda: {"name": "local"})  # checked by _group_schema
    space: Optional[SpaceConfig] = None
    budget: BudgetConfig = field(default_factory=BudgetConfig)
    seed: int = 0
    resume: Optional[str] = None
    progress: bool = True


def group_choices(group: str, conf_dir: Path = CONF_DIR) -> list[str]:
    """The configs of one group (``space``: nasnet, amoeba, ...)."""
    return sorted(path.stem for path in (conf_dir / group).glob("*.yaml"))


def check_overrides(overrides: Sequence[str], conf_dir: Path = CONF_DIR) -> str | None:
    """A one-line complaint about the first override naming a missing config, or None."""
    for override in overrides:
        if "=" not in override or override.startswith("hydra"):
            continue
        key, value = override.split("=", 1)
        if key == "space":  # the config has no default space to override
            return f"space={value}: a space is added, not overridden; write +space={value}"
        group = key.lstrip("+~")
        if group not in GROUPS:
            continue
        choices = group_choices(group, conf_dir)
        for option in value.split(","):
            if option and option not in choices:
                return f"{group}={option}: no such {group}; choose from {', '.join(choices)}"
    return None


def _merged(schema: Any, data: Any, prefix: str = "") -> DictConfig:
    try:
        return OmegaConf.merge(OmegaConf.structured(schema), data)
    except OmegaConfBaseException as exc:
        key = getattr(exc, "full_key", None)
        text = str(exc).splitlines()[0]
        raise ConfigSchemaError(f"{prefix}{key}: {text}" if key else text) from None


def _group_schema(group: str, registry: Registry[Any], data: Any) -> DictConfig:
    """``data`` checked against the ``Config`` of the class its ``name`` picks."""
    name = data.get("name") if isinstance(data, dict) else None
    try:
        schema = registry.constructor(name).Config
    except RegistryError as exc:
        raise ConfigSchemaError(f"{group}.name: {exc}") from None
    return _merged(schema, data, prefix=f"{group}.")


def validate(cfg: DictConfig) -> DictConfig:
    """The config merged into the schemas; raises ``ConfigSchemaError`` naming the bad key."""
    plain = OmegaConf.to_container(cfg, resolve=True)
    if isinstance(plain, dict):
        plain.pop("hydra", None)
    merged = _merged(RootConfig, plain)
    merged.evaluator = _group_schema("evaluator", EVALUATORS, plain.get("evaluator", {"name": "proxy"}))
    merged.executor = _group_schema("executor", EXECUTORS, plain.get("executor", {"name": "local"}))
    return merged


def typed(group: DictConfig) -> Any:
    """A validated group as its dataclass (``RayExecutorConfig(...)``)."""
    return OmegaConf.to_object(group)
