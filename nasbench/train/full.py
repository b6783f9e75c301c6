"""Full-scale training of one network: ``python -m nasbench.train SOURCE``.

What the proxy trainer (``nasbench.train.trainer``) does for a few epochs of a search,
this does for the hundreds of epochs of a final network, with the recipe of NASNet and
DARTS' final training (Zoph et al. 2018, https://arxiv.org/abs/1707.07012, Sec. A.1;
Liu et al. 2019, https://arxiv.org/abs/1806.09055, Sec. 3.3): SGD with momentum, a
cosine learning rate stepped per batch (``schedule.learning_rates``), label smoothing,
cutout, drop-path rising linearly to its final probability, the auxiliary head's loss,
gradient clipping, and an exponential moving average of the weights (Polyak & Juditsky
1992; ``torch.optim.swa_utils.AveragedModel`` with ``get_ema_multi_avg_fn``, batch-norm
statistics averaged too). The data stay resident and each batch is augmented on the
device with the trainer's ``augment``; accuracy is the trainer's ``evaluate_accuracy``.

SOURCE is a zoo name, a network genotype JSON file, a published cell, a point JSON file
or a ``nasbench.search`` run directory (cells are stacked by ``nasbench.transfer``); the
data are cifar10, cifar100, digits or an image folder (``nasbench.data.image_folder``).

The output directory
    ``train.json`` (the job: source, genotype, data, settings), ``metrics.jsonl`` (one
    line per epoch, written as it is produced), ``checkpoint.pt`` (replaced atomically
    after every epoch: model, EMA, optimizer, epoch, global step, RNG states, the job),
    ``final.json`` (status and final accuracies) and, once finished, ``model.pt``
    (``{"model": state_dict, "ema": state_dict, "genotype": ...}``, which
    ``nasbench.weights`` and ``nasbench.finetune`` read).

Resume
    A run started on an output directory that holds a checkpoint continues from it
    (``--resume DIR`` names it explicitly). Each epoch's randomness (data order,
    augmentation, drop-path, dropout) is drawn from generators seeded by (seed, epoch,
    rank), and the learning rate is a function of the global step, so a run killed at any
    moment and resumed from its last checkpoint repeats the same steps and, on the CPU in
    deterministic mode, ends with the same weights as a run that was never stopped.
    Execution settings (workers, GPU, device) may change on resume; the recipe may not.

Distribution
    With ``num_workers`` > 1 the run is a Ray Train job (``ray.train.torch.TorchTrainer``,
    ``ScalingConfig(num_workers, use_gpu)``, DDP through ``prepare_model``, gloo on CPUs
    and NCCL on GPUs). Every worker loads the data and takes its own slice of each global
    batch (the data order is the same on all ranks, so the slices are disjoint, as with
    ``DistributedSampler``); ``batch_size`` is the global batch. Rank 0 evaluates, writes
    the checkpoint, the metrics and the final files, and reports each checkpoint to Ray
    (``ray.train.report``); ``checkpoint.pt`` in the output directory stays the source of
    truth for resuming, and a worker restarted by Ray (``max_failures``) resumes from it.
    On a cluster the output directory must be on a file system every node shares.
    ``num_workers`` 0 or 1 trains in this process without Ray.
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import io
import json
import math
import os
import random
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

import numpy as np
import torch
import torch.nn as nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from nasbench.data import DATASETS, DatasetNotFoundError, load_dataset
from nasbench.data.image_folder import ImageFolderError, load_image_folder
from nasbench.data.splits import DatasetSplits
from nasbench.errors import UsageError
from nasbench.run_store import atomic_write_bytes, atomic_write_text
from nasbench.train.augment import augment
from nasbench.train.freeze import FREEZE_MODES, FreezeError, freeze, keep_frozen_in_eval
from nasbench.train.metrics import evaluate_accuracy, logits_of
from nasbench.train.schedule import SCHEDULES, learning_rates
from nasbench.train.trainer import (AMP_MODES, classification_loss, cpu_threads, reproducible, resolve_amp,
                                    resolve_device)
from search_spaces.build import build_network
from search_spaces.genotype import NetworkGenotype

JOB = "train.json"
CHECKPOINT = "checkpoint.pt"
METRICS = "metrics.jsonl"
FINAL = "final.json"
WEIGHTS = "model.pt"
CHECKPOINT_FORMAT = "nasbench.train/1"
BACKENDS = ("auto", "gloo", "nccl")

if TYPE_CHECKING:
    from nasbench.transfer import SkeletonSettings


class TrainError(RuntimeError):
    """Training could not go on (a non-finite loss, a failed worker)."""


@dataclass
class FullTrainConfig:
    """The recipe (fixed for a run) and the execution settings (``EXECUTION_FIELDS``,
    which may change when a run is resumed). Defaults: DARTS' final CIFAR training."""

    epochs: int = 600
    batch_size: int = 96  # the global batch; each of n workers takes batch_size / n
    lr: float = 0.025
    momentum: float = 0.9
    nesterov: bool = False
    weight_decay: float = 3e-4
    schedule: str = "cosine"  # cosine | onecycle (nasbench.train.schedule), stepped per batch
    warmup_epochs: float = 0.0
    label_smoothing: float = 0.0  # 0.1 in NASNet's and DARTS' ImageNet training
    cutout: int = 16  # side of the cutout square (DeVries & Taylor 2017); 0 = off
    crop_padding: int = 4
    flip: bool = True
    drop_path: float = 0.2  # final probability, reached linearly (NASNet's ScheduledDropPath)
    aux_weight: float = 0.4
    grad_clip: float = 5.0  # max gradient norm; 0 = off
    ema_decay: float = 0.9998  # per step; 0 = no EMA
    seed: int = 0
    amp: str = "auto"  # auto = bf16 autocast on CUDA | bf16 | off
    deterministic: bool = True
    eval_batch_size: int = 256
    freeze: str = "none"  # fine-tuning: none | linear | partial | full (nasbench.train.freeze)
    trainable_stages: int = 0  # K of freeze=partial
    # execution
    num_workers: int = 1
    use_gpu: bool = False
    device: str = "auto"  # in-process runs; Ray workers use Ray's device
    backend: str = "auto"  # gloo on CPUs, nccl on GPUs
    cpu_threads: int = 0  # in-process runs: torch's intra-op threads; 0 keeps the current setting
    max_failures: int = 0  # Ray Train restarts of a failed worker group (each resumes)
    ray_address: str | None = None  # join a cluster; None starts Ray here if it is not running
    ray_checkpoints: bool = True  # also report each checkpoint to Ray (ray.train.report)

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size", "lr", "eval_batch_size"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name}: {getattr(self, name)} must be positive")
        for name in ("momentum", "weight_decay", "warmup_epochs", "cutout", "crop_padding", "aux_weight",
                     "grad_clip", "num_workers", "cpu_threads", "max_failures", "trainable_stages"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name}: {getattr(self, name)} must be >= 0")
        for name in ("label_smoothing", "drop_path", "ema_decay"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"{name}: {getattr(self, name)} must be in [0, 1)")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule: {self.schedule!r} is not one of {', '.join(SCHEDULES)}")
        if self.amp not in AMP_MODES:
            raise ValueError(f"amp: {self.amp!r} is not one of {', '.join(AMP_MODES)}")
        if self.backend not in BACKENDS:
            raise ValueError(f"backend: {self.backend!r} is not one of {', '.join(BACKENDS)}")
        if self.freeze not in FREEZE_MODES:
            raise ValueError(f"freeze: {self.freeze!r} is not one of {', '.join(FREEZE_MODES)}")
        if self.num_workers > 1 and self.batch_size % self.num_workers:
            raise ValueError(f"batch_size: {self.batch_size} is not divisible by num_workers={self.num_workers}")


