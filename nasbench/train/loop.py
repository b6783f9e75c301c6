"""Full-scale training of one network: the run and each worker's loop.

What the proxy trainer (``nasbench.train.trainer``) does for a few epochs of a search,
this does for the hundreds of epochs of a final network, with the recipe of NASNet and
DARTS' final training (Zoph et al. 2018, https://arxiv.org/abs/1707.07012, Sec. A.1;
Liu et al. 2019, https://arxiv.org/abs/1806.09055, Sec. 3.3): the step and the epoch of
``nasbench.train.steps`` (SGD with momentum, a per-batch schedule, label smoothing,
cutout, drop-path rising linearly, the auxiliary head's loss, gradient clipping) and an
exponential moving average of the weights (Polyak & Juditsky 1992;
``torch.optim.swa_utils.AveragedModel`` with ``get_ema_multi_avg_fn``, batch-norm
statistics averaged too). The data stay resident and each batch is augmented on the
device; accuracy is ``metrics.evaluate_accuracy``.

Resume
    A run started on an output directory that holds a checkpoint continues from it. Each
    epoch's randomness (data order, augmentation, drop-path, dropout) is drawn from
    generators seeded by (seed, epoch, rank), and the learning rate is a function of the
    global step, so a run killed at any moment and resumed from its last checkpoint
    repeats the same steps and, on the CPU in deterministic mode, ends with the same
    weights as a run that was never stopped. Execution settings (workers, GPU, device)
    may change on resume; the recipe may not.

``num_workers`` 0 or 1 trains in this process; more run on Ray Train
(``nasbench.train.ray_launcher``).
"""
from __future__ import annotations

import dataclasses
import json
import math
import sys
import time
from pathlib import Path
from typing import Any, Callable, Mapping

import torch
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from nasbench.data.splits import DatasetSplits
from nasbench.core.errors import UsageError
from nasbench.core.files import atomic_write_text
from nasbench.train.curves import TrainingCurves
from nasbench.train.checkpoint import (CHECKPOINT, CHECKPOINT_FORMAT, FINAL, JOB, METRICS, WEIGHTS, append_metrics,
                                       derived_seed, has_checkpoint, last_metrics, load_checkpoint,
                                       restore_rng_states, rng_states, save_checkpoint, trim_metrics)
from nasbench.train.errors import TrainError
from nasbench.train.freeze import FreezeError, freeze
from nasbench.train.metrics import evaluate_accuracy
from nasbench.train.ray_launcher import report_to_ray, run_on_ray, wrap_for_ddp
from nasbench.train.recipe import FullTrainConfig, TrainJob, TrainOutcome, check_same_recipe, load_data
from nasbench.train.runtime import cpu_threads, reproducible, resolve_amp, resolve_device
from nasbench.train.steps import TrainState, batch_layout, epoch_batches, make_optimizer, train_epoch
from search_spaces.build import build_network

CURVES = "tensorboard"  # OUTPUT/tensorboard: the per-epoch curves (tensorboard --logdir OUTPUT)
CURVE_KEYS = ("train_loss", "train_acc", "val_acc", "ema_val_acc", "lr", "images_per_second")


def train_full(job: TrainJob, *, stop_after_epoch: int | None = None, splits: DatasetSplits | None = None,
               log: Callable[[str], None] | None = None, command: str = "train") -> TrainOutcome:
    """Train ``job`` (or resume it from the checkpoint in its output directory) until its
    last epoch, or until ``stop_after_epoch`` epochs are done (a stop that leaves a
    checkpoint, as a kill after that epoch would). ``splits``: data already loaded (used
    by in-process runs only). ``command``: whose lines these are (``finetune``)."""
    output = Path(job.output_dir).expanduser().resolve()
    output.mkdir(parents=True, exist_ok=True)
    job = dataclasses.replace(job, output_dir=str(output))
    if has_checkpoint(output):
        saved = TrainJob.from_dict(load_checkpoint(output)["job"])
        check_same_recipe(saved, job)
    atomic_write_text(output / JOB, json.dumps(job.to_dict(), indent=2) + "\n")
    (output / FINAL).unlink(missing_ok=True)
    payload = {"job": job.to_dict(), "stop_after_epoch": stop_after_epoch, "command": command}
    if job.config.num_workers <= 1:
        device = resolve_device(job.config.device if not job.config.use_gpu else "cuda")
        with cpu_threads(job.config.cpu_threads):
            run_worker(payload, rank=0, world_size=1, device=device, splits=splits, log=log)
    else:
        run_on_ray(job, payload, run_worker)
    final = json.loads((output / FINAL).read_text())
    return TrainOutcome(final["status"], final["epochs_done"], final["steps"], output, final)


