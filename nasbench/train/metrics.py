"""Cost and quality measures of a network: parameters, multiply-adds, latency, accuracy."""
from __future__ import annotations

import contextlib
import resource
import statistics
import sys
import time
from typing import Iterator

import torch
from torch import Tensor, nn

from nasbench.networks.layer_table import flop_counter
from nasbench.train.runtime import autocast


@contextlib.contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """Put ``model`` in eval mode for the block and restore its mode afterwards."""
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


def logits_of(output: Tensor | tuple) -> Tensor:
    """The main logits of a network's output, ``(logits, [aux, ...])`` or ``logits``."""
    return output[0] if isinstance(output, (tuple, list)) else output


def count_params(model: nn.Module) -> int:
    """Number of trainable parameters (auxiliary heads included)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def count_macs(model: nn.Module, input_shape: tuple[int, ...],
               device: torch.device | str | None = None) -> int:
    """Multiply-adds of one eval-mode forward pass at batch 1.

    Counted with ``torch.utils.flop_counter`` (matmuls and convolutions: ``layer_table.flop_counter``);
    MACs are half its FLOPs.
    """
    device = device if device is not None else next(model.parameters()).device
    sample = torch.zeros(1, *input_shape, device=device)
    counter = flop_counter()
    with eval_mode(model), torch.no_grad(), counter:
        model(sample)
    return counter.get_total_flops() // 2


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure_latency(model: nn.Module, input_shape: tuple[int, ...], batch_size: int = 1,
                    device: torch.device | str | None = None, *, warmup: int = 3, repeats: int = 10,
                    autocast_dtype: torch.dtype | None = None,
                    channels_last: bool = False) -> float:
    """Median wall time (ms) of an eval-mode forward pass of ``batch_size`` images."""
    device = torch.device(device) if device is not None else next(model.parameters()).device
    sample = torch.randn(batch_size, *input_shape, device=device)
    if channels_last:
        sample = sample.contiguous(memory_format=torch.channels_last)
    timings = []
    with eval_mode(model), torch.no_grad(), autocast(device.type, autocast_dtype):
        for run in range(warmup + repeats):
            _synchronize(device)
            start = time.perf_counter()
            model(sample)
            _synchronize(device)
            if run >= warmup:
                timings.append((time.perf_counter() - start) * 1e3)
    return statistics.median(timings)


def evaluate_accuracy(model: nn.Module, images: Tensor, labels: Tensor, batch_size: int = 1024,
                      *, autocast_dtype: torch.dtype | None = None,
                      channels_last: bool = False) -> float:
    """Top-1 accuracy (fraction) of ``model`` on resident tensors, in eval mode."""
    if len(labels) == 0:
        return float("nan")
    correct = torch.zeros((), dtype=torch.int64, device=images.device)
    with eval_mode(model), torch.no_grad(), autocast(images.device.type, autocast_dtype):
        for start in range(0, len(labels), batch_size):
            batch = images[start:start + batch_size]
            if channels_last:
                batch = batch.contiguous(memory_format=torch.channels_last)
            predicted = logits_of(model(batch)).argmax(dim=1)
            correct += (predicted == labels[start:start + batch_size]).sum()
    return correct.item() / len(labels)


def peak_memory_bytes(device: torch.device) -> int:
    """Peak memory: CUDA's max allocated since the last reset, else the process's max RSS.

    NOTE: on CPU this is the whole process's high-water mark since it started, not one
    evaluation's; it is an upper bound.
    """
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device)
    max_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return max_rss if sys.platform == "darwin" else max_rss * 1024  # Linux reports KiB


def device_name(device: torch.device) -> str:
    """A readable name of ``device``: the GPU's model on CUDA, else the device type."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return device.type
