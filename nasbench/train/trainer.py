"""The proxy trainer: train a candidate network briefly and report what it cost.

The whole data set stays on the device as tensors and each batch is augmented there with
batched tensor ops (``augment.py``), so there is no DataLoader and no per-image Python
work; the hot loop makes no host round trip but a finiteness check every few steps.
The step and the epoch are the full trainer's (``nasbench.train.steps``).
A failing candidate is a result, never a crash: a non-finite loss gives ``diverged``, an
out-of-memory error ``oom``, any other exception ``error``, each with whatever was
measured up to then.
"""
from __future__ import annotations

import dataclasses
import gc
import math
import time
from dataclasses import dataclass, field
from typing import Callable

import torch
from torch import nn

from nasbench.data.splits import DatasetSplits
from nasbench.result import EvalResult
from nasbench.train.base_config import TrainConfigBase
from nasbench.train.metrics import (count_macs, count_params, device_name, evaluate_accuracy,
                                    measure_latency, peak_memory_bytes)
from nasbench.train.runtime import cpu_threads, reproducible, resolve_amp, resolve_device
from nasbench.train.steps import TrainState, batch_layout, epoch_batches, make_optimizer, train_epoch

ProgressCallback = Callable[[int, float, float], "bool | None"]
"""Called after each epoch with (epoch counted from 1, val_acc, mean train loss);
returning ``False`` stops training there with status ``ok``."""


@dataclass
class TrainerConfig(TrainConfigBase):
    """Settings of one proxy training run (a Hydra structured config): the shared recipe
    with its proxy defaults, and what only a proxy run has."""

    channels_last: bool = False
    compile: bool = False  # torch.compile the network
    max_seconds: float | None = None  # wall-time budget; the run stops with status ok
    nan_check_every: int = 10  # steps between finiteness checks of the loss
    measure_latency: bool = True
    latency_repeats: int = 10

    def __post_init__(self) -> None:
        super().__post_init__()
        self.check_positive("nan_check_every", "latency_repeats")
        if self.max_seconds is not None and self.max_seconds <= 0:
            raise self.error("max_seconds", f"{self.max_seconds} must be positive")


@dataclass
class _Measured:
    """What a run has measured so far; survives a failure mid-run."""

    params: int | None = None
    macs: int | None = None
    val_curve: list[float] = field(default_factory=list)
    train_loss: float | None = None
    train_seconds: float | None = None
    latency_b1_ms: float | None = None
    latency_batch_ms: float | None = None


