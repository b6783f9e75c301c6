"""How the ranks of a data-parallel one-shot search agree: averaged gradients, one
decision, one state.

Data parallelism as in Goyal et al. 2017 ("Accurate, Large Minibatch SGD",
https://arxiv.org/abs/1706.02677) and PyTorch's DDP: every rank holds the whole supernet,
takes its slice of each global batch, and the gradients are averaged before every
optimizer step, so the ranks' weights stay equal. A hand-made all-reduce rather than the
DDP wrapper, because the one-shot methods take gradients DDP cannot see (DARTS' unrolled
step with ``torch.autograd.grad``) and single-path steps leave most of the supernet
without a gradient. Every rank draws the same paths (the epoch's generator is seeded
alike), so the same parameters have gradients on every rank. Batch norm statistics are
per rank, as under DDP; rank 0's are the ones evaluated and saved.

``SingleProcess`` is the one-rank collective every search has by default;
``TorchDistributed`` uses the default ``torch.distributed`` process group (Ray Train
sets it up: gloo on CPUs, NCCL on GPUs).
"""
from __future__ import annotations

from typing import Any, Protocol, Sequence

import torch


class Collective(Protocol):
    """What the search loop and the methods need of the group of ranks."""

    rank: int
    world_size: int

    def average(self, tensors: Sequence[torch.Tensor | None]) -> None:
        """Replace each tensor (None: skipped) by its mean over the ranks, in place."""

    def any(self, flag: bool) -> bool:
        """Whether ``flag`` is true on any rank (every rank gets the same answer)."""

    def sum(self, values: Sequence[float]) -> list[float]:
        """Each value summed over the ranks."""

    def broadcast(self, value: Any) -> Any:
        """Rank 0's ``value`` on every rank (picklable; tensors should be on the CPU)."""


class SingleProcess:
    """One rank: every collective operation is the identity."""

    rank = 0
    world_size = 1

    def average(self, tensors: Sequence[torch.Tensor | None]) -> None:
        del tensors

    def any(self, flag: bool) -> bool:
        return bool(flag)

    def sum(self, values: Sequence[float]) -> list[float]:
        return [float(value) for value in values]

    def broadcast(self, value: Any) -> Any:
        return value


class TorchDistributed:
    """The default ``torch.distributed`` process group (initialised by the caller)."""

    def __init__(self, device: torch.device) -> None:
        import torch.distributed as dist

        if not dist.is_initialized():
            raise RuntimeError("TorchDistributed: torch.distributed is not initialised")
        self.rank = dist.get_rank()
        self.world_size = dist.get_world_size()
        self.device = device

    def average(self, tensors: Sequence[torch.Tensor | None]) -> None:
        """One all-reduce over the tensors flattened together (as DDP buckets them)."""
        import torch.distributed as dist

        present = [tensor for tensor in tensors if tensor is not None]
        if not present:
            return
        flat = torch.cat([tensor.detach().reshape(-1) for tensor in present])
        dist.all_reduce(flat)
        flat /= self.world_size
        offset = 0
        with torch.no_grad():
            for tensor in present:
                tensor.copy_(flat[offset:offset + tensor.numel()].view_as(tensor))
                offset += tensor.numel()

    def any(self, flag: bool) -> bool:
        import torch.distributed as dist

        value = torch.tensor([1.0 if flag else 0.0], device=self.device)
        dist.all_reduce(value, op=dist.ReduceOp.MAX)
        return bool(value.item() > 0)

    def sum(self, values: Sequence[float]) -> list[float]:
        import torch.distributed as dist

        total = torch.tensor([float(value) for value in values], dtype=torch.float64, device=self.device)
        dist.all_reduce(total)
        return [float(value) for value in total.tolist()]

    def broadcast(self, value: Any) -> Any:
        import torch.distributed as dist

        box = [value if self.rank == 0 else None]
        dist.broadcast_object_list(box, src=0, device=self.device if self.device.type == "cuda" else None)
        return box[0]


def shard(batch: tuple[torch.Tensor, torch.Tensor], collective: Collective) -> tuple[torch.Tensor, torch.Tensor]:
    """This rank's contiguous slice of a global batch (the same on every call, as
    ``DistributedSampler`` with the ranks' common data order)."""
    if collective.world_size == 1:
        return batch
    images, labels = batch
    size = len(labels) // collective.world_size
    start = collective.rank * size
    return images[start:start + size], labels[start:start + size]