EXECUTION_FIELDS = ("num_workers", "use_gpu", "device", "backend", "cpu_threads", "max_failures", "ray_address",
                    "ray_checkpoints")


@dataclass
class DataSpec:
    """Where the data come from: a name of ``nasbench.data.DATASETS`` or an image folder."""

    name: str
    root: str | None = None
    seed: int = 0
    resolution: int | None = None  # side of the square images; None = the data's own
    train_fraction: float = 1.0
    val_fraction: float = 0.1  # image folders: the validation share of the pool
    channels: int | None = None  # 3 repeats grey images over three channels
    download: bool = True


@dataclass
class TrainJob:
    """Everything a run needs, as plain data (saved in ``train.json`` and the checkpoint)."""

    name: str
    genotype: dict[str, Any]
    data: DataSpec
    config: FullTrainConfig
    output_dir: str
    init_weights: str | None = None  # a state_dict file loaded (by name, strictly) before training
    source: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "TrainJob":
        return cls(name=data["name"], genotype=dict(data["genotype"]), data=DataSpec(**data["data"]),
                   config=FullTrainConfig(**data["config"]), output_dir=data["output_dir"],
                   init_weights=data.get("init_weights"), source=dict(data.get("source") or {}))

    def recipe(self) -> dict[str, Any]:
        """What must not change when the run resumes."""
        config = {k: v for k, v in dataclasses.asdict(self.config).items() if k not in EXECUTION_FIELDS}
        data = {k: v for k, v in dataclasses.asdict(self.data).items() if k != "download"}
        return {"genotype": NetworkGenotype.from_dict(self.genotype).key(), "data": data,
                "config": config, "init_weights": self.init_weights}


@dataclass(frozen=True)
class TrainOutcome:
    """What a call of ``train_full`` left: ``status`` is ``finished`` or ``stopped``."""

    status: str
    epochs_done: int
    steps: int
    output_dir: Path
    final: dict[str, Any]


# --- data -----------------------------------------------------------------------------------

