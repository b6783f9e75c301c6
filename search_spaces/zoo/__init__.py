"""The classic zoo: every classic CNN as a fixed genotype, with its paper's figures."""
from __future__ import annotations

from typing import Mapping

from . import alexnet, densenet, fractalnet, inception, lenet, mobilenet, nin, resnet, vgg, xception
from .registry import Figures, ZooEntry, ZooError, make_registry

FAMILIES = (resnet, inception, lenet, alexnet, vgg, nin, densenet, xception, mobilenet, fractalnet)


def zoo() -> Mapping[str, ZooEntry]:
    """Every zoo entry by name (built afresh; immutable)."""
    return make_registry(entry for family in FAMILIES for entry in family.entries())


__all__ = ["Figures", "ZooEntry", "ZooError", "zoo"]
