"""The classic zoo: every classic CNN as a fixed genotype, with its paper's figures."""
from __future__ import annotations

from . import alexnet, densenet, fractalnet, inception, lenet, mobilenet, nin, resnet, vgg, xception
from .registry import Figures, ForeignName, Zoo, ZooEntry, ZooError, ZooName, make_registry

FAMILIES = (resnet, inception, lenet, alexnet, vgg, nin, densenet, xception, mobilenet, fractalnet)

def zoo() -> Zoo:
    """Every zoo entry by name (built afresh; immutable)."""
    return make_registry(entry for family in FAMILIES for entry in family.entries())

__all__ = ["Figures", "ForeignName", "Zoo", "ZooEntry", "ZooError", "ZooName", "zoo"]
