"""Feature encodings of points for performance predictors (BANANAS and the like).

White, Neiswanger & Savani, "BANANAS: Bayesian Optimization with Neural Architectures
for Neural Architecture Search", AAAI 2021, https://arxiv.org/abs/1910.11858, Sec. 4:
the *path encoding* of a cell has one feature per sequence of ops that a path from a
cell input to the cell output can follow, 1 when some path follows it, else 0.
"""
from __future__ import annotations

from typing import Iterable, Sequence


def path_feature_count(op_count: int, max_length: int) -> int:
    """The number of op sequences of length 1..``max_length`` over ``op_count`` ops."""
    return sum(op_count ** length for length in range(1, max_length + 1))


def path_index(path: Sequence[int], op_count: int) -> int:
    """The position of one op sequence (op indices, input to output) among all sequences,
    shorter sequences first, each length in lexicographic order."""
    offset = path_feature_count(op_count, len(path) - 1)
    index = 0
    for op in path:
        index = index * op_count + op
    return offset + index


def path_encoding(paths: Iterable[Sequence[int]], op_count: int, max_length: int) -> list[float]:
    """The binary path encoding of a cell whose input-to-output paths follow ``paths``;
    paths longer than ``max_length`` (or empty) are left out."""
    features = [0.0] * path_feature_count(op_count, max_length)
    for path in paths:
        if 1 <= len(path) <= max_length:
            features[path_index(path, op_count)] = 1.0
    return features


def one_hot(indices: Sequence[int], sizes: Sequence[int]) -> list[float]:
    """The concatenated one-hot vectors of categorical choices (``indices[i]`` of ``sizes[i]``)."""
    features: list[float] = []
    for index, size in zip(indices, sizes):
        block = [0.0] * size
        block[index] = 1.0
        features += block
    return features