def load_data(spec: DataSpec) -> DatasetSplits:
    """The splits ``spec`` names, with grey images repeated to ``spec.channels`` channels."""
    try:
        if spec.name in DATASETS:
            splits = load_dataset(spec.name, spec.root, seed=spec.seed, train_fraction=spec.train_fraction,
                                  resolution=spec.resolution, download=spec.download)
        elif Path(spec.name).expanduser().is_dir():
            splits = load_image_folder(spec.name, seed=spec.seed, train_fraction=spec.train_fraction,
                                       resolution=spec.resolution, val_fraction=spec.val_fraction)
        else:
            raise UsageError(f"--data: {spec.name!r} is neither a data set ({', '.join(DATASETS)}) nor an "
                             f"image folder")
    except (DatasetNotFoundError, ImageFolderError, ValueError) as exc:  # missing files, a bad setting
        raise UsageError(f"--data: {_first_line(exc)}") from exc
    channels = splits.input_shape[0]
    if spec.channels is None or spec.channels == channels:
        return splits
    if channels != 1:
        raise UsageError(f"--data: {spec.name} has {channels} channels; the network takes {spec.channels}")

    def widen(split: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        return split[0].expand(-1, spec.channels, -1, -1).contiguous(), split[1]

    return DatasetSplits(widen(splits.train), widen(splits.val), widen(splits.test), splits.num_classes,
                         (spec.channels, *splits.input_shape[1:]), splits.name)


# --- seeds and RNG states -----------------------------------------------------------------------

def derived_seed(*parts: int) -> int:
    """A 63-bit seed mixed from integers (numpy's SeedSequence), e.g. (seed, epoch, rank)."""
    return int(np.random.SeedSequence([int(p) for p in parts]).generate_state(2, dtype=np.uint64)[0] >> 1)


def rng_states() -> dict[str, Any]:
    """The global generators' states (torch CPU and CUDA, Python, numpy) as plain data."""
    name, keys, position, has_gauss, gauss = np.random.get_state()
    return {"torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
            "python": random.getstate(),
            "numpy": [name, torch.from_numpy(np.asarray(keys, dtype=np.int64)), int(position), int(has_gauss),
                      float(gauss)]}


def restore_rng_states(states: Mapping[str, Any]) -> None:
    torch.set_rng_state(states["torch"])
    if states.get("cuda") and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])
    version, internal, gauss = states["python"]
    random.setstate((version, tuple(internal), gauss))
    name, keys, position, has_gauss, cached = states["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), position, has_gauss, cached))


# --- checkpoints ----------------------------------------------------------------------------

def save_checkpoint(path: Path, state: Mapping[str, Any]) -> None:
    buffer = io.BytesIO()
    torch.save(dict(state), buffer)
    atomic_write_bytes(path, buffer.getvalue())


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """A checkpoint of ``nasbench.train`` (the file, or the output directory holding it)."""
    path = Path(path).expanduser()
    if path.is_dir():
        path = path / CHECKPOINT
    if not path.is_file():
        raise UsageError(f"no checkpoint at {str(path)!r}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a torn or foreign file: one line, not a traceback
        raise UsageError(f"{path}: not a nasbench.train checkpoint ({_first_line(exc)})") from exc
    if not isinstance(state, Mapping) or state.get("format") != CHECKPOINT_FORMAT:
        raise UsageError(f"{path}: not a nasbench.train checkpoint")
    return dict(state)


def has_checkpoint(output_dir: str | Path) -> bool:
    return (Path(output_dir) / CHECKPOINT).is_file()


# --- the run --------------------------------------------------------------------------------

def train_full(job: TrainJob, *, stop_after_epoch: int | None = None, splits: DatasetSplits | None = None,
               log: Callable[[str], None] | None = None) -> TrainOutcome:
    """Train ``job`` (or resume it from the checkpoint in its output directory) until its
    last epoch, or until ``stop_after_epoch`` epochs are done (a stop that leaves a
    checkpoint, as a kill after that epoch would). ``splits``: data already loaded (used
    by in-process runs only)."""
    output = Path(job.output_dir).expanduser().resolve()
    output.mkdir(parents=True, exist_ok=True)
    job = dataclasses.replace(job, output_dir=str(output))
    if has_checkpoint(output):
        saved = TrainJob.from_dict(load_checkpoint(output)["job"])
        check_same_recipe(saved, job)
    atomic_write_text(output / JOB, json.dumps(job.to_dict(), indent=2) + "\n")
    (output / FINAL).unlink(missing_ok=True)
    payload = {"job": job.to_dict(), "stop_after_epoch": stop_after_epoch}
    if job.config.num_workers <= 1:
        device = resolve_device(job.config.device if not job.config.use_gpu else "cuda")
        with cpu_threads(job.config.cpu_threads):
            run_worker(payload, rank=0, world_size=1, device=device, splits=splits, log=log)
    else:
        run_on_ray(job, payload)
    final = json.loads((output / FINAL).read_text())
    return TrainOutcome(final["status"], final["epochs_done"], final["steps"], output, final)


def check_same_recipe(saved: TrainJob, job: TrainJob) -> None:
    """Refuse to resume a checkpoint with another network, data set or recipe."""
    old, new = saved.recipe(), job.recipe()
    if old["genotype"] != new["genotype"]:
        raise UsageError(f"{job.output_dir} holds a checkpoint of another network ({saved.name}); "
                         f"use another output directory")
    for section in ("data", "config"):
        for key, value in new[section].items():
            if old[section].get(key) != value:
                raise UsageError(f"{section}.{key}={value!r} differs from the checkpoint's "
                                 f"{old[section].get(key)!r}; a resumed run keeps its settings")
    if old["init_weights"] != new["init_weights"]:
        raise UsageError("the initial weights differ from the checkpoint's; use another output directory")


def run_on_ray(job: TrainJob, payload: Mapping[str, Any]) -> None:
    """Run ``run_worker`` on ``num_workers`` Ray Train workers (DDP)."""
    import ray
    from ray.train import CheckpointConfig, FailureConfig, RunConfig, ScalingConfig
    from ray.train.torch import TorchConfig, TorchTrainer

    from nasbench.executors.ray_executor import ensure_ray

    config = job.config
    ensure_ray({"address": config.ray_address,
                "num_cpus": None if config.ray_address else max(config.num_workers, os.cpu_count() or 1)})
    backend = config.backend if config.backend != "auto" else ("nccl" if config.use_gpu else "gloo")
    storage = Path(job.output_dir) / "ray"
    starts = len([p for p in storage.glob("train-*") if p.is_dir()]) if storage.is_dir() else 0
    trainer = TorchTrainer(
        _ray_worker, train_loop_config=dict(payload),
        scaling_config=ScalingConfig(num_workers=config.num_workers, use_gpu=config.use_gpu),
        torch_config=TorchConfig(backend=backend),
        run_config=RunConfig(name=f"train-{starts}", storage_path=str(storage),
                             failure_config=FailureConfig(max_failures=config.max_failures),
                             checkpoint_config=CheckpointConfig(num_to_keep=1)))
    try:
        trainer.fit()
    except (ray.exceptions.RayError, RuntimeError) as exc:
        raise TrainError(f"the Ray Train job failed: {_first_line(exc)}") from exc


def _ray_worker(payload: dict[str, Any]) -> None:
    """One Ray Train worker: its rank and device come from Ray."""
    import ray.train
    import ray.train.torch

    context = ray.train.get_context()
    run_worker(payload, rank=context.get_world_rank(), world_size=context.get_world_size(),
               device=ray.train.torch.get_device(), on_ray=True)


@dataclass
class _Loop:
    """The state of one worker's loop."""

    model: nn.Module
    network: nn.Module  # the model, or its DDP wrapper
    optimizer: torch.optim.Optimizer
    ema: AveragedModel | None
    frozen: list[nn.Module]
    epoch: int = 0
    step: int = 0


def run_worker(payload: Mapping[str, Any], *, rank: int, world_size: int, device: torch.device,
               splits: DatasetSplits | None = None, on_ray: bool = False,
               log: Callable[[str], None] | None = None) -> None:
    """The training loop of one worker (the only one when in-process)."""
    job = TrainJob.from_dict(payload["job"])
    stop_after = payload.get("stop_after_epoch")
    config = job.config
    output = Path(job.output_dir)
    log = log or (lambda line: print(line, file=sys.stderr, flush=True))
    with reproducible(config.seed, device, config.deterministic):
        splits = splits if splits is not None else load_data(job.data)
        loop = _prepare(job, device, rank, world_size, on_ray)
        if rank == 0:
            _trim_metrics(output / METRICS, loop.epoch)
            if loop.epoch:
                log(f"train: resuming {job.name} at epoch {loop.epoch + 1}/{config.epochs} (step {loop.step})")
        train_x, train_y = (t.to(device) for t in splits.train)
        val_x, val_y = (t.to(device) for t in splits.val) if rank == 0 else splits.val
        batch_size = min(config.batch_size, len(train_y) - len(train_y) % world_size)
        per_worker = batch_size // world_size
        if per_worker < 1:
            raise TrainError(f"{len(train_y)} training images cannot fill a batch on {world_size} workers")
        # NOTE: the last partial batch of an epoch is dropped (as in ProxyTrainer), so every
        # step has the same global batch and the step count is epochs × steps_per_epoch.
        steps_per_epoch = len(train_y) // batch_size
        rates = learning_rates(config.schedule, config.epochs * steps_per_epoch, config.lr,
                               round(config.warmup_epochs * steps_per_epoch))
        autocast_dtype = resolve_amp(config.amp, device)
        set_drop_path = getattr(loop.model, "set_drop_path", None)
        status = "finished"
        while loop.epoch < config.epochs:
            if stop_after is not None and loop.epoch >= stop_after:
                status = "stopped"
                break
            epoch, started = loop.epoch, time.perf_counter()
            drop_prob = config.drop_path * epoch / config.epochs
            if callable(set_drop_path):
                set_drop_path(drop_prob)
            torch.manual_seed(derived_seed(config.seed, epoch, rank, 1))
            order_generator = torch.Generator().manual_seed(derived_seed(config.seed, epoch, 0))
            augment_generator = torch.Generator(device=device).manual_seed(derived_seed(config.seed, epoch, rank, 2))
            order = torch.randperm(len(train_y), generator=order_generator).to(device)
            shards = order[:steps_per_epoch * batch_size].view(steps_per_epoch, world_size, per_worker)[:, rank]
            loop.network.train()
            keep_frozen_in_eval(loop.frozen)
            totals = torch.zeros(3, device=device, dtype=torch.float64)  # loss sum, correct, images
            for index in shards:
                images = augment(train_x[index], augment_generator, crop_padding=config.crop_padding,
                                 flip=config.flip, cutout_size=config.cutout)
                labels = train_y[index]
                for group in loop.optimizer.param_groups:
                    group["lr"] = rates[loop.step]
                autocast = (torch.autocast(device.type, dtype=autocast_dtype) if autocast_dtype
                            else contextlib.nullcontext())
                with autocast:
                    output_ = loop.network(images)
                    loss = classification_loss(output_, labels, config.label_smoothing, config.aux_weight)
                loop.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                if config.grad_clip > 0:
                    nn.utils.clip_grad_norm_([p for p in loop.model.parameters() if p.requires_grad],
                                             config.grad_clip)
                loop.optimizer.step()
                if loop.ema is not None:
                    loop.ema.update_parameters(loop.model)
                with torch.no_grad():
                    correct = (logits_of(output_).argmax(1) == labels).sum()
                    totals += torch.stack([loss.detach().double() * len(labels), correct.double(),
                                           torch.tensor(float(len(labels)), device=device, dtype=torch.float64)])
                loop.step += 1
            if world_size > 1:
                torch.distributed.all_reduce(totals)
            loop.epoch += 1
            train_loss, train_acc = (totals[0] / totals[2]).item(), (totals[1] / totals[2]).item()
            if not math.isfinite(train_loss):
                raise TrainError(f"non-finite training loss ({train_loss}) in epoch {epoch + 1}")
            record = {"epoch": loop.epoch, "step": loop.step, "lr": rates[loop.step - 1], "drop_path": drop_prob,
                      "train_loss": train_loss, "train_acc": train_acc}
            checkpoint_path = None
            if rank == 0:
                record["val_acc"] = evaluate_accuracy(loop.model, val_x, val_y, config.eval_batch_size,
                                                      autocast_dtype=autocast_dtype)
                if loop.ema is not None:
                    record["ema_val_acc"] = evaluate_accuracy(loop.ema.module, val_x, val_y, config.eval_batch_size,
                                                              autocast_dtype=autocast_dtype)
                record["epoch_seconds"] = time.perf_counter() - started
                record["images_per_second"] = steps_per_epoch * batch_size / record["epoch_seconds"]
                _append_line(output / METRICS, record)
                checkpoint_path = output / CHECKPOINT
                save_checkpoint(checkpoint_path, _checkpoint_state(job, loop, record))
                log(_progress_line(record, config.epochs, loop.ema is not None))
            if on_ray:
                _report_to_ray(record, checkpoint_path if config.ray_checkpoints else None)
        if rank == 0:
            final = {"status": status, "name": job.name, "epochs_done": loop.epoch, "epochs": config.epochs,
                     "steps": loop.step, "steps_per_epoch": steps_per_epoch, "workers": world_size,
                     "params": sum(p.numel() for p in loop.model.parameters()),
                     "trainable_params": sum(p.numel() for p in loop.model.parameters() if p.requires_grad)}
            last = _last_metrics(output / METRICS)
            final.update({key: last[key] for key in ("val_acc", "ema_val_acc", "train_loss") if key in last})
            if status == "finished":
                final.update(_final_weights(job, loop, splits, device, autocast_dtype))
            atomic_write_text(output / FINAL, json.dumps(final, indent=2) + "\n")
            log(f"train: {status} after epoch {loop.epoch}/{config.epochs}, step {loop.step}: {output}")


def _prepare(job: TrainJob, device: torch.device, rank: int, world_size: int, on_ray: bool) -> _Loop:
    """Build the network, freeze what the recipe freezes, restore the checkpoint if any."""
    config = job.config
    torch.manual_seed(config.seed)  # the same initial weights on every rank
    model = build_network(job.genotype)
    if job.init_weights:
        model.load_state_dict(torch.load(job.init_weights, map_location="cpu", weights_only=True))
    try:
        frozen = freeze(model, config.freeze, config.trainable_stages)
    except FreezeError as exc:
        raise UsageError(str(exc)) from exc
    checkpoint = load_checkpoint(Path(job.output_dir)) if has_checkpoint(job.output_dir) else None
    if checkpoint is not None:
        model.load_state_dict(checkpoint["model"])
    model.to(device)
    ema = None
    if config.ema_decay > 0 and rank == 0:
        ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(config.ema_decay), use_buffers=True)
        if checkpoint is not None and checkpoint.get("ema") is not None:
            ema.load_state_dict(checkpoint["ema"])
    network: nn.Module = model
    if on_ray and world_size > 1:
        import ray.train.torch

        network = ray.train.torch.prepare_model(model, move_to_device=device)
    optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=config.lr,
                                momentum=config.momentum, nesterov=config.nesterov and config.momentum > 0,
                                weight_decay=config.weight_decay)
    loop = _Loop(model, network, optimizer, ema, frozen)
    if checkpoint is not None:
        optimizer.load_state_dict(checkpoint["optimizer"])
        loop.epoch, loop.step = int(checkpoint["epoch"]), int(checkpoint["step"])
        restore_rng_states(checkpoint["rng"])
    return loop


