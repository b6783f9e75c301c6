"""The proxy trainer: train a candidate network briefly and report what it cost.

The whole data set stays on the device as tensors and each batch is augmented there with
batched tensor ops (``augment.py``), so there is no DataLoader and no per-image Python
work; the hot loop makes no host round trip but a finiteness check every few steps.
The step and the epoch are the full trainer's (``nasbench.train.steps``).
A failing candidate is a result, never a crash: a non-finite loss gives ``diverged``, an
out-of-memory error ``oom``, any other exception ``error``, each with whatever was
measured up to then.

A run may continue another (successive halving's promoted candidates,
``nasbench.executors.halving``): given a ``TrainingCheckpoint``, ``fit`` loads the state a
run stopped by its progress callback saved (the weights and buffers, the optimizer's
momentum, the epoch and global step, which index the learning-rate schedule and the
drop-path ramp, the data generator and torch's global generator) and trains only the
epochs left, so that its curve and result equal one uninterrupted run's (bit for bit on
the CPU; on CUDA as far as ``deterministic`` makes the kernels repeatable).
"""
from __future__ import annotations

import dataclasses
import gc
import logging
import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

import torch
from torch import nn

from nasbench.core.errors import one_line
from nasbench.data.splits import DatasetSplits
from nasbench.core.result import EvalResult
from nasbench.train.base_config import TrainConfigBase
from nasbench.train.metrics import (count_macs, count_params, device_name, evaluate_accuracy,
                                    measure_latency, peak_memory_bytes)
from nasbench.train.runtime import cpu_threads, reproducible, resolve_amp, resolve_device, to_cpu
from nasbench.train.steps import TrainState, batch_layout, epoch_batches, make_optimizer, train_epoch

ProgressCallback = Callable[[int, float, float], "bool | None"]
"""Called after each epoch with (epoch counted from 1, val_acc, mean train loss);
returning ``False`` stops training there with status ``ok``."""

LOG = logging.getLogger("nasbench.search")
STATE_KEYS = ("config", "model", "optimizer", "epoch", "step", "generator", "torch_rng", "cuda_rng", "val_curve",
              "train_loss", "train_seconds")


class TrainingCheckpoint(Protocol):
    """Where a run stopped by its progress callback leaves its training state, and where
    a run that continues it finds it (``nasbench.executors.rung_states``)."""

    def load(self) -> dict[str, Any] | None:
        """The state to continue from; None: train from the seed (said in one log line
        when a state was expected and is missing or unreadable)."""

    def save(self, state: dict[str, Any]) -> None:
        """Keep ``state`` (plain data and CPU tensors) for the run that continues this one."""


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
    resumed_from: int = 0  # the epoch a checkpoint continued from
    latency_b1_ms: float | None = None
    latency_batch_ms: float | None = None


