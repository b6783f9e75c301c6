"""Parameters and multiply-adds of NAS-Bench-201's networks, counted on our own builder.

The NAS-Bench-201 table (Dong & Yang 2020, https://arxiv.org/abs/2001.00326) reports each
cell's parameters and FLOPs per data set; the shared CSV we ship has neither, so
``scripts/build_nb201_table.py`` computes them here: parameters exactly, multiply-adds
with ``torch.utils.flop_counter`` (MACs = its FLOPs / 2, the quantity NB201's "FLOPs"
columns hold). Our parameters equal xautodl's ``get_model_infos`` exactly; its "FLOPs"
exceed our MACs by the number of classes (it adds the classifier's bias additions).
"""
from __future__ import annotations

import random
from collections import Counter
from typing import Iterable, Mapping

from nasbench.tables.nasbench201 import DATASET_INPUTS
from nasbench.train.metrics import count_macs, count_params
from search_spaces.build import build_network
from search_spaces.spaces.nasbench201 import NasBench201Space, parse_arch

# The ops of the cell that hold parameters and multiply-adds; the others (none,
# skip_connect, avg_pool_3x3) have neither in NB201's network.
CONV_OPS: tuple[str, ...] = ("nor_conv_3x3", "nor_conv_1x1")


def cost_signature(point: str) -> tuple[int, ...]:
    """How many edges of the cell carry each of ``CONV_OPS``.

    Every cell edge maps C channels to C at stride 1, so a convolution costs the same on
    any edge: two cells with the same signature have the same parameters and MACs.
    """
    counts = Counter(op for _, _, op in parse_arch(point))
    return tuple(counts[op] for op in CONV_OPS)


def network_costs(point: str, num_classes: int, input_size: int) -> tuple[int, int]:
    """``(parameters, multiply-adds)`` of NB201's network around ``point`` (N=5, C=16)
    for ``num_classes`` classes and ``input_size``² RGB images, built and counted."""
    genotype = NasBench201Space().network(point, num_classes=num_classes, input_size=input_size)
    network = build_network(genotype.to_dict())
    return count_params(network), count_macs(network, (3, input_size, input_size), device="cpu")


def dataset_costs(points: Iterable[str], dataset: str) -> dict[str, tuple[int, int]]:
    """``point -> (parameters, multiply-adds)`` on ``dataset``'s networks.

    One network is built per cost signature (28 of them span the 15,625 cells), a minute
    instead of hours; ``verify_costs`` rebuilds sampled cells to check the shortcut.
    """
    num_classes, input_size = DATASET_INPUTS[dataset]
    by_signature: dict[tuple[int, ...], tuple[int, int]] = {}
    costs = {}
    for point in points:
        signature = cost_signature(point)
        if signature not in by_signature:
            by_signature[signature] = network_costs(point, num_classes, input_size)
        costs[point] = by_signature[signature]
    return costs


def verify_costs(costs: Mapping[str, tuple[int, int]], dataset: str, samples: int, seed: int = 0) -> int:
    """Build ``samples`` randomly chosen cells of ``costs`` in full and raise
    ``ValueError`` naming the first whose counts differ; returns how many were checked."""
    num_classes, input_size = DATASET_INPUTS[dataset]
    chosen = random.Random(seed).sample(sorted(costs), min(samples, len(costs)))
    for point in chosen:
        built = network_costs(point, num_classes, input_size)
        if built != tuple(costs[point]):
            raise ValueError(f"{dataset} {point}: table says {tuple(costs[point])}, the built network {built}")
    return len(chosen)