def _checkpoint_state(job: TrainJob, loop: _Loop, record: Mapping[str, Any]) -> dict[str, Any]:
    return {"format": CHECKPOINT_FORMAT, "job": job.to_dict(), "epoch": loop.epoch, "step": loop.step,
            "model": loop.model.state_dict(), "ema": loop.ema.state_dict() if loop.ema is not None else None,
            "optimizer": loop.optimizer.state_dict(), "rng": rng_states(), "metrics": dict(record)}


def _final_weights(job: TrainJob, loop: _Loop, splits: DatasetSplits, device: torch.device,
                   autocast_dtype: torch.dtype | None) -> dict[str, Any]:
    """Write ``model.pt`` and measure the test split (final report only)."""
    output = Path(job.output_dir)
    state = {"format": CHECKPOINT_FORMAT + ":weights", "genotype": job.genotype,
             "model": loop.model.state_dict(),
             "ema": loop.ema.module.state_dict() if loop.ema is not None else None}
    save_checkpoint(output / WEIGHTS, state)
    results: dict[str, Any] = {"weights": str(output / WEIGHTS)}
    test_x, test_y = splits.test
    if len(test_y):
        test_x, test_y = test_x.to(device), test_y.to(device)
        results["test_acc"] = evaluate_accuracy(loop.model, test_x, test_y, job.config.eval_batch_size,
                                                autocast_dtype=autocast_dtype)
        if loop.ema is not None:
            results["ema_test_acc"] = evaluate_accuracy(loop.ema.module, test_x, test_y,
                                                        job.config.eval_batch_size, autocast_dtype=autocast_dtype)
    return results