class _Stop(Exception):
    """Ends a run early with a status and a one-line message."""

    def __init__(self, status: str, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


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

    def fit(self, model: nn.Module, splits: DatasetSplits, progress: ProgressCallback | None = None,
            checkpoint: TrainingCheckpoint | None = None) -> EvalResult:
        """Train ``model`` on ``splits.train``, scoring on ``splits.val`` after each epoch.

        With ``checkpoint``: continue the state it holds (if any), and save the state when
        ``progress`` stops the run. ``val_curve``, ``train_loss`` and ``train_seconds`` then
        cover every epoch since the seed; ``cost_seconds`` only this call (the epochs it
        trained); ``settings["resumed_from_epoch"]`` says where it began."""
        config = self.config
        device = resolve_device(config.device)
        measured = _Measured()
        start = time.perf_counter()
        status, message = "ok", ""
        with cpu_threads(config.cpu_threads), reproducible(config.seed, device,
                                                            config.deterministic):
            try:
                message = self._run(model, splits, device, progress, measured, start, checkpoint)
            except _Stop as stop:
                status, message = stop.status, stop.message
            except Exception as error:  # a failing candidate is a result, not a crash
                status = "oom" if _is_out_of_memory(error) else "error"
                message = one_line(error)
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
            settings={**dataclasses.asdict(config), **({"resumed_from_epoch": measured.resumed_from}
                                                        if checkpoint is not None else {})},
            message=message,
        )

    def _run(self, model: nn.Module, splits: DatasetSplits, device: torch.device,
             progress: ProgressCallback | None, measured: _Measured, start: float,
             checkpoint: TrainingCheckpoint | None = None) -> str:
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
        saved = checkpoint.load() if checkpoint is not None else None
        if saved is not None:
            self._restore(saved, state, generator, measured, device)
        deadline = start + config.max_seconds if config.max_seconds else math.inf
        message = ""
        train_start = time.perf_counter() - (measured.train_seconds or 0.0)
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
                if checkpoint is not None:
                    checkpoint.save(self._state(state, generator, measured, device))
                break
        if config.measure_latency:
            latency = dict(device=device, repeats=config.latency_repeats,
                           autocast_dtype=autocast_dtype, channels_last=config.channels_last)
            measured.latency_b1_ms = measure_latency(network, splits.input_shape, 1, **latency)
            measured.latency_batch_ms = measure_latency(network, splits.input_shape,
                                                        config.batch_size, **latency)
        return message

    def _state(self, state: TrainState, generator: torch.Generator, measured: _Measured,
               device: torch.device) -> dict[str, Any]:
        """What the epochs after ``state.epoch`` depend on, as plain data and CPU tensors."""
        return {"config": dataclasses.asdict(self.config), "model": to_cpu(state.model.state_dict()),
                "optimizer": to_cpu(state.optimizer.state_dict()), "epoch": state.epoch, "step": state.step,
                "generator": generator.get_state().clone(), "torch_rng": torch.get_rng_state(),
                "cuda_rng": torch.cuda.get_rng_state(device) if device.type == "cuda" else None,
                "val_curve": list(measured.val_curve), "train_loss": measured.train_loss,
                "train_seconds": measured.train_seconds}

    def _restore(self, saved: dict[str, Any], state: TrainState, generator: torch.Generator,
                 measured: _Measured, device: torch.device) -> None:
        """Continue ``saved`` (``_state``'s); when it does not fit this run, say so in one
        log line and change nothing (the run trains from the seed)."""
        try:
            _check_fits(saved, self.config, state, device)
        except (AttributeError, KeyError, TypeError, ValueError) as error:
            LOG.warning("the saved training state does not fit this run (%s); training from the seed", error)
            return
        model = state.model
        initial = to_cpu(model.state_dict())
        try:
            model.load_state_dict(saved["model"])
            state.optimizer.load_state_dict(saved["optimizer"])
            generator.set_state(saved["generator"])
        except (KeyError, TypeError, ValueError, RuntimeError) as error:
            model.load_state_dict(initial)
            state.optimizer, _ = make_optimizer(model, self.config, len(state.rates) // self.config.epochs)
            generator.manual_seed(self.config.seed)
            LOG.warning("the saved training state does not load (%s); training from the seed", one_line(error))
            return
        torch.set_rng_state(saved["torch_rng"])
        if device.type == "cuda":
            torch.cuda.set_rng_state(saved["cuda_rng"], device)
        state.epoch, state.step = int(saved["epoch"]), int(saved["step"])
        measured.val_curve = [float(value) for value in saved["val_curve"]]
        measured.train_loss = saved["train_loss"]
        measured.train_seconds = saved["train_seconds"]
        measured.resumed_from = state.epoch


def _check_fits(saved: dict[str, Any], config: TrainerConfig, state: TrainState, device: torch.device) -> None:
    """A ValueError saying why ``saved`` cannot continue this run."""
    missing = [key for key in STATE_KEYS if key not in saved]
    if missing:
        raise ValueError(f"it lacks {', '.join(missing)}")
    if saved["config"] != dataclasses.asdict(config):
        changed = sorted(key for key, value in dataclasses.asdict(config).items() if saved["config"].get(key) != value)
        raise ValueError(f"it was trained with other settings: {', '.join(changed) or 'unknown'}")
    if not 0 < int(saved["epoch"]) < config.epochs or int(saved["step"]) != int(saved["epoch"]) * (
            len(state.rates) // config.epochs) or len(saved["val_curve"]) != int(saved["epoch"]):
        raise ValueError(f"epoch {saved['epoch']}, step {saved['step']} is not the end of an epoch of this run")
    shapes = {key: tuple(value.shape) for key, value in state.model.state_dict().items()}
    if {key: tuple(value.shape) for key, value in saved["model"].items()} != shapes:
        raise ValueError("its weights are not this network's")
    for key in ("generator", "torch_rng") + (("cuda_rng",) if device.type == "cuda" else ()):
        if not isinstance(saved[key], torch.Tensor) or saved[key].dtype != torch.uint8:
            raise ValueError(f"its {key} state is not a generator state")


def evaluate_test(model: nn.Module, splits: DatasetSplits, batch_size: int = 1024) -> float:
    """Top-1 accuracy on the test split, for final reports only (never for selection)."""
    device = next(model.parameters()).device
    images, labels = (tensor.to(device) for tensor in splits.test)
    return evaluate_accuracy(model, images, labels, batch_size)