def run_worker(payload: Mapping[str, Any], *, rank: int, world_size: int, device: torch.device,
               splits: DatasetSplits | None = None, on_ray: bool = False,
               log: Callable[[str], None] | None = None) -> None:
    """The training loop of one worker (the only one when in-process)."""
    job = TrainJob.from_dict(payload["job"])
    stop_after = payload.get("stop_after_epoch")
    config = job.config
    output = Path(job.output_dir)
    log = log or (lambda line: print(line, file=sys.stderr, flush=True))
    command = payload.get("command", "train")
    with reproducible(config.seed, device, config.deterministic):
        splits = splits if splits is not None else load_data(job.data)
        train_x, train_y = (t.to(device) for t in splits.train)
        val_x, val_y = (t.to(device) for t in splits.val) if rank == 0 else splits.val
        batch_size, steps_per_epoch = batch_layout(len(train_y), config.batch_size, world_size)
        if batch_size // world_size < 1:
            raise TrainError(f"{len(train_y)} training images cannot fill a batch on {world_size} workers")
        state = _prepare(job, device, rank, world_size, on_ray, steps_per_epoch)
        if rank == 0:
            trim_metrics(output / METRICS, state.epoch)
            if state.epoch >= config.epochs:
                log(f"{command}: {job.name} already finished its {config.epochs} epochs (step {state.step}); "
                    f"nothing to train, its final weights stand")
            elif state.epoch:
                log(f"{command}: resuming {job.name} at epoch {state.epoch + 1}/{config.epochs} (step {state.step})")
        autocast_dtype = resolve_amp(config.amp, device)
        status = "finished"
        curves = TrainingCurves(output / CURVES) if rank == 0 else None
        while state.epoch < config.epochs:
            if stop_after is not None and state.epoch >= stop_after:
                status = "stopped"
                break
            started = time.perf_counter()
            batches, generator = _epoch_randomness(config, state.epoch, rank, world_size, len(train_y), batch_size,
                                                   steps_per_epoch, device)
            trained = train_epoch(state, config, train_x, train_y, batches, generator, autocast_dtype=autocast_dtype)
            totals = trained.totals()
            if world_size > 1:
                torch.distributed.all_reduce(totals)
            state.epoch += 1
            train_loss, train_acc = (totals[0] / totals[2]).item(), (totals[1] / totals[2]).item()
            if not math.isfinite(train_loss):
                raise TrainError(f"non-finite training loss ({train_loss}) in epoch {state.epoch}")
            record = {"epoch": state.epoch, "step": state.step, "lr": state.rates[state.step - 1],
                      "drop_path": trained.drop_path, "train_loss": train_loss, "train_acc": train_acc}
            checkpoint_path = None
            if rank == 0:
                checkpoint_path = _close_epoch(job, state, record, (val_x, val_y), autocast_dtype, started,
                                               steps_per_epoch * batch_size)
                log(_progress_line(record, config.epochs, state.ema is not None))
                curves.add(state.epoch, {key: record.get(key) for key in CURVE_KEYS})
            if on_ray:
                report_to_ray(record, checkpoint_path if config.ray_checkpoints else None)
        if rank == 0:
            curves.close()
            _write_final(job, state, status, splits, device, autocast_dtype, steps_per_epoch, world_size)
            log(f"{command}: {status} after epoch {state.epoch}/{config.epochs}, step {state.step}: {output}")


def _close_epoch(job: TrainJob, state: TrainState, record: dict[str, Any], val: tuple[torch.Tensor, torch.Tensor],
                 autocast_dtype: torch.dtype | None, started: float, images: int) -> Path:
    """Rank 0's end of an epoch: the validation accuracy (and the EMA's) and the epoch's
    time (from ``started``, validation included) and throughput into ``record``, the
    metrics row appended, the checkpoint saved; returns the checkpoint's path."""
    config, output = job.config, Path(job.output_dir)
    record["val_acc"] = evaluate_accuracy(state.model, *val, config.eval_batch_size, autocast_dtype=autocast_dtype)
    if state.ema is not None:
        record["ema_val_acc"] = evaluate_accuracy(state.ema.module, *val, config.eval_batch_size,
                                                  autocast_dtype=autocast_dtype)
    record["epoch_seconds"] = time.perf_counter() - started
    record["images_per_second"] = images / record["epoch_seconds"]
    append_metrics(output / METRICS, record)
    save_checkpoint(output / CHECKPOINT, _checkpoint_state(job, state, record))
    return output / CHECKPOINT


