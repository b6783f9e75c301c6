"""The proxy trainer: train a candidate network briefly and report what it cost.

The whole data set stays on the device as tensors and each batch is augmented there with
batched tensor ops (``augment.py``), so there is no DataLoader and no per-image Python
work; the hot loop makes no host round trip but a finiteness check every few steps.
A failing candidate is a result, never a crash: a non-finite loss gives ``diverged``, an
out-of-memory error ``oom``, any other exception ``error``, each with whatever was
measured up to then.
"""
from __future__ import annotations

import contextlib
import dataclasses
import gc
import math
import time
from dataclasses import dataclass, field
from typing import Callable, Iterator

import torch
import torch.nn.functional as F
import torch.utils.deterministic
from torch import Tensor, nn

from nasbench.data.splits import DatasetSplits
from nasbench.result import EvalResult
from nasbench.train.augment import augment
from nasbench.train.metrics import (count_macs, count_params, device_name, evaluate_accuracy,
                                    measure_latency, peak_memory_bytes)
from nasbench.train.schedule import SCHEDULES, learning_rates

AMP_MODES = ("auto", "bf16", "off")

ProgressCallback = Callable[[int, float, float], "bool | None"]
"""Called after each epoch with (epoch counted from 1, val_acc, mean train loss);
returning ``False`` stops training there with status ``ok``."""


@dataclass
class TrainerConfig:
    """Settings of one proxy training run (a Hydra structured config)."""

    epochs: int = 10
    batch_size: int = 128
    lr: float = 0.1
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 5e-4
    schedule: str = "cosine"  # cosine | onecycle, stepped per batch
    warmup_epochs: float = 0.0  # linear warm-up; onecycle uses 30% of the run when 0
    label_smoothing: float = 0.0  # Szegedy et al. 2016 (arXiv:1512.00567)
    cutout: int = 0  # side of the cutout square, 0 = off (DeVries & Taylor 2017)
    crop_padding: int = 4  # random-crop padding, 0 = off
    flip: bool = True  # random horizontal flip
    drop_path: float = 0.0  # final drop-path probability, reached linearly
    aux_weight: float = 0.4  # weight of auxiliary-head losses (Szegedy et al. 2015)
    channels_last: bool = False
    amp: str = "auto"  # auto = bf16 autocast on CUDA, off on CPU | bf16 | off
    compile: bool = False  # torch.compile the network
    seed: int = 0
    device: str = "auto"  # auto = cuda when available, else cpu
    cpu_threads: int = 0  # torch's intra-op threads during the run; 0 keeps the current setting
    eval_batch_size: int = 1024
    max_seconds: float | None = None  # wall-time budget; the run stops with status ok
    deterministic: bool = True  # torch.use_deterministic_algorithms during the run
    nan_check_every: int = 10  # steps between finiteness checks of the loss
    measure_latency: bool = True
    latency_repeats: int = 10

    def __post_init__(self) -> None:
        positive = ("epochs", "batch_size", "lr", "eval_batch_size", "nan_check_every",
                    "latency_repeats")
        for name in positive:
            if not getattr(self, name) > 0:
                raise ValueError(f"TrainerConfig.{name}: {getattr(self, name)} must be positive")
        non_negative = ("momentum", "weight_decay", "warmup_epochs", "cutout", "crop_padding",
                        "aux_weight", "cpu_threads")
        for name in non_negative:
            if getattr(self, name) < 0:
                raise ValueError(f"TrainerConfig.{name}: {getattr(self, name)} must be >= 0")
        for name in ("label_smoothing", "drop_path"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"TrainerConfig.{name}: {getattr(self, name)} must be in [0, 1)")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"TrainerConfig.schedule: {self.schedule!r} is not one of "
                             f"{', '.join(SCHEDULES)}")
        if self.amp not in AMP_MODES:
            raise ValueError(f"TrainerConfig.amp: {self.amp!r} is not one of "
                             f"{', '.join(AMP_MODES)}")
        if self.max_seconds is not None and self.max_seconds <= 0:
            raise ValueError(f"TrainerConfig.max_seconds: {self.max_seconds} must be positive")
        resolve_device(self.device)  # fails here, naming the field, on a misspelt device


def resolve_device(name: str) -> torch.device:
    """``auto`` is CUDA when available, else the CPU; other names as ``torch.device``."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        device = torch.device(name)
    except RuntimeError as error:
        raise ValueError(f"TrainerConfig.device: {name!r} is not a device ({error})") from None
    if device.type == "cuda" and device.index is None and torch.cuda.is_available():
        device = torch.device("cuda", torch.cuda.current_device())
    return device


def resolve_amp(amp: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype of ``amp`` on ``device`` (None: full precision)."""
    if amp == "bf16" or (amp == "auto" and device.type == "cuda"):
        return torch.bfloat16
    return None


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


@contextlib.contextmanager
def cpu_threads(count: int) -> Iterator[None]:
    """Run a block with ``count`` intra-op threads (0: unchanged), restoring the old count.

    Several runs sharing a machine (parallel trials) should each take fewer threads: an
    oversubscribed thread pool spins at its barriers and can run many times slower.
    """
    previous = torch.get_num_threads()
    if count:
        torch.set_num_threads(count)
    try:
        yield
    finally:
        if count:
            torch.set_num_threads(previous)


