"""Running the full trainer's per-worker loop on Ray Train workers (DDP).

With ``num_workers`` > 1 a run is a Ray Train job (``ray.train.torch.TorchTrainer``,
``ScalingConfig(num_workers, use_gpu)``, DDP through ``prepare_model``, gloo on CPUs and
NCCL on GPUs). Every worker loads the data and takes its own slice of each global batch
(the data order is the same on all ranks, so the slices are disjoint, as with
``DistributedSampler``); ``batch_size`` is the global batch. Rank 0 evaluates, writes the
checkpoint, the metrics and the final files, and reports each checkpoint to Ray
(``ray.train.report``); ``checkpoint.pt`` in the output directory stays the source of
truth for resuming, and a worker restarted by Ray (``max_failures``) resumes from it. On a
cluster the output directory must be on a file system every node shares.

Ray is imported only when a run uses it.
"""
from __future__ import annotations

import functools
import os
import tempfile
from pathlib import Path
from typing import Any, Mapping, Protocol

import torch
from torch import nn

from nasbench.core.ray_cluster import ensure_ray, worker_room
from nasbench.train.checkpoint import CHECKPOINT
from nasbench.core.errors import first_line
from nasbench.train.errors import TrainError
from nasbench.train.recipe import TrainJob


class Worker(Protocol):
    """The loop one worker runs, given the job's payload and its place in the group."""

    def __call__(self, payload: Mapping[str, Any], *, rank: int, world_size: int, device: torch.device,
                 on_ray: bool) -> None: ...


def run_on_ray(job: TrainJob, payload: Mapping[str, Any], worker: Worker) -> None:
    """Run ``worker`` on ``job.config.num_workers`` Ray Train workers (DDP)."""
    import ray
    from ray.train import CheckpointConfig, FailureConfig, RunConfig, ScalingConfig
    from ray.train.torch import TorchConfig, TorchTrainer

    config = job.config
    ensure_ray(config.ray_address, None if config.ray_address else max(config.num_workers, os.cpu_count() or 1))
    room = worker_room(1.0, 1.0 if config.use_gpu else 0.0)  # ScalingConfig's default worker: 1 CPU (+ 1 GPU)
    if room < config.num_workers:  # Ray Train would wait for them for ever
        raise TrainError(f"num_workers={config.num_workers}: the Ray cluster has room for {room} workers of 1 CPU"
                         f"{' and 1 GPU' if config.use_gpu else ''} each")
    backend = config.backend if config.backend != "auto" else ("nccl" if config.use_gpu else "gloo")
    storage = Path(job.output_dir) / "ray"
    starts = len([p for p in storage.glob("train-*") if p.is_dir()]) if storage.is_dir() else 0
    trainer = TorchTrainer(
        functools.partial(_ray_worker, worker), train_loop_config=dict(payload),
        scaling_config=ScalingConfig(num_workers=config.num_workers, use_gpu=config.use_gpu),
        torch_config=TorchConfig(backend=backend),
        run_config=RunConfig(name=f"train-{starts}", storage_path=str(storage),
                             failure_config=FailureConfig(max_failures=config.max_failures,
                                                          controller_failure_limit=config.max_failures),
                             checkpoint_config=CheckpointConfig(num_to_keep=1)))
    try:
        trainer.fit()
    except (ray.exceptions.RayError, RuntimeError) as exc:
        raise TrainError(f"the Ray Train job failed: {first_line(exc)}") from exc


def _ray_worker(worker: Worker, payload: dict[str, Any]) -> None:
    """One Ray Train worker: its rank and device come from Ray."""
    import ray.train
    import ray.train.torch

    context = ray.train.get_context()
    worker(payload, rank=context.get_world_rank(), world_size=context.get_world_size(),
           device=ray.train.torch.get_device(), on_ray=True)


def wrap_for_ddp(model: nn.Module, device: torch.device) -> nn.Module:
    """``model`` in Ray Train's DDP wrapper (gradients averaged over the workers)."""
    import ray.train.torch

    return ray.train.torch.prepare_model(model, move_to_device=device)


def report_to_ray(record: Mapping[str, Any], checkpoint_path: Path | None) -> None:
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
