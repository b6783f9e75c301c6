"""Batched data augmentation on the device: whole-batch tensor ops, no per-image loop.

Each function takes an N×C×H×W batch and a ``torch.Generator`` on the batch's device, so
a seeded run draws the same crops, flips and holes every time.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def random_crop(images: Tensor, padding: int, generator: torch.Generator) -> Tensor:
    """Zero-pad by ``padding`` and cut a random H×W window out of each image.

    The standard CIFAR augmentation (Krizhevsky et al. 2012; He et al. 2016). One padded
    tensor, then two gathers with per-image offsets: rows first, then columns.
    """
    if padding == 0:
        return images
    n, c, h, w = images.shape
    padded = F.pad(images, (padding, padding, padding, padding))
    offsets = torch.randint(0, 2 * padding + 1, (2, n), device=images.device, generator=generator)
    rows = offsets[0, :, None] + torch.arange(h, device=images.device)
    cols = offsets[1, :, None] + torch.arange(w, device=images.device)
    padded = padded.gather(2, rows[:, None, :, None].expand(n, c, h, w + 2 * padding))
    return padded.gather(3, cols[:, None, None, :].expand(n, c, h, w))


def random_flip(images: Tensor, generator: torch.Generator) -> Tensor:
    """Mirror a random half of the images left to right."""
    flip = torch.rand(images.shape[0], device=images.device, generator=generator) < 0.5
    return torch.where(flip[:, None, None, None], images.flip(3), images)


def cutout(images: Tensor, size: int, generator: torch.Generator) -> Tensor:
    """Zero a ``size``×``size`` square at a random centre of each image.

    DeVries & Taylor, "Improved Regularization of Convolutional Neural Networks with
    Cutout", 2017 (arXiv:1708.04552). As there, the centre may lie anywhere in the image
    and the square is clipped at the border; zero is the mean of normalised data.
    """
    if size == 0:
        return images
    n, _, h, w = images.shape
    centres = torch.rand(2, n, device=images.device, generator=generator)
    top = (centres[0] * h).long() - size // 2
    left = (centres[1] * w).long() - size // 2
    rows = torch.arange(h, device=images.device) - top[:, None]
    cols = torch.arange(w, device=images.device) - left[:, None]
    inside = ((rows >= 0) & (rows < size))[:, :, None] & ((cols >= 0) & (cols < size))[:, None, :]
    return images.masked_fill(inside[:, None], 0.0)


def augment(images: Tensor, generator: torch.Generator, *, crop_padding: int, flip: bool,
            cutout_size: int) -> Tensor:
    """Random crop, then horizontal flip, then cutout, each skipped when off."""
    images = random_crop(images, crop_padding, generator)
    if flip:
        images = random_flip(images, generator)
    return cutout(images, cutout_size, generator)
