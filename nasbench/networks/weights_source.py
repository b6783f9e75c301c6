"""Whose weights a state_dict holds, and which variant of a zoo entry they belong to.

Two variants of one entry can have the same tensor shapes and compute different
functions: torchvision's ResNet-50 strides in the 3×3 convolution where the paper's
strides in the first 1×1, so its weights load into either and are right in one only.
The shapes cannot tell them apart; the names can. Each zoo entry lists the torchvision
and timm models that are one of its variants (``search_spaces.zoo.ForeignName``) with
state_dict keys that only that model's weights have. A file is recognised as such a
model when it holds those keys and its tensors fit the model's variant; that variant is
the one to build. A file recognised as nobody's (our own state_dicts, renamed keys)
loads into the variant asked for, as before.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping

import torch

from search_spaces.build import build_network
from search_spaces.zoo import ForeignName, ZooEntry

from nasbench.core.errors import WeightsError
from nasbench.networks.weights import WeightsMismatchError, map_state_dict


class WeightsVariantError(WeightsError):
    """The weights belong to another variant than the one asked for, or to several."""


@dataclass(frozen=True)
class VariantChoice:
    """The variant to build for a weights file, and the model the file was recognised as
    (None: not recognised; the variant is the one asked for, or the default)."""

    variant: str
    recognised: ForeignName | None = None

    def line(self, entry: str) -> str:
        """One line saying whose weights these are and what that selects."""
        if self.recognised is None:
            return f"weights: not recognised as a torchvision/timm model of {entry}; variant {self.variant}"
        return (f"weights: {_owner(self.recognised)} (keys {', '.join(self.recognised.keys)}), "
                f"variant {self.variant} of {entry}")


def recognised_models(entry: ZooEntry, state: Mapping[str, torch.Tensor]) -> tuple[ForeignName, ...]:
    """The entry's torchvision/timm models whose distinguishing keys the state_dict holds."""
    return tuple(foreign for foreign in entry.foreign_names
                 if foreign.keys and all(key in state for key in foreign.keys))


def fits(state: Mapping[str, torch.Tensor], genotype: Mapping[str, object]) -> bool:
    """Whether the state_dict's tensors pair with the network's (built without storage)."""
    with torch.device("meta"):
        target = build_network(genotype).state_dict()
    try:
        map_state_dict(state, target)
    except WeightsMismatchError:
        return False
    return True


def choose_variant(entry: ZooEntry, state: Mapping[str, torch.Tensor], requested: str | None,
                   genotype_of: Callable[[str], Mapping[str, object]]) -> VariantChoice:
    """The variant of ``entry`` that the weights in ``state`` belong to.

    ``requested``: the variant the user asked for (None: none). ``genotype_of``: a
    variant -> its genotype at the size it will be built (so that a file for 10 classes
    fits a network rebuilt with 10). Raises ``WeightsVariantError`` when the file is
    recognised as a model of another variant than ``requested``, or as models of
    several variants and none was requested."""
    fitting: dict[str, ForeignName] = {}
    for foreign in recognised_models(entry, state):
        if foreign.variant not in fitting and fits(state, genotype_of(foreign.variant)):
            fitting[foreign.variant] = foreign
    if not fitting:
        return VariantChoice(requested or entry.default_variant)
    if requested is not None:
        if requested in fitting:
            return VariantChoice(requested, fitting[requested])
        owner = next(iter(fitting.values()))
        raise WeightsVariantError(
            f"--weights: the file holds {_owner(owner)} weights, variant {owner.variant} of {entry.name}; "
            f"variant {requested} is another network (ask for {owner.variant}, or for no variant)")
    if len(fitting) > 1:
        raise WeightsVariantError(f"--weights: the file fits {entry.name}'s variants {', '.join(fitting)} "
                                  f"({', '.join(_owner(f) for f in fitting.values())}); choose one with --variant")
    variant, foreign = next(iter(fitting.items()))
    return VariantChoice(variant, foreign)


def _owner(foreign: ForeignName) -> str:
    return f"{'/'.join(foreign.libraries)} {foreign.name}"