def _report_to_ray(record: Mapping[str, Any], checkpoint_path: Path | None) -> None:
    """Report an epoch to Ray (every rank must); rank 0 attaches its checkpoint."""
    import ray.train

    metrics = {key: value for key, value in record.items() if isinstance(value, (int, float))}
    if checkpoint_path is None:
        ray.train.report(metrics)
        return
    with tempfile.TemporaryDirectory(prefix="nasbench-ckpt-") as folder:
        target = Path(folder) / CHECKPOINT
        try:
            os.link(checkpoint_path, target)
        except OSError:  # another file system: copy
            target.write_bytes(checkpoint_path.read_bytes())
        ray.train.report(metrics, checkpoint=ray.train.Checkpoint.from_directory(folder))


def _append_line(path: Path, record: Mapping[str, Any]) -> None:
    with open(path, "a", encoding="utf-8") as stream:
        stream.write(json.dumps(record) + "\n")
        stream.flush()
        os.fsync(stream.fileno())


def read_metrics(path: str | Path) -> list[dict[str, Any]]:
    """The complete lines of a ``metrics.jsonl`` (a torn last line is left out)."""
    path = Path(path)
    if path.is_dir():
        path = path / METRICS
    if not path.exists():
        return []
    lines = path.read_text().split("\n")
    return [json.loads(line) for line in lines[:-1] if line]


