"""Fine-tuning: adapt a trained network to a new data set (``python -m nasbench.finetune``).

SOURCE is a network with weights: a zoo name (or a network genotype JSON file) with
``--weights PATH`` (a torchvision/timm state_dict, paired by ``nasbench.networks.weights``), or a
run of ``nasbench.train`` (its output directory, ``checkpoint.pt`` or ``model.pt``;
``--ema`` takes the averaged weights). The network is rebuilt for the new data set: the
classifier is replaced by a freshly initialised one for the new class count, auxiliary
heads are dropped (they were trained for the old classes), the input size follows
``--resolution``; every other tensor keeps its trained value. Then
``nasbench.train.loop`` trains it with the parts the mode freezes kept exactly as they
were (``nasbench.train.freeze``: no gradients, eval mode, so batch-norm statistics stay):

- ``linear``: the new classifier alone (a linear probe on frozen features);
- ``partial --stages K``: the last K stages and the head;
- ``full``: everything.

The run directory, checkpoints, resume and Ray workers are the full trainer's;
``initial_weights.pt`` holds the network as fine-tuning started.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import torch

from nasbench.core.errors import UsageError, first_line
from nasbench.networks.rebuild import load_into, sized
from nasbench.networks.resolve import NETWORK_ORIGINS, resolve
from nasbench.train.checkpoint import CHECKPOINT, CHECKPOINT_FORMAT, WEIGHTS, has_checkpoint, save_checkpoint
from nasbench.train.freeze import FreezeError, classifier_of, frozen_modules
from nasbench.train.loop import train_full
from nasbench.train.recipe import DataSpec, FullTrainConfig, TrainJob, TrainOutcome, load_data
from search_spaces.build import build_network
from search_spaces.genotype import NetworkGenotype

INITIAL_WEIGHTS = "initial_weights.pt"
MODES = ("linear", "partial", "full")
FINETUNE_DEFAULTS: Mapping[str, Any] = {"epochs": 10, "batch_size": 64, "lr": 0.01, "weight_decay": 1e-4,
                                        "cutout": 0, "drop_path": 0.0, "ema_decay": 0.0, "grad_clip": 5.0}


@dataclass(frozen=True)
class Pretrained:
    """A trained network: its genotype and its weights (a state_dict of that genotype)."""

    name: str
    genotype: dict[str, Any]
    state: dict[str, torch.Tensor]
    source: dict[str, Any]


def load_pretrained(source: str, weights: str | None = None, use_ema: bool = False) -> Pretrained:
    """A zoo name or genotype file with ``weights``, or a ``nasbench.train`` run -> ``Pretrained``."""
    path = Path(source).expanduser()
    if path.is_dir() or (path.is_file() and path.suffix.lower() in (".pt", ".pth")):
        if weights is not None:
            raise UsageError("--weights applies to zoo names and genotype files; a nasbench.train run has its own")
        return _from_train_run(path, use_ema)
    resolved = resolve(source, origins=NETWORK_ORIGINS)
    if weights is None:
        raise UsageError(f"{resolved.name}: give its trained weights with --weights PATH")
    if use_ema:
        raise UsageError("--ema applies to nasbench.train runs")
    loaded = load_into(sized(resolved), weights)  # a torchvision/timm file picks its variant
    genotype = dict(loaded.target.genotype)
    return Pretrained(genotype.get("name") or resolved.name, genotype, loaded.network.state_dict(),
                      {**resolved.to_dict(), "weights": str(Path(weights).resolve())})


def _from_train_run(path: Path, use_ema: bool) -> Pretrained:
    candidates = [path / WEIGHTS, path / CHECKPOINT] if path.is_dir() else [path]
    file = next((candidate for candidate in candidates if candidate.is_file()), None)
    if file is None:
        raise UsageError(f"{path}: no {WEIGHTS} or {CHECKPOINT}; is it a nasbench.train output directory?")
    try:
        data = torch.load(file, map_location="cpu", weights_only=True)
    except Exception as exc:  # a foreign or torn file: one line
        raise UsageError(f"{file}: not a nasbench.train file ({first_line(exc)})") from exc
    if not isinstance(data, Mapping) or not str(data.get("format", "")).startswith(CHECKPOINT_FORMAT):
        raise UsageError(f"{file}: not a nasbench.train checkpoint or model file")
    genotype = data["genotype"] if "genotype" in data else data["job"]["genotype"]
    state = data["model"]
    if use_ema:
        if data.get("ema") is None:
            raise UsageError(f"{file}: the run kept no EMA of its weights")
        state = data["ema"]
        if "n_averaged" in state:  # a checkpoint holds the AveragedModel's own state_dict
            state = {key[len("module."):]: value for key, value in state.items() if key.startswith("module.")}
    name = genotype.get("name") or file.parent.name
    return Pretrained(name, dict(genotype), dict(state), {"origin": "nasbench.train", "location": str(file.resolve()),
                                                          "ema": use_ema})


def finetune_genotype(genotype: Mapping[str, Any], num_classes: int, input_size: Sequence[int]) -> dict[str, Any]:
    """The genotype for the new data set: new class count and input size, no auxiliary heads."""
    data = dict(genotype, num_classes=int(num_classes), input_size=[int(n) for n in input_size], aux_heads=[])
    data["name"] = f"{genotype.get('name') or 'network'}:finetune"
    return NetworkGenotype.from_dict(data).to_dict()


def initial_state(pretrained: Pretrained, genotype: Mapping[str, Any], seed: int = 0) -> dict[str, torch.Tensor]:
    """The new network's state_dict: the pretrained tensors everywhere but the classifier,
    which is initialised afresh (seeded)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        network = build_network(genotype)
    classifier = classifier_of(network)
    prefix = next(name for name, module in network.named_modules() if module is classifier) + "."
    state = network.state_dict()
    for key, value in state.items():
        if key.startswith(prefix):
            continue
        if key not in pretrained.state:
            raise UsageError(f"the pretrained weights have no {key!r}")
        if pretrained.state[key].shape != value.shape:
            raise UsageError(f"{key!r} is {list(pretrained.state[key].shape)} in the pretrained weights but "
                             f"{list(value.shape)} in the network for the new data (another --resolution?)")
        state[key] = pretrained.state[key].clone()
    return state