def _write_final(job: TrainJob, state: TrainState, status: str, splits: DatasetSplits, device: torch.device,
                 autocast_dtype: torch.dtype | None, steps_per_epoch: int, world_size: int) -> None:
    """``final.json``: how the run ended, its size and last metrics (and, finished, the
    final weights' test accuracy: ``_final_weights``)."""
    config, output = job.config, Path(job.output_dir)
    final = {"status": status, "name": job.name, "epochs_done": state.epoch, "epochs": config.epochs,
             "steps": state.step, "steps_per_epoch": steps_per_epoch, "workers": world_size,
             "params": sum(p.numel() for p in state.model.parameters()),
             "trainable_params": sum(p.numel() for p in state.model.parameters() if p.requires_grad)}
    last = last_metrics(output / METRICS)
    final.update({key: last[key] for key in ("val_acc", "ema_val_acc", "train_loss") if key in last})
    if status == "finished":
        final.update(_final_weights(job, state, splits, device, autocast_dtype))
    atomic_write_text(output / FINAL, json.dumps(final, indent=2) + "\n")


def _epoch_randomness(config: FullTrainConfig, epoch: int, rank: int, world_size: int, images: int,
                      batch_size: int, steps_per_epoch: int,
                      device: torch.device) -> tuple[torch.Tensor, torch.Generator]:
    """Seed the epoch's dropout and drop-path (torch's global generator), and return this
    rank's batches (the data order is the same on every rank) and its augmentation
    generator: all drawn from (seed, epoch, rank), so a resumed epoch repeats exactly."""
    torch.manual_seed(derived_seed(config.seed, epoch, rank, 1))
    order_generator = torch.Generator().manual_seed(derived_seed(config.seed, epoch, 0))
    augment_generator = torch.Generator(device=device).manual_seed(derived_seed(config.seed, epoch, rank, 2))
    order = torch.randperm(images, generator=order_generator).to(device)
    return epoch_batches(order, steps_per_epoch, batch_size, world_size, rank), augment_generator


def _prepare(job: TrainJob, device: torch.device, rank: int, world_size: int, on_ray: bool,
             steps_per_epoch: int) -> TrainState:
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
    network = wrap_for_ddp(model, device) if on_ray and world_size > 1 else model
    optimizer, rates = make_optimizer(model, config, steps_per_epoch)
    state = TrainState(model, network, optimizer, rates, ema, frozen)
    if checkpoint is not None:
        optimizer.load_state_dict(checkpoint["optimizer"])
        state.epoch, state.step = int(checkpoint["epoch"]), int(checkpoint["step"])
        restore_rng_states(checkpoint["rng"])
    return state


def _checkpoint_state(job: TrainJob, state: TrainState, record: Mapping[str, Any]) -> dict[str, Any]:
    return {"format": CHECKPOINT_FORMAT, "job": job.to_dict(), "epoch": state.epoch, "step": state.step,
            "model": state.model.state_dict(), "ema": state.ema.state_dict() if state.ema is not None else None,
            "optimizer": state.optimizer.state_dict(), "rng": rng_states(), "metrics": dict(record)}


def _final_weights(job: TrainJob, state: TrainState, splits: DatasetSplits, device: torch.device,
                   autocast_dtype: torch.dtype | None) -> dict[str, Any]:
    """Write ``model.pt`` and measure the test split (final report only)."""
    output = Path(job.output_dir)
    weights = {"format": CHECKPOINT_FORMAT + ":weights", "genotype": job.genotype,
               "model": state.model.state_dict(),
               "ema": state.ema.module.state_dict() if state.ema is not None else None}
    save_checkpoint(output / WEIGHTS, weights)
    results: dict[str, Any] = {"weights": str(output / WEIGHTS)}
    test_x, test_y = splits.test
    if len(test_y):
        test_x, test_y = test_x.to(device), test_y.to(device)
        results["test_acc"] = evaluate_accuracy(state.model, test_x, test_y, job.config.eval_batch_size,
                                                autocast_dtype=autocast_dtype)
        if state.ema is not None:
            results["ema_test_acc"] = evaluate_accuracy(state.ema.module, test_x, test_y,
                                                        job.config.eval_batch_size, autocast_dtype=autocast_dtype)
    return results


def _progress_line(record: Mapping[str, Any], epochs: int, with_ema: bool) -> str:
    line = (f"epoch {record['epoch']}/{epochs}  step {record['step']}  loss {record['train_loss']:.4f}  "
            f"train_acc {record['train_acc']:.4f}  val_acc {record['val_acc']:.4f}")
    if with_ema:
        line += f"  ema_val_acc {record['ema_val_acc']:.4f}"
    return line + f"  lr {record['lr']:.5f}  {record['epoch_seconds']:.1f} s"