def _trim_metrics(path: Path, epochs_done: int) -> None:
    """Keep the lines of the epochs the checkpoint holds: a run killed after writing an
    epoch's line but before its checkpoint repeats that epoch, and writes it again."""
    if not path.exists():
        return
    kept = [record for record in read_metrics(path) if record["epoch"] <= epochs_done]
    atomic_write_text(path, "".join(json.dumps(record) + "\n" for record in kept))


def _last_metrics(path: Path) -> dict[str, Any]:
    records = read_metrics(path)
    return records[-1] if records else {}


def _progress_line(record: Mapping[str, Any], epochs: int, with_ema: bool) -> str:
    line = (f"epoch {record['epoch']}/{epochs}  step {record['step']}  loss {record['train_loss']:.4f}  "
            f"train_acc {record['train_acc']:.4f}  val_acc {record['val_acc']:.4f}")
    if with_ema:
        line += f"  ema_val_acc {record['ema_val_acc']:.4f}"
    return line + f"  lr {record['lr']:.5f}  {record['epoch_seconds']:.1f} s"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


# --- what to train ------------------------------------------------------------------------

@dataclass(frozen=True)
class NetworkPlan:
    """A network to train on a data set: its genotype fits the data (classes, size, channels)."""

    name: str
    genotype: dict[str, Any]
    data: DataSpec
    source: dict[str, Any]


def plan_network(source: str, data: DataSpec, skeleton: SkeletonSettings | None = None, space: str | None = None,
                 splits: DatasetSplits | None = None) -> tuple[NetworkPlan, DatasetSplits]:
    """Resolve SOURCE (zoo name, genotype file, published cell, point file, run directory)
    into a genotype fitted to the data, loading the data at the resolution the network
    takes. ``skeleton``: ``nasbench.transfer.SkeletonSettings`` for cells (default: the
    CIFAR skeleton at the data's own resolution)."""
    from nasbench.transfer import SkeletonSettings, load_cell, transfer_genotype

    network_genotype, label, origin = _network_source(source)
    if network_genotype is not None:
        size = network_genotype["input_size"]
        resolution = data.resolution or (int(size[0]) if size[0] == size[1] else None)
        data = dataclasses.replace(data, resolution=resolution,
                                   channels=int(network_genotype.get("input_channels", 3)))
        splits = splits or load_data(data)
        channels, height, width = splits.input_shape
        genotype = dict(network_genotype, num_classes=splits.num_classes, input_size=[height, width])
        genotype = NetworkGenotype.from_dict(genotype).to_dict()
        return NetworkPlan(label, genotype, data, origin), splits
    cell = load_cell(source, space)
    settings = skeleton if skeleton is not None else SkeletonSettings(target="cifar")
    if data.resolution is None and settings.input_size is not None:
        data = dataclasses.replace(data, resolution=settings.input_size)
    elif data.resolution is None and settings.target == "imagenet":
        data = dataclasses.replace(data, resolution=settings.resolved(cell).input_size)
    splits = splits or load_data(data)
    channels, height, _ = splits.input_shape
    settings = dataclasses.replace(settings, num_classes=splits.num_classes, input_size=height,
                                   input_channels=channels)
    genotype = transfer_genotype(cell, settings)
    return NetworkPlan(genotype["name"], genotype, data, cell.to_dict()), splits


