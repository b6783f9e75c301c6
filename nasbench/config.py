"""Structured configs (Hydra's ConfigStore idea): the composed config is merged into these
schemas at start-up, so a misspelt key fails at once with its name, not mid-run."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException


class ConfigSchemaError(ValueError):
    """The composed config does not fit the schema; the message names the key."""


@dataclass
class SkeletonConfig:
    name: str = "cifar"
    cells_per_stage: int = 1
    filters: int = 8
    aux_head: bool = False


@dataclass
class SpaceConfig:
    name: str = "???"
    skeleton: SkeletonConfig = field(default_factory=SkeletonConfig)


@dataclass
class SearchConfig:
    name: str = "evolution"
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class EvaluatorConfig:
    name: str = "proxy"
    dataset: str = "cifar10"
    path: Optional[str] = None


@dataclass
class DataConfig:
    name: str = "digits"
    root: Optional[str] = None
    train_fraction: float = 1.0
    resolution: Optional[int] = None
    seed: int = 0


@dataclass
class ExecutorConfig:
    name: str = "local"
    address: Optional[str] = None
    num_cpus: Optional[int] = None
    cpus_per_trial: float = 1.0
    gpus_per_trial: float = 0.0
    max_concurrent_trials: int = 2
    max_failures: int = 2
    reuse_actors: bool = False
    scheduler: Optional[str] = None


@dataclass
class BudgetConfig:
    trials: Optional[int] = None
    seconds: Optional[float] = None


@dataclass
class RootConfig:
    search: SearchConfig = field(default_factory=SearchConfig)
    evaluator: EvaluatorConfig = field(default_factory=EvaluatorConfig)
    data: DataConfig = field(default_factory=DataConfig)
    trainer: dict[str, Any] = field(default_factory=dict)
    executor: ExecutorConfig = field(default_factory=ExecutorConfig)
    space: Optional[SpaceConfig] = None
    budget: BudgetConfig = field(default_factory=BudgetConfig)
    seed: int = 0
    resume: Optional[str] = None
    progress: bool = True


def validate(cfg: DictConfig) -> DictConfig:
    """The config merged into the schema; raises ``ConfigSchemaError`` naming the bad key."""
    plain = OmegaConf.to_container(cfg, resolve=True)
    if isinstance(plain, dict):
        plain.pop("hydra", None)
    try:
        return OmegaConf.merge(OmegaConf.structured(RootConfig), plain)
    except OmegaConfBaseException as exc:
        key = getattr(exc, "full_key", None)
        text = str(exc).splitlines()[0]
        raise ConfigSchemaError(f"{key}: {text}" if key else text) from exc
