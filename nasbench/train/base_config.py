"""The settings every training run shares, proxy or full scale (a Hydra structured config).

``TrainConfigBase`` holds the SGD recipe (Zoph et al. 2018, https://arxiv.org/abs/1707.07012,
Sec. A.1; Liu et al. 2019, https://arxiv.org/abs/1806.09055, Sec. 3.3), the augmentation,
the regularisers, the seed and where the run executes. Its defaults are a short proxy run;
``nasbench.train.trainer.TrainerConfig`` keeps them and ``nasbench.train.recipe.FullTrainConfig``
overrides them with DARTS' final CIFAR training. Each subclass adds its own settings and
checks them in ``__post_init__`` after calling this one.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Sequence

import torch

from nasbench.core.errors import ConfigError
from nasbench.train.schedule import SCHEDULES
from search_spaces.value_kinds import field_kind_problem

AMP_MODES = ("auto", "bf16", "off")


class TrainConfigError(ConfigError):
    """A training setting out of range; ``str``: ``Owner.field: reason``."""

    def __init__(self, owner: str, field: str, reason: str) -> None:
        super().__init__(f"{owner}.{field}: {reason}")
        self.owner, self.field, self.reason = owner, field, reason


@dataclass
class TrainConfigBase:
    """What the proxy and the full trainer share; same names in ``nasbench/conf/trainer/*.yaml``."""

    epochs: int = 10
    batch_size: int = 128  # the global batch
    lr: float = 0.1  # peak learning rate
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 5e-4
    schedule: str = "cosine"  # cosine | onecycle (nasbench.train.schedule), stepped per batch
    warmup_epochs: float = 0.0  # linear warm-up; onecycle uses 30% of the run when 0
    label_smoothing: float = 0.0  # Szegedy et al. 2016 (arXiv:1512.00567)
    cutout: int = 0  # side of the cutout square, 0 = off (DeVries & Taylor 2017)
    crop_padding: int = 4  # random-crop padding, 0 = off
    flip: bool = True  # random horizontal flip
    drop_path: float = 0.0  # final drop-path probability, reached linearly (NASNet's ScheduledDropPath)
    aux_weight: float = 0.4  # weight of auxiliary-head losses (Szegedy et al. 2015)
    grad_clip: float = 0.0  # max gradient norm; 0 = off
    amp: str = "auto"  # auto = bf16 autocast on CUDA, off on CPU | bf16 | off
    seed: int = 0
    deterministic: bool = True  # torch.use_deterministic_algorithms during the run
    eval_batch_size: int = 1024
    device: str = "auto"  # auto = cuda when available, else cpu
    cpu_threads: int = 0  # torch's intra-op threads during the run; 0 keeps the current setting

    def __post_init__(self) -> None:
        self.check_kinds()
        self.check_positive("epochs", "batch_size", "lr", "eval_batch_size")
        self.check_non_negative("momentum", "weight_decay", "warmup_epochs", "cutout", "crop_padding",
                                "aux_weight", "grad_clip", "cpu_threads")
        self.check_fraction("label_smoothing", "drop_path")
        self.check_choice("schedule", SCHEDULES)
        self.check_choice("amp", AMP_MODES)
        if self.device != "auto":
            try:
                torch.device(self.device)
            except RuntimeError as error:
                raise self.error("device", f"{self.device!r} is not a device ({error})") from None

    def error(self, field: str, reason: str) -> TrainConfigError:
        return TrainConfigError(type(self).__name__, field, reason)

    def check_kinds(self) -> None:
        """Every field of a plain kind (bool, int, float, str; ``Optional`` ones may be None)
        holds one (an int will do for a float)."""
        for field in dataclasses.fields(self):
            problem = field_kind_problem(type(self), field.name, getattr(self, field.name))
            if problem:
                raise self.error(field.name, problem)

    def check_positive(self, *names: str) -> None:
        for name in names:
            if not getattr(self, name) > 0:
                raise self.error(name, f"{getattr(self, name)} must be positive")

    def check_non_negative(self, *names: str) -> None:
        for name in names:
            if getattr(self, name) < 0:
                raise self.error(name, f"{getattr(self, name)} must be >= 0")

    def check_fraction(self, *names: str) -> None:
        """Each of ``names`` in [0, 1)."""
        for name in names:
            if not 0.0 <= getattr(self, name) < 1.0:
                raise self.error(name, f"{getattr(self, name)} must be in [0, 1)")

    def check_choice(self, name: str, choices: Sequence[str]) -> None:
        if getattr(self, name) not in choices:
            raise self.error(name, f"{getattr(self, name)!r} is not one of {', '.join(choices)}")
