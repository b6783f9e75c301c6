"""A subnet scored on its supernet's weights: an evaluator like any other.

SPOS (Guo et al. 2020, https://arxiv.org/abs/1904.00420, Sec. 3.3) searches a trained
supernet by evolution whose fitness is a subnet's validation accuracy on the inherited
weights, after its batch normalisation statistics are recomputed on a few training
batches. ``InheritedWeights`` is that fitness as an evaluator (a ``Candidate`` in, an
``EvalResult`` out), so the evolution is an ordinary ask/tell search that any executor
runs. ``SharedInheritedWeights`` is the same evaluator for other processes (Ray Tune
trials): the supernet's weights are put once into Ray's object store, which every trial
on a node reads (read-only, one copy per node); an actor builds the supernet and loads
the data once and scores trial after trial (``executor.reuse_actors``).
"""
from __future__ import annotations

import time
import warnings
from typing import Any, Mapping, Sequence

import torch

from nasbench.data import load_data_group
from nasbench.data.splits import DatasetSplits
from nasbench.oneshot.single_path import recalibrated_accuracy
from nasbench.core.result import EvalResult
from nasbench.core.candidate import Candidate
from nasbench.train.runtime import resolve_device
from search_spaces.supernet import Supernet


class InheritedWeights:
    """Scores a candidate's subnet on ``supernet`` as it stands in this process: its
    validation accuracy after recalibrating batch norm on the training images at
    ``recalibration`` (one index tensor per batch). A point is scored once; a repeat is
    answered from memory (the weights do not change while it runs)."""

    def __init__(self, supernet: Supernet, splits: DatasetSplits, recalibration: Sequence[torch.Tensor]):
        self.supernet = supernet
        self.splits = splits
        self.recalibration = [torch.as_tensor(indices, dtype=torch.long) for indices in recalibration]
        self._scores: dict[str, float] = {}

    def __call__(self, candidate: Candidate) -> EvalResult:
        started = time.time()
        if candidate.key not in self._scores:
            images = self.splits.train[0]
            batches = [images[indices.to(images.device)] for indices in self.recalibration]
            self._scores[candidate.key] = recalibrated_accuracy(self.supernet, candidate.point, self.splits, batches)
        seconds = time.time() - started
        device = next(self.supernet.parameters()).device.type
        return EvalResult(status="ok", val_acc=self._scores[candidate.key], train_seconds=seconds,
                          cost_seconds=seconds, device=device, seed=candidate.seed, epochs_run=0,
                          settings={"scored_by": "inherited weights"})

    def shared(self, data: Mapping[str, Any]) -> "SharedInheritedWeights":
        """This evaluator for Ray trials: the weights into the object store now; ``data``
        is the ``data`` config group the trials load the same splits from."""
        import ray

        weights = {key: value.detach().cpu().numpy() for key, value in self.supernet.state_dict().items()}
        return SharedInheritedWeights(self.supernet.space, self.supernet.skeleton, self.supernet.inputs,
                                      ray.put(weights), dict(data), [i.tolist() for i in self.recalibration])


class SharedInheritedWeights:
    """``InheritedWeights`` in a Ray trial (module docstring); picklable."""

    def __init__(self, space: Any, skeleton: Mapping[str, Any], inputs: Mapping[str, int], weights: Any,
                 data: Mapping[str, Any], recalibration: list[list[int]], device: str = "auto"):
        self.space = space
        self.skeleton = dict(skeleton)
        self.inputs = dict(inputs)
        self.weights = weights  # a Ray ObjectRef to {name: numpy array}
        self.data = dict(data)
        self.recalibration = recalibration
        self.device = device
        self._local: InheritedWeights | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_local": None}  # what an actor built stays in that actor

    def __call__(self, candidate: Candidate) -> EvalResult:
        if self._local is None:
            self._local = self._build()
        return self._local(candidate)

    def _build(self) -> InheritedWeights:
        import ray

        device = resolve_device(self.device)
        supernet = Supernet(self.space, self.skeleton, **self.inputs)
        with warnings.catch_warnings():  # the store's arrays are read-only; load_state_dict copies them
            warnings.simplefilter("ignore", UserWarning)
            supernet.load_state_dict({key: torch.from_numpy(value) for key, value in ray.get(self.weights).items()})
        supernet.to(device)
        return InheritedWeights(supernet, load_data_group(self.data).to(device),
                                [torch.tensor(indices, dtype=torch.long) for indices in self.recalibration])
