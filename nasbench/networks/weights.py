"""Load a torchvision or timm state_dict into a rebuilt network.

The zoo registers each network's modules in the order torchvision (or timm) registers
them, conv before its batch norm and branches in the same order, so the two state_dicts
list their tensors (parameters and buffers, ``num_batches_tracked`` included) in the same
order under different names. The mapping pairs them entry by entry and checks every
shape. Auxiliary heads are the exception: torchvision's Inception v3 registers
``AuxLogits`` between ``Mixed_6e`` and ``Mixed_7a`` while the builder registers every
auxiliary head after the stages, so keys with a component that starts with ``aux``
(``AuxLogits``, ``aux1``, ``aux_heads``) are paired among themselves, in order.
"""
from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import torch
import torch.nn as nn

from nasbench.core.errors import WeightsError, first_line

CHECKPOINT_KEYS = ("state_dict", "model", "model_state_dict", "state_dict_ema")
BATCH_COUNTER = "num_batches_tracked"


class WeightsMismatchError(WeightsError):
    """The file's tensors do not pair with the network's: a shape or a count differs."""


@dataclass(frozen=True)
class WeightMapping:
    """How a file's tensors were paired with the network's.

    ``pairs``: (key in the file, key in the network), in order. ``kept``: network keys the
    file has nothing for, left as they were (auxiliary heads when the file has none, batch
    counters when the file has none). ``ignored``: file keys left unused (its auxiliary
    heads when the network has none, its batch counters when the network has none).
    """

    pairs: tuple[tuple[str, str], ...]
    kept: tuple[str, ...] = ()
    ignored: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, str]:
        """File key -> network key."""
        return dict(self.pairs)


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """The state_dict a ``.pth``/``.pt`` file holds (also inside a checkpoint dict under
    ``state_dict``, ``model``, ...). Only tensors are unpickled (``weights_only``)."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"--weights: no such file {str(path)!r}")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError) as exc:
        raise WeightsError(f"--weights: {path} is not a state_dict file ({first_line(exc)})") from exc
    if isinstance(data, Mapping):
        for key in CHECKPOINT_KEYS:
            if isinstance(data.get(key), Mapping):
                data = data[key]
                break
    if not isinstance(data, Mapping) or not data or \
            not all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in data.items()):
        raise WeightsError(f"--weights: {path} does not hold a state_dict (a mapping of names to tensors)")
    return dict(data)


def is_aux_key(key: str) -> bool:
    """Whether a key belongs to an auxiliary classifier (torchvision ``AuxLogits``,
    ``aux1``/``aux2``; the builder's ``aux_heads``)."""
    return any(part.lower().startswith("aux") for part in key.split("."))


def map_state_dict(source: Mapping[str, torch.Tensor], target: Mapping[str, torch.Tensor]) -> WeightMapping:
    """Pair the entries of ``source`` (a torchvision/timm state_dict) with those of
    ``target`` (the rebuilt network's state_dict) by order, within the main body and
    within the auxiliary heads; raises ``WeightsMismatchError`` naming the first pair whose
    shapes differ, or the counts when they differ."""
    pairs: list[tuple[str, str]] = []
    kept: list[str] = []
    ignored: list[str] = []
    for group, aux in (("body", False), ("auxiliary heads", True)):
        file_keys = [k for k in source if is_aux_key(k) == aux]
        our_keys = [k for k in target if is_aux_key(k) == aux]
        if aux and not (file_keys and our_keys):
            kept += our_keys
            ignored += file_keys
            continue
        if len(file_keys) != len(our_keys):
            file_trimmed = [k for k in file_keys if not _is_counter(k)]
            our_trimmed = [k for k in our_keys if not _is_counter(k)]
            if len(file_trimmed) == len(our_trimmed):
                # One side keeps batch-norm batch counters and the other does not.
                kept += [k for k in our_keys if _is_counter(k)]
                ignored += [k for k in file_keys if _is_counter(k)]
                file_keys, our_keys = file_trimmed, our_trimmed
            else:
                raise WeightsMismatchError(_count_message(group, file_keys, our_keys, source, target))
        for index, (file_key, our_key) in enumerate(zip(file_keys, our_keys)):
            if tuple(source[file_key].shape) != tuple(target[our_key].shape):
                raise WeightsMismatchError(
                    f"--weights: {group} entry {index}: {file_key!r} {_shape(source[file_key])} in the file "
                    f"does not fit {our_key!r} {_shape(target[our_key])} in the network")
            pairs.append((file_key, our_key))
    return WeightMapping(tuple(pairs), tuple(kept), tuple(ignored))


def _is_counter(key: str) -> bool:
    return key.rsplit(".", 1)[-1] == BATCH_COUNTER


def _shape(tensor: torch.Tensor) -> str:
    return "[" + ", ".join(str(n) for n in tensor.shape) + "]"


def _count_message(group: str, file_keys: Sequence[str], our_keys: Sequence[str],
                   source: Mapping[str, torch.Tensor], target: Mapping[str, torch.Tensor]) -> str:
    head = f"--weights: the file has {len(file_keys)} tensors for the {group}, the network {len(our_keys)}"
    for index, (file_key, our_key) in enumerate(zip(file_keys, our_keys)):
        if tuple(source[file_key].shape) != tuple(target[our_key].shape):
            return (f"{head}; entry {index} is the first misfit: {file_key!r} {_shape(source[file_key])} "
                    f"vs {our_key!r} {_shape(target[our_key])}")
    common = min(len(file_keys), len(our_keys))
    extra = f"the file's {file_keys[common]!r}" if len(file_keys) > common else f"the network's {our_keys[common]!r}"
    return f"{head}; the first {common} fit, then {extra} has no partner"


def load_weights(network: nn.Module, source: str | Path | Mapping[str, torch.Tensor]) -> WeightMapping:
    """Load a state_dict (or the file that holds one) into ``network`` through
    ``map_state_dict``, strictly: every tensor of the network is either paired or
    reported in ``kept``. Returns the mapping."""
    state = read_state_dict(source) if isinstance(source, (str, Path)) else dict(source)
    target = network.state_dict()
    mapping = map_state_dict(state, target)
    renamed = dict(target)
    for file_key, our_key in mapping.pairs:
        renamed[our_key] = state[file_key]
    network.load_state_dict(renamed, strict=True)
    return mapping