def prepare_job(pretrained: Pretrained, data: DataSpec, mode: str, stages: int, config: FullTrainConfig,
                output_dir: str | Path) -> tuple[TrainJob, Any]:
    """Load the data, rebuild the network for them, write ``initial_weights.pt`` (unless the
    output directory holds a checkpoint to resume) and return the training job."""
    if mode not in MODES:
        raise UsageError(f"--mode: {mode!r} is not one of {', '.join(MODES)}")
    if mode == "partial" and stages < 1:
        raise UsageError("--mode partial needs --stages K (K >= 1)")
    size = pretrained.genotype["input_size"]
    if data.resolution is None and size[0] == size[1]:
        data = dataclasses.replace(data, resolution=int(size[0]))
    data = dataclasses.replace(data, channels=int(pretrained.genotype.get("input_channels", 3)))
    splits = load_data(data)
    genotype = finetune_genotype(pretrained.genotype, splits.num_classes, splits.input_shape[1:])
    try:
        frozen_modules(_meta(genotype), mode, stages)
    except FreezeError as exc:
        raise UsageError(str(exc)) from exc
    output = Path(output_dir).expanduser().resolve()
    output.mkdir(parents=True, exist_ok=True)
    weights = output / INITIAL_WEIGHTS
    if not has_checkpoint(output):
        save_checkpoint(weights, initial_state(pretrained, genotype, config.seed))
    config = dataclasses.replace(config, freeze=mode, trainable_stages=stages if mode == "partial" else 0)
    job = TrainJob(genotype["name"], genotype, data, config, str(output), init_weights=str(weights),
                   source={**pretrained.source, "finetune": {"mode": mode, "stages": stages}})
    return job, splits


def _meta(genotype: Mapping[str, Any]) -> torch.nn.Module:
    with torch.device("meta"):
        return build_network(genotype)


def finetune(pretrained: Pretrained, data: DataSpec, mode: str, output_dir: str | Path, *, stages: int = 0,
             config: FullTrainConfig | None = None, stop_after_epoch: int | None = None) -> TrainOutcome:
    """Fine-tune ``pretrained`` on ``data`` (see the module docstring)."""
    config = config or FullTrainConfig(**FINETUNE_DEFAULTS)
    job, splits = prepare_job(pretrained, data, mode, stages, config, output_dir)
    return train_full(job, stop_after_epoch=stop_after_epoch, splits=splits if config.num_workers <= 1 else None,
                      command="finetune")
