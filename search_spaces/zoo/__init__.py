"""The classic zoo: every classic CNN as a fixed genotype, with its paper's figures.

One module per family (ResNet and its kin, Inception, LeNet, AlexNet/ZFNet, VGG, NiN,
DenseNet, Xception, MobileNet, FractalNet), each registering its entries with their
variants, torchvision/timm names and published figures (``registry``). The package may
import the genotype DSL (``dsl``) and the shared blocks (``blocks``) only.
"""
from __future__ import annotations

from . import alexnet, densenet, fractalnet, inception, lenet, mobilenet, nin, resnet, vgg, xception
from .registry import Figures, ForeignName, Zoo, ZooEntry, ZooError, ZooName, make_registry

FAMILIES = (resnet, inception, lenet, alexnet, vgg, nin, densenet, xception, mobilenet, fractalnet)

def zoo() -> Zoo:
    """Every zoo entry by name (built afresh; immutable)."""
    return make_registry(entry for family in FAMILIES for entry in family.entries())

__all__ = ["Figures", "ForeignName", "Zoo", "ZooEntry", "ZooError", "ZooName", "zoo"]
