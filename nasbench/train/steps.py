"""One SGD step and one epoch, shared by the proxy trainer and the full trainer.

A step: the learning rate of the global step (``schedule.learning_rates``, stepped per
batch), the forward pass under autocast, the loss with the auxiliary heads' share,
backward, gradient clipping, the optimizer step, the EMA update and the epoch's running
sums. An epoch: the drop-path probability of the epoch (rising linearly to its final
value, NASNet's ScheduledDropPath: Zoph et al. 2018, https://arxiv.org/abs/1707.07012;
drop-path from Larsson et al., FractalNet, 2017), training mode (frozen modules kept in
eval mode), and a step for each batch of the resident images, augmented on the device.

Networks return logits, or in training mode ``(logits, [aux_logits, ...])`` when they
have auxiliary heads; a network may have ``set_drop_path(p)``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, ContextManager, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.optim.swa_utils import AveragedModel

from nasbench.train.augment import augment
from nasbench.train.base_config import TrainConfigBase
from nasbench.train.freeze import keep_frozen_in_eval
from nasbench.train.metrics import logits_of
from nasbench.train.runtime import autocast
from nasbench.train.schedule import learning_rates


@dataclass
class TrainState:
    """What the steps change: the weights (through the optimizer), the EMA and the counters."""

    model: nn.Module  # its parameters are clipped and averaged; it has set_drop_path
    network: nn.Module  # what runs forward: the model, compiled or wrapped for DDP
    optimizer: torch.optim.Optimizer
    rates: Sequence[float]  # the learning rate of each global step of the run
    ema: AveragedModel | None = None
    frozen: Sequence[nn.Module] = ()  # modules kept in eval mode (fine-tuning)
    epoch: int = 0  # epochs done
    step: int = 0  # global steps done


@dataclass
class EpochResult:
    """The running sums of one worker's epoch, on the device until read."""

    loss_sum: Tensor  # float64: the sum of each batch's mean loss times its images
    correct: Tensor  # int64: correctly classified training images (of the main logits)
    images: int = 0
    steps: int = 0
    drop_path: float = 0.0  # the probability the epoch ran with
    ended: str = ""  # "" ran every batch | "diverged" a non-finite loss | "stopped" by should_stop

    def totals(self) -> Tensor:
        """``[loss sum, correct, images]`` in float64, to be summed over workers."""
        images = torch.tensor(float(self.images), dtype=torch.float64, device=self.loss_sum.device)
        return torch.stack([self.loss_sum, self.correct.double(), images])

    def mean_loss(self) -> float:
        return (self.loss_sum / self.images).item() if self.images else math.nan


def classification_loss(output: Tensor | tuple, labels: Tensor, label_smoothing: float,
                        aux_weight: float) -> Tensor:
    """Cross-entropy of the logits plus ``aux_weight`` times that of each auxiliary head.

    Auxiliary heads: Szegedy et al., "Going Deeper with Convolutions", 2015; weight 0.4 as
    in NASNet and DARTS. Label smoothing: Szegedy et al., "Rethinking the Inception
    Architecture", 2016.
    """
    if not isinstance(output, (tuple, list)):
        return F.cross_entropy(output, labels, label_smoothing=label_smoothing)
    logits, auxiliary = output
    if isinstance(auxiliary, Tensor):
        auxiliary = [auxiliary]
    loss = F.cross_entropy(logits, labels, label_smoothing=label_smoothing)
    for aux_logits in auxiliary:
        loss = loss + aux_weight * F.cross_entropy(aux_logits, labels,
                                                   label_smoothing=label_smoothing)
    return loss


def batch_layout(images: int, batch_size: int, world_size: int = 1) -> tuple[int, int]:
    """``(global batch, steps per epoch)``: the batch shrinks to the images (a multiple of
    ``world_size``); the last partial batch of an epoch is dropped."""
    # NOTE: dropping the partial batch gives every step the same batch size (a batch of
    # one would break batch norm) and makes the step count epochs × steps_per_epoch.
    batch_size = min(batch_size, images - images % world_size)
    return batch_size, images // batch_size if batch_size > 0 else 0