@contextlib.contextmanager
def reproducible(seed: int, device: torch.device, deterministic: bool) -> Iterator[None]:
    """Seed torch's global generators and, optionally, its deterministic mode for a block.

    Everything is restored afterwards, so a run changes no global state of the caller.
    """
    cuda = device.type == "cuda"
    saved = (torch.are_deterministic_algorithms_enabled(),
             torch.is_deterministic_algorithms_warn_only_enabled(),
             torch.utils.deterministic.fill_uninitialized_memory,
             torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark)
    with torch.random.fork_rng(devices=[device.index] if cuda else []):
        torch.manual_seed(seed)
        if deterministic:
            # warn_only: an op without a deterministic kernel warns instead of failing the run;
            # filling fresh memory with NaN only helps debugging and costs time.
            torch.use_deterministic_algorithms(True, warn_only=True)
            torch.utils.deterministic.fill_uninitialized_memory = False
            torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False
        try:
            yield
        finally:
            torch.use_deterministic_algorithms(saved[0], warn_only=saved[1])
            torch.utils.deterministic.fill_uninitialized_memory = saved[2]
            torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = saved[3:]


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

    Conventions of the networks it trains: ``forward`` returns logits, or in training mode
    ``(logits, [aux_logits, ...])`` when the network has auxiliary heads; a network may have
    ``set_drop_path(p)``, called each epoch with ``drop_path * epoch / epochs`` (the linear
    schedule of Zoph et al. 2018 and DARTS; drop-path from Larsson et al., FractalNet, 2017).
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
        autocast = (torch.autocast(device.type, dtype=autocast_dtype) if autocast_dtype
                    else contextlib.nullcontext())
        # foreach: one multi-tensor update instead of a Python loop over the parameters
        # (PyTorch's default only on CUDA); it saves a few hundred µs a step on the CPU.
        optimizer = torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum,
                                    nesterov=config.nesterov and config.momentum > 0,
                                    weight_decay=config.weight_decay, foreach=True)
        batch_size = min(config.batch_size, len(train_y))
        # NOTE: the last partial batch of an epoch is dropped, so every step has the same
        # batch size (a batch of one would break batch norm).
        steps_per_epoch = len(train_y) // batch_size
        rates = learning_rates(config.schedule, config.epochs * steps_per_epoch, config.lr,
                               round(config.warmup_epochs * steps_per_epoch))
        generator = torch.Generator(device=device).manual_seed(config.seed)
        set_drop_path = getattr(model, "set_drop_path", None)
        deadline = start + config.max_seconds if config.max_seconds else math.inf
        step, message = 0, ""
        train_start = time.perf_counter()
        for epoch in range(config.epochs):
            if callable(set_drop_path):
                set_drop_path(config.drop_path * epoch / config.epochs)
            network.train()
            order = torch.randperm(len(train_y), device=device, generator=generator)
            batches = order[:steps_per_epoch * batch_size].view(steps_per_epoch, batch_size)
            loss_sum = torch.zeros((), device=device)
            steps_done = 0
            for index in batches:
                images = augment(train_x[index], generator, crop_padding=config.crop_padding,
                                 flip=config.flip, cutout_size=config.cutout)
                if config.channels_last:
                    images = images.contiguous(memory_format=torch.channels_last)
                for group in optimizer.param_groups:
                    group["lr"] = rates[step]
                with autocast:
                    loss = classification_loss(network(images), train_y[index],
                                                config.label_smoothing, config.aux_weight)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                loss_sum += loss.detach().float()
                step, steps_done = step + 1, steps_done + 1
                # A non-finite loss poisons the running sum, so one check every few steps
                # catches it without a host round trip per step.
                if step % config.nan_check_every == 0 and not torch.isfinite(loss_sum):
                    self._diverged(measured, loss_sum, steps_done, epoch)
                if time.perf_counter() > deadline:
                    message = (f"time budget of {config.max_seconds:g} s reached after "
                               f"{steps_done} of {steps_per_epoch} steps of epoch {epoch + 1}")
                    break
            measured.train_loss = (loss_sum / max(1, steps_done)).item()
            if not math.isfinite(measured.train_loss):
                self._diverged(measured, loss_sum, steps_done, epoch)
            val_acc = evaluate_accuracy(network, val_x, val_y, config.eval_batch_size,
                                        autocast_dtype=autocast_dtype,
                                        channels_last=config.channels_last)
            measured.val_curve.append(val_acc)
            measured.train_seconds = time.perf_counter() - train_start
            if message:
                break
            if progress is not None and progress(epoch + 1, val_acc, measured.train_loss) is False:
                message = f"stopped by the progress callback after epoch {epoch + 1}"
                break
        if config.measure_latency:
            latency = dict(device=device, repeats=config.latency_repeats,
                           autocast_dtype=autocast_dtype, channels_last=config.channels_last)
            measured.latency_b1_ms = measure_latency(network, splits.input_shape, 1, **latency)
            measured.latency_batch_ms = measure_latency(network, splits.input_shape,
                                                        config.batch_size, **latency)
        return message

    @staticmethod
    def _diverged(measured: _Measured, loss_sum: Tensor, steps_done: int, epoch: int) -> None:
        measured.train_loss = (loss_sum / max(1, steps_done)).item()
        raise _Stop("diverged", f"non-finite training loss ({measured.train_loss}) "
                                f"by step {steps_done} of epoch {epoch + 1}")


def evaluate_test(model: nn.Module, splits: DatasetSplits, batch_size: int = 1024) -> float:
    """Top-1 accuracy on the test split, for final reports only (never for selection)."""
    device = next(model.parameters()).device
    images, labels = (tensor.to(device) for tensor in splits.test)
    return evaluate_accuracy(model, images, labels, batch_size)
