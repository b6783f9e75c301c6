"""Joining Ray, and how much of its cluster is free: what every Ray user here shares.

The Ray executor (Tune trials), the full trainer (Ray Train) and one-shot searches on Ray
Train all start Ray, or join a cluster, the same way; ``ray`` is imported only when one
of them runs.
"""
from __future__ import annotations

from typing import Any


def ensure_ray(address: str | None = None, num_cpus: int | None = None) -> None:
    """Start Ray, or join the cluster at ``address``, unless this process has.

    ``num_cpus`` applies only to a Ray started here; a cluster has its own resources.
    """
    import ray

    if ray.is_initialized():
        return
    if address:
        ray.init(address=str(address))
        return
    options: dict[str, Any] = {"include_dashboard": False}
    if num_cpus is not None:
        options["num_cpus"] = int(num_cpus)
    ray.init(**options)


def worker_room(cpus_per_worker: float, gpus_per_worker: float) -> int:
    """How many workers of that size the live nodes of the Ray cluster hold at once."""
    import ray

    room = 0
    for node in ray.nodes():
        if not node.get("Alive"):
            continue
        have = node.get("Resources", {})
        fits = [int(have.get(name, 0.0) // wanted) for name, wanted in (("CPU", cpus_per_worker),
                                                                         ("GPU", gpus_per_worker)) if wanted > 0]
        room += min(fits) if fits else 0
    return room
