"""Which parts of a built network train when fine-tuning, and keeping the rest as it was.

The modes of transfer learning by feature extraction and fine-tuning (Yosinski et al.
2014, "How transferable are features in deep neural networks?",
https://arxiv.org/abs/1411.1792; Kornblith et al. 2019, "Do Better ImageNet Models
Transfer Better?", https://arxiv.org/abs/1805.08974):

- ``linear``: only the classifier (the head's last linear layer) trains;
- ``partial``: the last K stages and the whole head train;
- ``full`` (or ``none``: nothing frozen): everything trains.

A frozen part keeps its values exactly: its parameters stop requiring gradients, and it
is put in eval mode for every training epoch, so that batch norm neither updates its
running statistics nor normalises with batch statistics, and dropout is off.
Networks are ``search_spaces.build.Network``: ``stem``, ``stages`` (a list of lists of
cells), ``aux_heads`` and ``head`` (``pool``, ``flatten``, ``layers`` ending with the
classifier).
"""
from __future__ import annotations

from typing import Sequence

from torch import nn

from search_spaces.errors import NasError

FREEZE_MODES = ("none", "linear", "partial", "full")


class FreezeError(NasError, ValueError):
    """A mode that cannot apply to this network (no classifier, too many stages)."""


def classifier_of(network: nn.Module) -> nn.Linear:
    """The final classifier of a built network (the head's last layer)."""
    head = getattr(network, "head", None)
    layers = getattr(head, "layers", None)
    if not isinstance(layers, nn.Sequential) or not len(layers) or not isinstance(layers[-1], nn.Linear):
        raise FreezeError("the network's head does not end with a linear classifier")
    return layers[-1]


def frozen_modules(network: nn.Module, mode: str, stages: int = 0) -> list[nn.Module]:
    """The modules ``mode`` freezes (see the module docstring); ``stages`` is K of ``partial``."""
    if mode not in FREEZE_MODES:
        raise FreezeError(f"mode: {mode!r} is not one of {', '.join(FREEZE_MODES)}")
    if mode in ("none", "full"):
        return []
    all_stages = list(network.stages)
    aux_heads = list(getattr(network, "aux_heads", []))
    aux_after = list(getattr(network, "aux_after", []))
    if mode == "linear":
        classifier = classifier_of(network)
        head = network.head
        head_parts = [head.pool, head.flatten, *[layer for layer in head.layers if layer is not classifier]]
        return [network.stem, *all_stages, *aux_heads, *head_parts]
    if not 1 <= stages <= len(all_stages):
        raise FreezeError(f"--stages: {stages} is not in 1..{len(all_stages)} (the network has "
                          f"{len(all_stages)} stages)")
    first_trained = len(all_stages) - stages
    frozen_aux = [aux for aux, after in zip(aux_heads, aux_after) if after < first_trained]
    return [network.stem, *all_stages[:first_trained], *frozen_aux]


def freeze(network: nn.Module, mode: str, stages: int = 0) -> list[nn.Module]:
    """Stop the gradients of what ``mode`` freezes; returns those modules (pass them to
    ``keep_frozen_in_eval`` after every ``network.train()``)."""
    modules = frozen_modules(network, mode, stages)
    for module in modules:
        module.requires_grad_(False)
    return modules


def keep_frozen_in_eval(modules: Sequence[nn.Module]) -> None:
    """Put the frozen modules back in eval mode (``network.train()`` sets every module)."""
    for module in modules:
        module.eval()
