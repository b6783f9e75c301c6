"""The proxy evaluator: build a reduced network for a space's point and train it briefly.

The space turns the point into a network (``Space.network``: a cell point stacked into a
small CIFAR-style skeleton of N cells per stage and F filters, a blocks point as it is);
the data set is loaded once per evaluator and kept resident; each evaluation is seeded
from the candidate's seed. Failures come back as results (see ``ProxyTrainer``).
Successive halving hands it a ``checkpoint`` (a ``TrainingCheckpoint``) so that a
promoted candidate continues the training its previous rung stopped.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Optional

from nasbench.core.errors import ConfigError
from nasbench.data import check_dataset, load_data_group
from nasbench.data.splits import DatasetSplits
from nasbench.evaluators.base import EvaluatorContext
from nasbench.core.result import EvalResult
from nasbench.core.candidate import Candidate
from nasbench.train.curves import trial_curves
from nasbench.train.trainer import ProgressCallback, ProxyTrainer, TrainerConfig, TrainingCheckpoint
from search_spaces.build import MAX_PARAMETERS, build_network
from search_spaces.genotype import GenotypeError
from search_spaces.spaces.base import Space, SpaceError


@dataclass
class ProxyEvaluatorConfig:
    """``evaluator=proxy``: the training settings live in the ``trainer`` and ``data``
    groups; ``max_params`` refuses a candidate network larger than that (counted while it
    is built, before its weights exist) as a failed candidate, not a training run."""

    name: str = "proxy"
    max_params: Optional[int] = None  # None: no limit but build_network's own

    def __post_init__(self) -> None:
        if self.max_params is not None and self.max_params < 1:
            raise ConfigError(f"evaluator.max_params: {self.max_params} must be >= 1 (or null)")


def trainer_config(settings: Mapping[str, Any], seed: int) -> TrainerConfig:
    """A ``TrainerConfig`` from the ``trainer`` config group, with the candidate's seed."""
    known = {f.name for f in dataclasses.fields(TrainerConfig)}
    unknown = sorted(set(settings) - known)
    if unknown:
        raise ConfigError(f"trainer.{unknown[0]}: not a trainer setting; known: {', '.join(sorted(known))}")
    return TrainerConfig(**{**settings, "seed": seed})


class ProxyEvaluator:
    """Trains each candidate's proxy network (``space.network(point, skeleton=...)``)
    on the configured data set; ``evaluator(candidate, progress=None, checkpoint=None)``."""

    Config = ProxyEvaluatorConfig

    def __init__(self, space: Space, skeleton: Mapping[str, Any] | None = None,
                 data: Mapping[str, Any] | None = None, trainer: Mapping[str, Any] | None = None,
                 max_params: int | None = None, curves: Path | None = None):
        self.space = space
        self.curves = None if curves is None else Path(curves)
        self.max_params = max_params
        self.skeleton = dict(skeleton or {})
        self.data = {"name": "digits", **dict(data or {})}
        self.trainer = dict(trainer or {})
        trainer_config(self.trainer, 0)  # refuse a misspelt setting now, not mid-search
        check_dataset(self.data["name"], self.data.get("root"))  # a bad image folder: one line now
        self._splits: DatasetSplits | None = None

    @classmethod
    def from_config(cls, settings: ProxyEvaluatorConfig, context: EvaluatorContext) -> "ProxyEvaluator":
        return cls(context.space, context.skeleton, context.data, context.trainer, max_params=settings.max_params,
                   curves=context.curves)

    def splits(self) -> DatasetSplits:
        if self._splits is None:
            self._splits = load_data_group(self.data)
        return self._splits

    def network_inputs(self) -> dict[str, int]:
        """The classes and input shape of the networks it trains (the data set's)."""
        channels, height, _ = self.splits().input_shape
        return {"num_classes": self.splits().num_classes, "input_size": height, "input_channels": channels}

    def __call__(self, candidate: Candidate, progress: ProgressCallback | None = None,
                 checkpoint: TrainingCheckpoint | None = None) -> EvalResult:
        """Train the candidate; with ``curves``, its per-epoch curves go to
        ``curves/trial_NNNNN`` (TensorBoard event files)."""
        if self.curves is None:
            return self.evaluate(candidate.point, seed=candidate.seed, progress=progress, checkpoint=checkpoint)
        with trial_curves(self.curves, candidate.trial) as curves:
            return self.evaluate(candidate.point, seed=candidate.seed, progress=curves.wrap(progress),
                                 checkpoint=checkpoint)

    def evaluate(self, point: Any, seed: int, progress: ProgressCallback | None = None,
                 checkpoint: TrainingCheckpoint | None = None) -> EvalResult:
        """Train ``point``'s proxy network; ``progress`` is the trainer's per-epoch
        callback (``ProxyTrainer.fit``), used by the Ray executor to report each epoch
        and by successive halving to stop a rung; ``checkpoint``: where a stopped run
        leaves its training state and a promoted one continues it."""
        splits = self.splits()
        channels, height, _ = splits.input_shape
        try:
            genotype = self.space.network(point, num_classes=splits.num_classes, input_size=height,
                                          input_channels=channels, skeleton=self.skeleton)
            model = build_network(genotype.to_dict(), seed=seed,
                                  max_parameters=MAX_PARAMETERS if self.max_params is None else self.max_params)
        except (SpaceError, GenotypeError, ValueError) as exc:
            return EvalResult(status="error", message=f"cannot build the candidate: {exc}", seed=seed)
        result = ProxyTrainer(trainer_config(self.trainer, seed)).fit(model, splits, progress=progress,
                                                                      checkpoint=checkpoint)
        result.settings = {**result.settings, "skeleton": self.skeleton, "data": self.data,
                           "space": self.space.name}
        return result
