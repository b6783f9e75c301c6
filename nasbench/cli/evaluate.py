"""`python -m nasbench.evaluate NAME`: train one network as a proxy and print its result.

NAME is whatever ``nasbench.networks.resolve`` takes: a zoo name (``resnet20_cifar``) or its
torchvision/timm name, a genotype JSON file, or a cell (a published cell such as
``nasnet_a``, a search run directory, a point file), stacked in the small CIFAR
skeleton. The network is rebuilt for the data set's channels, resolution and classes;
the result record is printed (``--json``: one JSON object). Exit code 0 when the
training finished with status ok, 1 when it failed (diverged, oom, error: still
printed), 2 for usage errors.
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Sequence

from omegaconf import OmegaConf

from nasbench.cli.command import run_command
from nasbench.config.schema import CONF_DIR
from nasbench.data import DATASETS, load_dataset
from nasbench.networks.resolve import Resolved, resolve
from nasbench.train.trainer import ProxyTrainer, TrainerConfig
from search_spaces.build import InputTooSmallError, build_network, check_input_fits


def network_for_data(source: Resolved, channels: int, size: int, num_classes: int, cells: int | None = None,
                     filters: int | None = None) -> dict[str, Any]:
    """The network ``source`` stands for, fitted to the data set's channels, resolution
    and classes; a point in the proxy skeleton its space's search uses
    (``nasbench/conf/space/<space>.yaml``), with ``cells`` per stage and ``filters`` in the
    first stage where given."""
    skeleton = None
    if source.is_point:
        skeleton = proxy_skeleton(str(source.space))
        skeleton.update({key: value for key, value in (("cells_per_stage", cells), ("filters", filters))
                         if value is not None})
    return source.network(num_classes=num_classes, input_size=size, input_channels=channels, skeleton=skeleton)


def proxy_skeleton(space: str) -> dict[str, Any]:
    """The ``skeleton`` settings of the space's search config (empty where it has none)."""
    path = CONF_DIR / "space" / f"{space}.yaml"
    if not path.is_file():
        return {}
    return dict(OmegaConf.to_container(OmegaConf.load(path)).get("skeleton") or {})


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m nasbench.evaluate", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("name", help="zoo name, genotype JSON file, published cell, run directory or point file")
    parser.add_argument("--variant", help="zoo variant")
    parser.add_argument("--data", default="digits", choices=sorted(DATASETS))
    parser.add_argument("--root", help="data directory (CIFAR tarballs)")
    parser.add_argument("--train-fraction", type=float, default=1.0)
    parser.add_argument("--resolution", type=int)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--crop-padding", type=int, default=1)
    parser.add_argument("--flip", action="store_true")
    parser.add_argument("--cutout", type=int, default=0)
    parser.add_argument("--label-smoothing", type=float, default=0.0)
    parser.add_argument("--drop-path", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--cells", type=int, help="N of a cell's proxy skeleton (default: the space's search config)")
    parser.add_argument("--filters", type=int, help="F of a cell's proxy skeleton (default: the space's search config)")
    parser.add_argument("--json", action="store_true", help="print the result as one JSON object")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = make_parser().parse_args(argv)
    return run_command("evaluate", lambda: run(args))


def run(args: argparse.Namespace) -> int:
    config = TrainerConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                           crop_padding=args.crop_padding, flip=args.flip, cutout=args.cutout,
                           label_smoothing=args.label_smoothing, drop_path=args.drop_path, seed=args.seed,
                           device=args.device)
    splits = load_dataset(args.data, args.root, seed=args.seed, train_fraction=args.train_fraction,
                          resolution=args.resolution)
    channels, size, _ = splits.input_shape
    genotype = network_for_data(resolve(args.name, args.variant), channels, size, splits.num_classes,
                                args.cells, args.filters)
    try:
        model = build_network(genotype, seed=args.seed)
        check_input_fits(model, splits.input_shape)
    except InputTooSmallError as exc:
        raise InputTooSmallError(f"{args.name} on {args.data}: {exc}") from None
    print(f"training {genotype.get('name') or args.name} on {args.data} ({len(splits.train[1])} train, "
          f"{len(splits.val[1])} validation images) for {args.epochs} epochs", file=sys.stderr)

    def progress(epoch: int, val_acc: float, loss: float) -> bool:
        print(f"  epoch {epoch}: val_acc {val_acc:.4f}, loss {loss:.4f}", file=sys.stderr)
        return True

    result = ProxyTrainer(config).fit(model, splits, progress=progress)
    if args.json:
        print(json.dumps(result.to_dict()))
    else:
        print(f"status {result.status}: val_acc {result.val_acc}, params {result.params:,}, "
              f"MACs {result.macs or 0:,}, train {result.train_seconds or 0:.1f} s on {result.device}"
              + (f" ({result.message})" if result.message else ""))
    return 0 if result.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