def epoch_batches(order: Tensor, steps_per_epoch: int, batch_size: int, world_size: int = 1,
                  rank: int = 0) -> Tensor:
    """This worker's image indices of each step, ``[steps, batch_size / world_size]``: each
    global batch is a run of ``order``, cut into one disjoint slice per worker."""
    per_worker = batch_size // world_size
    return order[:steps_per_epoch * batch_size].view(steps_per_epoch, world_size, per_worker)[:, rank]


def make_optimizer(model: nn.Module, config: TrainConfigBase,
                   steps_per_epoch: int) -> tuple[torch.optim.SGD, list[float]]:
    """SGD with momentum over the trainable parameters, and the learning rate of every step."""
    # foreach: one multi-tensor update instead of a Python loop over the parameters
    # (PyTorch's default only on CUDA); it saves a few hundred µs a step on the CPU.
    optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=config.lr,
                                momentum=config.momentum, nesterov=config.nesterov and config.momentum > 0,
                                weight_decay=config.weight_decay, foreach=True)
    rates = learning_rates(config.schedule, config.epochs * steps_per_epoch, config.lr,
                           round(config.warmup_epochs * steps_per_epoch))
    return optimizer, rates


def train_step(state: TrainState, config: TrainConfigBase, images: Tensor, labels: Tensor,
               result: EpochResult, precision: ContextManager[object]) -> None:
    """One SGD step on a batch; ``precision``: the autocast context of the forward pass."""
    for group in state.optimizer.param_groups:
        group["lr"] = state.rates[state.step]
    with precision:
        output = state.network(images)
        loss = classification_loss(output, labels, config.label_smoothing, config.aux_weight)
    state.optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if config.grad_clip > 0:
        nn.utils.clip_grad_norm_([p for p in state.model.parameters() if p.requires_grad], config.grad_clip)
    state.optimizer.step()
    if state.ema is not None:
        state.ema.update_parameters(state.model)
    with torch.no_grad():
        result.loss_sum += loss.detach().double() * len(labels)
        result.correct += (logits_of(output).argmax(1) == labels).sum()
    result.images += len(labels)
    result.steps += 1
    state.step += 1


def train_epoch(state: TrainState, config: TrainConfigBase, images: Tensor, labels: Tensor, batches: Tensor,
                generator: torch.Generator, *, autocast_dtype: torch.dtype | None = None,
                channels_last: bool = False, finite_check_every: int = 0,
                should_stop: Callable[[], bool] | None = None) -> EpochResult:
    """Epoch ``state.epoch``: a step for each row of ``batches`` (indices into the resident
    ``images``), augmented with ``generator``. ``finite_check_every``: steps between checks
    of the running loss (one host round trip each; 0 = none), which end the epoch as
    ``diverged``; ``should_stop``, asked after each step, ends it as ``stopped``."""
    device = images.device
    result = EpochResult(torch.zeros((), dtype=torch.float64, device=device),
                         torch.zeros((), dtype=torch.int64, device=device),
                         drop_path=config.drop_path * state.epoch / config.epochs)
    set_drop_path = getattr(state.model, "set_drop_path", None)
    if callable(set_drop_path):
        set_drop_path(result.drop_path)
    state.network.train()
    keep_frozen_in_eval(state.frozen)
    precision = autocast(device.type, autocast_dtype)
    for index in batches:
        batch = augment(images[index], generator, crop_padding=config.crop_padding, flip=config.flip,
                        cutout_size=config.cutout)
        if channels_last:
            batch = batch.contiguous(memory_format=torch.channels_last)
        train_step(state, config, batch, labels[index], result, precision)
        # A non-finite loss poisons the running sum, so one check every few steps
        # catches it without a host round trip per step.
        if finite_check_every and state.step % finite_check_every == 0 and not torch.isfinite(result.loss_sum):
            result.ended = "diverged"
            break
        if should_stop is not None and should_stop():
            result.ended = "stopped"
            break
    return result