class _Stop(Exception):
    """Ends a run early with a status and a one-line message."""

    def __init__(self, status: str, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def _one_line(error: BaseException) -> str:
    return f"{type(error).__name__}: {' '.join(str(error).split())}"


def _is_out_of_memory(error: BaseException) -> bool:
    if isinstance(error, torch.OutOfMemoryError):  # torch.cuda.OutOfMemoryError is this class
        return True
    # The CPU allocator raises a plain RuntimeError.
    return isinstance(error, RuntimeError) and "DefaultCPUAllocator: can't allocate" in str(error)


def _free_memory(device: torch.device) -> None:
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()


class ProxyTrainer:
    """Trains a classifier on resident tensors with SGD and reports an :class:`EvalResult`.

    The networks it trains follow ``nasbench.train.steps``' conventions (logits, or
    ``(logits, [aux_logits, ...])`` in training mode; an optional ``set_drop_path(p)``).
    """

    def __init__(self, config: TrainerConfig | None = None) -> None:
        self.config = config if config is not None else TrainerConfig()

    def fit(self, model: nn.Module, splits: DatasetSplits,
            progress: ProgressCallback | None = None) -> EvalResult:
        """Train ``model`` on ``splits.train``, scoring on ``splits.val`` after each epoch."""
        config = self.config
        device = resolve_device(config.device)
        measured = _Measured()
        start = time.perf_counter()
        status, message = "ok", ""
        with cpu_threads(config.cpu_threads), reproducible(config.seed, device,
                                                            config.deterministic):
            try:
                message = self._run(model, splits, device, progress, measured, start)
            except _Stop as stop:
                status, message = stop.status, stop.message
            except Exception as error:  # a failing candidate is a result, not a crash
                status = "oom" if _is_out_of_memory(error) else "error"
                message = _one_line(error)
        if status == "oom":
            _free_memory(device)  # after the except block, which held the failing frames
        return EvalResult(
            status=status,
            val_acc=measured.val_curve[-1] if status == "ok" and measured.val_curve else None,
            val_curve=measured.val_curve,
            train_loss=measured.train_loss,
            params=measured.params,
            macs=measured.macs,
            latency_b1_ms=measured.latency_b1_ms,
            latency_batch_ms=measured.latency_batch_ms,
            train_seconds=measured.train_seconds,
            cost_seconds=time.perf_counter() - start,
            peak_memory_bytes=peak_memory_bytes(device),
            device=device_name(device),
            seed=config.seed,
            epochs_run=len(measured.val_curve),
            settings=dataclasses.asdict(config),
            message=message,
        )

    def _run(self, model: nn.Module, splits: DatasetSplits, device: torch.device,
             progress: ProgressCallback | None, measured: _Measured, start: float) -> str:
        """The run itself; returns the message of an ``ok`` run, raises :class:`_Stop` else."""
        config = self.config
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        train_x, train_y = (tensor.to(device) for tensor in splits.train)
        val_x, val_y = (tensor.to(device) for tensor in splits.val)
        memory_format = torch.channels_last if config.channels_last else torch.preserve_format
        model.to(device=device, memory_format=memory_format)
        measured.params = count_params(model)
        measured.macs = count_macs(model, splits.input_shape, device)
        network = torch.compile(model) if config.compile else model
        autocast_dtype = resolve_amp(config.amp, device)
        batch_size, steps_per_epoch = batch_layout(len(train_y), config.batch_size)
        if steps_per_epoch == 0:
            raise ValueError("the training split has no images")
        optimizer, rates = make_optimizer(model, config, steps_per_epoch)
        state = TrainState(model, network, optimizer, rates)
        generator = torch.Generator(device=device).manual_seed(config.seed)
        deadline = start + config.max_seconds if config.max_seconds else math.inf
        message = ""
        train_start = time.perf_counter()
        while state.epoch < config.epochs:
            order = torch.randperm(len(train_y), device=device, generator=generator)
            trained = train_epoch(state, config, train_x, train_y, epoch_batches(order, steps_per_epoch, batch_size),
                                generator, autocast_dtype=autocast_dtype, channels_last=config.channels_last,
                                finite_check_every=config.nan_check_every,
                                should_stop=lambda: time.perf_counter() > deadline)
            measured.train_loss = trained.mean_loss()
            if not math.isfinite(measured.train_loss):
                raise _Stop("diverged", f"non-finite training loss ({measured.train_loss}) "
                                        f"by step {trained.steps} of epoch {state.epoch + 1}")
            state.epoch += 1
            val_acc = evaluate_accuracy(network, val_x, val_y, config.eval_batch_size,
                                        autocast_dtype=autocast_dtype,
                                        channels_last=config.channels_last)
            measured.val_curve.append(val_acc)
            measured.train_seconds = time.perf_counter() - train_start
            if trained.ended == "stopped":
                message = (f"time budget of {config.max_seconds:g} s reached after "
                           f"{trained.steps} of {steps_per_epoch} steps of epoch {state.epoch}")
                break
            if progress is not None and progress(state.epoch, val_acc, measured.train_loss) is False:
                message = f"stopped by the progress callback after epoch {state.epoch}"
                break
        if config.measure_latency:
            latency = dict(device=device, repeats=config.latency_repeats,
                           autocast_dtype=autocast_dtype, channels_last=config.channels_last)
            measured.latency_b1_ms = measure_latency(network, splits.input_shape, 1, **latency)
            measured.latency_batch_ms = measure_latency(network, splits.input_shape,
                                                        config.batch_size, **latency)
        return message


def evaluate_test(model: nn.Module, splits: DatasetSplits, batch_size: int = 1024) -> float:
    """Top-1 accuracy on the test split, for final reports only (never for selection)."""
    device = next(model.parameters()).device
    images, labels = (tensor.to(device) for tensor in splits.test)
    return evaluate_accuracy(model, images, labels, batch_size)