def _network_source(source: str) -> tuple[dict[str, Any] | None, str, dict[str, Any]]:
    """A zoo name or a network genotype file -> (genotype, name, origin); (None, ...) for cells."""
    from search_spaces.zoo import zoo

    registry = zoo()
    if source in registry:
        from nasbench.rebuild import resolve

        target = resolve(source, registry=registry)
        return target.genotype, source, {"origin": "zoo", "name": source, "variant": target.variant}
    path = Path(source).expanduser()
    if path.is_file() and path.suffix.lower() == ".json":
        try:
            data = json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise UsageError(f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from exc
        if isinstance(data, Mapping) and "stages" in data:
            from search_spaces.genotype import GenotypeError

            try:
                genotype = NetworkGenotype.from_dict(data).to_dict()
            except GenotypeError as exc:
                raise UsageError(f"{path}: {_first_line(exc)}") from exc
            return genotype, genotype.get("name") or path.stem, {"origin": "genotype", "location": str(path.resolve())}
    return None, "", {}


# --- the command ----------------------------------------------------------------------------

PROG = "train"
RECIPE_OPTIONS = {  # option -> (FullTrainConfig field, type, help)
    "--epochs": ("epochs", int, "epochs (default 600)"),
    "--batch-size": ("batch_size", int, "global batch size (default 96)"),
    "--lr": ("lr", float, "peak learning rate (default 0.025)"),
    "--momentum": ("momentum", float, "SGD momentum (default 0.9)"),
    "--weight-decay": ("weight_decay", float, "weight decay (default 3e-4)"),
    "--schedule": ("schedule", str, "cosine | onecycle (default cosine)"),
    "--warmup-epochs": ("warmup_epochs", float, "linear warm-up epochs (default 0)"),
    "--label-smoothing": ("label_smoothing", float, "label smoothing (default 0; 0.1 for ImageNet)"),
    "--cutout": ("cutout", int, "cutout square side, 0 = off (default 16)"),
    "--crop-padding": ("crop_padding", int, "random-crop padding, 0 = off (default 4)"),
    "--drop-path": ("drop_path", float, "final drop-path probability (default 0.2)"),
    "--aux-weight": ("aux_weight", float, "auxiliary-head loss weight (default 0.4)"),
    "--grad-clip": ("grad_clip", float, "max gradient norm, 0 = off (default 5)"),
    "--ema-decay": ("ema_decay", float, "EMA decay per step, 0 = off (default 0.9998)"),
    "--seed": ("seed", int, "seed of the weights, data order and augmentation (default 0)"),
    "--amp": ("amp", str, "auto | bf16 | off (default auto: bf16 on CUDA)"),
    "--eval-batch-size": ("eval_batch_size", int, "evaluation batch size (default 256)"),
}
EXECUTION_OPTIONS = {
    "--workers": ("num_workers", int, "Ray Train workers; 0 or 1 trains in this process (default 1)"),
    "--device": ("device", str, "in-process device (default auto)"),
    "--backend": ("backend", str, "auto | gloo | nccl (default auto)"),
    "--cpu-threads": ("cpu_threads", int, "in-process torch threads, 0 = unchanged"),
    "--max-failures": ("max_failures", int, "Ray restarts of a failed worker group (default 0)"),
    "--ray-address": ("ray_address", str, "join the Ray cluster at this address"),
}


def add_training_options(parser: argparse.ArgumentParser, defaults: Mapping[str, Any] | None = None) -> None:
    """The recipe and execution options (default None: ``FullTrainConfig``'s, or ``defaults``)."""
    defaults = defaults or {}
    recipe = parser.add_argument_group("recipe")
    for option, (name, kind, text) in RECIPE_OPTIONS.items():
        if name in defaults:
            text = text.split(" (default")[0] + f" (default {defaults[name]})"
        recipe.add_argument(option, dest=name, type=kind, help=text)
    recipe.add_argument("--no-flip", dest="flip", action="store_false", default=None, help="no random flips")
    recipe.add_argument("--nesterov", dest="nesterov", action="store_true", default=None, help="Nesterov momentum")
    execution = parser.add_argument_group("execution (may change when resuming)")
    for option, (name, kind, text) in EXECUTION_OPTIONS.items():
        execution.add_argument(option, dest=name, type=kind, help=text)
    execution.add_argument("--gpu", dest="use_gpu", action="store_true", default=None, help="train on GPUs")
    execution.add_argument("--no-ray-checkpoints", dest="ray_checkpoints", action="store_false", default=None,
                           help="do not report checkpoints to Ray")


def add_data_options(parser: argparse.ArgumentParser) -> None:
    data = parser.add_argument_group("data")
    data.add_argument("--data", default="cifar10",
                      help=f"{', '.join(DATASETS)} or an image folder (default cifar10)")
    data.add_argument("--data-root", help="where the data set's files are")
    data.add_argument("--data-seed", type=int, default=0, help="seed of the train/validation split")
    data.add_argument("--resolution", type=int, help="image side (default: the network's input size)")
    data.add_argument("--train-fraction", type=float, default=1.0, help="keep this share of the training split")
    data.add_argument("--val-fraction", type=float, default=0.1, help="image folders: validation share")
    data.add_argument("--no-download", dest="download", action="store_false", help="never download")


def config_from_args(args: argparse.Namespace, defaults: Mapping[str, Any] | None = None,
                     base: FullTrainConfig | None = None) -> tuple[FullTrainConfig, dict[str, Any]]:
    """The config the options give (over ``base`` or ``defaults``), and the options given explicitly."""
    names = [name for name, _, _ in (*RECIPE_OPTIONS.values(), *EXECUTION_OPTIONS.values())]
    names += ["flip", "nesterov", "use_gpu", "ray_checkpoints"]
    given = {name: getattr(args, name) for name in names if getattr(args, name, None) is not None}
    start = dataclasses.asdict(base) if base is not None else dict(defaults or {})
    try:
        return FullTrainConfig(**{**start, **given}), given
    except ValueError as exc:
        raise UsageError(f"--{str(exc).replace('_', '-')}") from exc


def data_from_args(args: argparse.Namespace) -> DataSpec:
    """The data options; paths made absolute (Ray workers run in other directories)."""
    if args.resolution is not None and args.resolution < 1:
        raise UsageError(f"--resolution: expected a positive integer, got {args.resolution}")
    name = args.data if args.data in DATASETS else str(Path(args.data).expanduser().resolve())
    root = str(Path(args.data_root).expanduser().resolve()) if args.data_root else None
    return DataSpec(name=name, root=root, seed=args.data_seed, resolution=args.resolution,
                    train_fraction=args.train_fraction, val_fraction=args.val_fraction, download=args.download)


def resumed_job(directory: str | Path, config_given: Mapping[str, Any]) -> TrainJob:
    """The job of the checkpoint in ``directory``, with this command's execution options;
    a recipe option that differs from the checkpoint's is refused."""
    job = TrainJob.from_dict(load_checkpoint(directory)["job"])
    saved = dataclasses.asdict(job.config)
    for name, value in config_given.items():
        if name not in EXECUTION_FIELDS and saved[name] != value:
            raise UsageError(f"--{name.replace('_', '-')} {value} differs from the checkpoint's {saved[name]}; "
                             f"a resumed run keeps its settings")
    config = FullTrainConfig(**{**saved, **{k: v for k, v in config_given.items() if k in EXECUTION_FIELDS}})
    return dataclasses.replace(job, config=config, output_dir=str(Path(directory).expanduser().resolve()))


def default_output_dir(name: str) -> Path:
    """``runs/train/<date>/<time>-<name>`` under the repository (not the working directory)."""
    root = Path(__file__).resolve().parents[2] / "runs" / "train"
    return root / time.strftime("%Y-%m-%d") / f"{time.strftime('%H-%M-%S')}-{name.replace('/', '_')}"


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Train a network at full scale (cosine schedule, label smoothing, cutout, drop-path, "
                    "auxiliary loss, EMA), checkpointing every epoch; resumable; distributed with Ray Train.",
        epilog="SOURCE: a zoo name, a network genotype JSON file, a published cell (nasnet_a, amoeba_a, "
               "darts_v2, enas), a point JSON file or a nasbench.search run directory. Cells are stacked "
               "with --target/--cells/--filters as nasbench.transfer does.\n\nexit status: 0 trained (or "
               "stopped by --stop-after-epoch), 1 training failed, 2 usage error.")
    parser.add_argument("source", nargs="?", metavar="SOURCE", help="what to train (omit with --resume)")
    parser.add_argument("--output", metavar="DIR", help="output directory (default runs/train/<date>/<time>-NAME); "
                                                        "one holding a checkpoint is resumed")
    parser.add_argument("--resume", metavar="DIR", help="resume the run whose checkpoint is in DIR")
    parser.add_argument("--stop-after-epoch", type=int, metavar="N", help="stop once N epochs are done")
    parser.add_argument("--json", action="store_true", help="print final.json on stdout")
    cells = parser.add_argument_group("cells (published cells, point files, run directories)")
    cells.add_argument("--target", choices=("cifar", "imagenet"), default="cifar", help="skeleton (default cifar)")
    cells.add_argument("--preset", choices=("mobile", "large"), default="mobile", help="ImageNet preset")
    cells.add_argument("--cells", type=int, metavar="N", help="normal cells per stage")
    cells.add_argument("--filters", type=int, metavar="F", help="filters of the first stage")
    cells.add_argument("--aux", action=argparse.BooleanOptionalAction, default=True,
                       help="auxiliary head (default: yes)")
    cells.add_argument("--space", help="the space of a bare point file")
    add_data_options(parser)
    add_training_options(parser)
    return parser


def run_cli(prog: str, parser: argparse.ArgumentParser, runner: Callable[[argparse.Namespace], "TrainOutcome"],
            argv: Sequence[str] | None) -> int:
    """Parse, run, and turn errors into one line: exit 2 for usage errors, 1 for a failed
    training; ``--json`` prints the final record (shared by train and finetune)."""
    args = parser.parse_args(argv)
    try:
        outcome = runner(args)
    except UsageError as exc:
        print(f"{prog}: {_first_line(exc)}", file=sys.stderr)
        return 2
    except TrainError as exc:
        print(f"{prog}: {_first_line(exc)}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(outcome.final))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return run_cli(PROG, make_parser(), run, argv)


def run(args: argparse.Namespace) -> TrainOutcome:
    from nasbench.transfer import SkeletonSettings

    config, given = config_from_args(args)
    if args.stop_after_epoch is not None and args.stop_after_epoch < 0:
        raise UsageError(f"--stop-after-epoch: expected a non-negative integer, got {args.stop_after_epoch}")
    directory = args.resume or (args.output if args.output and has_checkpoint(args.output) else None)
    if directory is not None and (args.source is None or args.resume):
        job = resumed_job(directory, given)
        return train_full(job, stop_after_epoch=args.stop_after_epoch)
    if args.source is None:
        raise UsageError("give a SOURCE to train, or --resume DIR")
    for option in ("cells", "filters"):
        if getattr(args, option) is not None and getattr(args, option) < 1:
            raise UsageError(f"--{option}: expected a positive integer, got {getattr(args, option)}")
    skeleton = SkeletonSettings(target=args.target, preset=args.preset, cells=args.cells, filters=args.filters,
                                aux=args.aux)
    plan, splits = plan_network(args.source, data_from_args(args), skeleton, args.space)
    output = Path(args.output).expanduser() if args.output else default_output_dir(plan.name)
    job = TrainJob(plan.name, plan.genotype, plan.data, config, str(output), source=plan.source)
    return train_full(job, stop_after_epoch=args.stop_after_epoch,
                      splits=splits if config.num_workers <= 1 else None)
