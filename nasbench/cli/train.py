"""The ``python -m nasbench.train SOURCE`` command, and the options and runner that
``nasbench.finetune`` shares with it.

SOURCE is a zoo name, a network genotype JSON file, a published cell, a point JSON file
or a ``nasbench.search`` run directory (``nasbench.train.plan``); the data are cifar10,
cifar100, digits or an image folder (``nasbench.data.image_folder``). A run started on an
output directory that holds a checkpoint continues from it (``--resume DIR`` names it
explicitly); the files it writes are those of ``nasbench.train.checkpoint``.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from nasbench.cli.command import run_command
from nasbench.data import DATASETS
from nasbench.core.errors import UsageError, first_line
from nasbench.core.paths import runs_dir
from nasbench.train.base_config import TrainConfigError
from nasbench.train.checkpoint import has_checkpoint, load_checkpoint
from nasbench.train.errors import TrainError
from nasbench.train.loop import train_full
from nasbench.networks.transfer import SkeletonSettings
from nasbench.train.plan import plan_network
from nasbench.train.recipe import EXECUTION_FIELDS, DataSpec, FullTrainConfig, TrainJob, TrainOutcome

PROG = "train"
RECIPE_OPTIONS = {  # option -> (FullTrainConfig field, type, help)
    "--epochs": ("epochs", int, "epochs (default 600)"),
    "--batch-size": ("batch_size", int, "global batch size (default 96)"),
    "--lr": ("lr", float, "peak learning rate (default 0.025)"),
    "--momentum": ("momentum", float, "SGD momentum (default 0.9)"),
    "--weight-decay": ("weight_decay", float, "weight decay (default 3e-4)"),
    "--schedule": ("schedule", str, "cosine | onecycle (default cosine)"),
    "--warmup-epochs": ("warmup_epochs", float, "linear warm-up epochs (default 0)"),
    "--label-smoothing": ("label_smoothing", float, "label smoothing (default 0; 0.1 for ImageNet)"),
    "--cutout": ("cutout", int, "cutout square side, 0 = off (default 16)"),
    "--crop-padding": ("crop_padding", int, "random-crop padding, 0 = off (default 4)"),
    "--drop-path": ("drop_path", float, "final drop-path probability (default 0.2)"),
    "--aux-weight": ("aux_weight", float, "auxiliary-head loss weight (default 0.4)"),
    "--grad-clip": ("grad_clip", float, "max gradient norm, 0 = off (default 5)"),
    "--ema-decay": ("ema_decay", float, "EMA decay per step, 0 = off (default 0.9998)"),
    "--seed": ("seed", int, "seed of the weights, data order and augmentation (default 0)"),
    "--amp": ("amp", str, "auto | bf16 | off (default auto: bf16 on CUDA)"),
    "--eval-batch-size": ("eval_batch_size", int, "evaluation batch size (default 256)"),
}
EXECUTION_OPTIONS = {
    "--workers": ("num_workers", int, "Ray Train workers; 0 or 1 trains in this process (default 1)"),
    "--device": ("device", str, "in-process device (default auto)"),
    "--backend": ("backend", str, "auto | gloo | nccl (default auto)"),
    "--cpu-threads": ("cpu_threads", int, "in-process torch threads, 0 = unchanged"),
    "--max-failures": ("max_failures", int, "Ray restarts of a failed worker group (default 0)"),
    "--ray-address": ("ray_address", str, "join the Ray cluster at this address"),
}


def add_training_options(parser: argparse.ArgumentParser, defaults: Mapping[str, Any] | None = None) -> None:
    """The recipe and execution options (default None: ``FullTrainConfig``'s, or ``defaults``)."""
    defaults = defaults or {}
    recipe = parser.add_argument_group("recipe")
    for option, (name, kind, text) in RECIPE_OPTIONS.items():
        if name in defaults:
            text = text.split(" (default")[0] + f" (default {defaults[name]})"
        recipe.add_argument(option, dest=name, type=kind, help=text)
    recipe.add_argument("--no-flip", dest="flip", action="store_false", default=None, help="no random flips")
    recipe.add_argument("--nesterov", dest="nesterov", action="store_true", default=None, help="Nesterov momentum")
    execution = parser.add_argument_group("execution (may change when resuming)")
    for option, (name, kind, text) in EXECUTION_OPTIONS.items():
        execution.add_argument(option, dest=name, type=kind, help=text)
    execution.add_argument("--gpu", dest="use_gpu", action="store_true", default=None, help="train on GPUs")
    execution.add_argument("--no-ray-checkpoints", dest="ray_checkpoints", action="store_false", default=None,
                           help="do not report checkpoints to Ray")


def add_data_options(parser: argparse.ArgumentParser) -> None:
    data = parser.add_argument_group("data")
    data.add_argument("--data", default="cifar10",
                      help=f"{', '.join(DATASETS)} or an image folder (default cifar10)")
    data.add_argument("--data-root", help="where the data set's files are")
    data.add_argument("--data-seed", type=int, default=0, help="seed of the train/validation split")
    data.add_argument("--resolution", type=int, help="image side (default: the network's input size)")
    data.add_argument("--train-fraction", type=float, default=1.0, help="keep this share of the training split")
    data.add_argument("--val-fraction", type=float, default=0.1, help="image folders: validation share")
    data.add_argument("--no-download", dest="download", action="store_false", help="never download")


def config_from_args(args: argparse.Namespace, defaults: Mapping[str, Any] | None = None,
                     base: FullTrainConfig | None = None) -> tuple[FullTrainConfig, dict[str, Any]]:
    """The config the options give (over ``base`` or ``defaults``), and the options given explicitly."""
    names = [name for name, _, _ in (*RECIPE_OPTIONS.values(), *EXECUTION_OPTIONS.values())]
    names += ["flip", "nesterov", "use_gpu", "ray_checkpoints"]
    given = {name: getattr(args, name) for name in names if getattr(args, name, None) is not None}
    start = dataclasses.asdict(base) if base is not None else dict(defaults or {})
    try:
        return FullTrainConfig(**{**start, **given}), given
    except TrainConfigError as exc:
        raise UsageError(f"--{exc.field.replace('_', '-')}: {exc.reason}") from exc


def data_from_args(args: argparse.Namespace) -> DataSpec:
    """The data options; paths made absolute (Ray workers run in other directories)."""
    if args.resolution is not None and args.resolution < 1:
        raise UsageError(f"--resolution: expected a positive integer, got {args.resolution}")
    name = args.data if args.data in DATASETS else str(Path(args.data).expanduser().resolve())
    root = str(Path(args.data_root).expanduser().resolve()) if args.data_root else None
    return DataSpec(name=name, root=root, seed=args.data_seed, resolution=args.resolution,
                    train_fraction=args.train_fraction, val_fraction=args.val_fraction, download=args.download)


def resumed_job(directory: str | Path, config_given: Mapping[str, Any]) -> TrainJob:
    """The job of the checkpoint in ``directory``, with this command's execution options;
    a recipe option that differs from the checkpoint's is refused."""
    job = TrainJob.from_dict(load_checkpoint(directory)["job"])
    saved = dataclasses.asdict(job.config)
    for name, value in config_given.items():
        if name not in EXECUTION_FIELDS and saved[name] != value:
            raise UsageError(f"--{name.replace('_', '-')} {value} differs from the checkpoint's {saved[name]}; "
                             f"a resumed run keeps its settings")
    config = FullTrainConfig(**{**saved, **{k: v for k, v in config_given.items() if k in EXECUTION_FIELDS}})
    return dataclasses.replace(job, config=config, output_dir=str(Path(directory).expanduser().resolve()))


def default_output_dir(name: str) -> Path:
    """``./runs/train/<date>/<time>-<name>``: under the current working directory (``nasbench.core.paths``)."""
    root = runs_dir() / "train"
    return root / time.strftime("%Y-%m-%d") / f"{time.strftime('%H-%M-%S')}-{name.replace('/', '_')}"


def job_parser(prog: str, description: str, epilog: str, source_help: str) -> argparse.ArgumentParser:
    """The options every training command shares: SOURCE, --output, --resume,
    --stop-after-epoch and --json (``nasbench.train`` and ``nasbench.finetune``)."""
    parser = argparse.ArgumentParser(prog=prog, formatter_class=argparse.RawDescriptionHelpFormatter,
                                     description=description, epilog=epilog)
    parser.add_argument("source", nargs="?", metavar="SOURCE", help=f"{source_help} (omit with --resume)")
    parser.add_argument("--output", metavar="DIR", help="output directory (default ./runs/train/<date>/<time>-NAME); "
                                                        "one holding a checkpoint is resumed")
    parser.add_argument("--resume", metavar="DIR", help="resume the run whose checkpoint is in DIR")
    parser.add_argument("--stop-after-epoch", type=int, metavar="N", help="stop once N epochs are done")
    parser.add_argument("--json", action="store_true", help="print final.json on stdout")
    return parser


def make_parser() -> argparse.ArgumentParser:
    parser = job_parser(
        PROG, "Train a network at full scale (cosine schedule, label smoothing, cutout, drop-path, "
              "auxiliary loss, EMA), checkpointing every epoch; resumable; distributed with Ray Train.",
        "SOURCE: a zoo name (or its torchvision/timm name), a network genotype JSON file, a published cell "
        "(nasnet_a, amoeba_a, darts_v2, enas), a point JSON file or a nasbench.search run directory. Cells are "
        "stacked with --target/--cells/--filters as nasbench.transfer does.\n\nexit status: 0 trained (or "
        "stopped by --stop-after-epoch), 1 training failed, 2 usage error.", "what to train")
    cells = parser.add_argument_group("cells (published cells, point files, run directories)")
    cells.add_argument("--target", choices=("cifar", "imagenet"), default="cifar", help="skeleton (default cifar)")
    cells.add_argument("--preset", choices=("mobile", "large"), default="mobile", help="ImageNet preset")
    cells.add_argument("--cells", type=int, metavar="N", help="normal cells per stage")
    cells.add_argument("--filters", type=int, metavar="F", help="filters of the first stage")
    cells.add_argument("--aux", action=argparse.BooleanOptionalAction, default=True,
                       help="auxiliary head (default: yes)")
    cells.add_argument("--space", help="the space of a bare point file")
    add_data_options(parser)
    add_training_options(parser)
    return parser


def run_cli(prog: str, parser: argparse.ArgumentParser, runner: Callable[[argparse.Namespace], TrainOutcome],
            argv: Sequence[str] | None) -> int:
    """Parse, run, and turn errors into one line: exit 2 for usage errors, 1 for a failed
    training; ``--json`` prints the final record (shared by train and finetune)."""
    args = parser.parse_args(argv)

    def body() -> int:
        try:
            outcome = runner(args)
        except TrainError as exc:  # the training itself failed: status 1 (a usage error is 2)
            print(f"{prog}: {first_line(exc)}", file=sys.stderr)
            return 1
        if args.json:
            print(json.dumps(outcome.final))
        return 0

    return run_command(prog, body)


def main(argv: Sequence[str] | None = None) -> int:
    return run_cli(PROG, make_parser(), run, argv)


def run(args: argparse.Namespace) -> TrainOutcome:
    config, given = config_from_args(args)
    if args.stop_after_epoch is not None and args.stop_after_epoch < 0:
        raise UsageError(f"--stop-after-epoch: expected a non-negative integer, got {args.stop_after_epoch}")
    directory = args.resume or (args.output if args.output and has_checkpoint(args.output) else None)
    if directory is not None and (args.source is None or args.resume):
        job = resumed_job(directory, given)
        return train_full(job, stop_after_epoch=args.stop_after_epoch)
    if args.source is None:
        raise UsageError("give a SOURCE to train, or --resume DIR")
    for option in ("cells", "filters"):
        if getattr(args, option) is not None and getattr(args, option) < 1:
            raise UsageError(f"--{option}: expected a positive integer, got {getattr(args, option)}")
    skeleton = SkeletonSettings(target=args.target, preset=args.preset, cells=args.cells, filters=args.filters,
                                aux=args.aux)
    plan, splits = plan_network(args.source, data_from_args(args), skeleton, args.space)
    output = Path(args.output).expanduser() if args.output else default_output_dir(plan.name)
    job = TrainJob(plan.name, plan.genotype, plan.data, config, str(output), source=plan.source)
    return train_full(job, stop_after_epoch=args.stop_after_epoch,
                      splits=splits if config.num_workers <= 1 else None)
