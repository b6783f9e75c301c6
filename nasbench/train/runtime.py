"""Where and how a training run executes: its device, autocast, threads and determinism."""
from __future__ import annotations

import contextlib
from typing import Any, ContextManager, Iterator

import torch
import torch.utils.deterministic

from nasbench.core.errors import ConfigError


def to_cpu(value: Any) -> Any:
    """``value`` with every tensor in it copied to the CPU (dicts, lists and tuples walked):
    a state that outlives the run or crosses to another process."""
    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu", copy=True)
    if isinstance(value, dict):
        return {key: to_cpu(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(to_cpu(item) for item in value)
    return value


def resolve_device(name: str) -> torch.device:
    """``auto`` is CUDA when available, else the CPU; other names as ``torch.device``."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        device = torch.device(name)
    except RuntimeError as error:
        raise ConfigError(f"{name!r} is not a device ({error})") from None
    if device.type == "cuda" and device.index is None and torch.cuda.is_available():
        device = torch.device("cuda", torch.cuda.current_device())
    return device


def resolve_amp(amp: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype of ``amp`` on ``device`` (None: full precision)."""
    if amp == "bf16" or (amp == "auto" and device.type == "cuda"):
        return torch.bfloat16
    return None


def autocast(device_type: str, dtype: torch.dtype | None) -> ContextManager[object]:
    """``torch.autocast`` to ``dtype``, or a context that changes nothing when it is None."""
    return torch.autocast(device_type, dtype=dtype) if dtype is not None else contextlib.nullcontext()


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
