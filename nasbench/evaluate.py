"""`python -m nasbench.evaluate NAME`: train one network as a proxy and print its result.

NAME is a zoo name (``resnet20_cifar``), a genotype JSON file, or a published cell
(``nasnet_a``, stacked in the small CIFAR skeleton). The network is rebuilt for the data
set's channels, resolution and classes; the result record is printed (``--json``: one
JSON object). Exit code 0 when the training finished with status ok, 1 when it failed
(diverged, oom, error: still printed), 2 for usage errors.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Sequence

from nasbench.data import DATASETS, load_dataset
from nasbench.data.cifar import DatasetNotFoundError
from nasbench.train.trainer import ProxyTrainer, TrainerConfig
from search_spaces.build import BuildError, build_network
from search_spaces.genotype import GenotypeError, NetworkGenotype
from search_spaces.ops import OpError
from search_spaces.zoo import ZooError, zoo


class EvaluateUsageError(ValueError):
    """The network or data set named on the command line cannot be had."""


def resolve_network(name: str, variant: str | None, cells: int, filters: int) -> dict[str, Any]:
    """The genotype dict that NAME stands for (zoo entry, JSON file or published cell)."""
    registry = zoo()
    if name in registry:
        return registry[name].genotype(variant)
    if name.endswith(".json") or Path(name).is_file():
        return NetworkGenotype.load(name).to_dict()
    from search_spaces.published import PUBLISHED, published
    from search_spaces.skeletons import cell_network

    if name in PUBLISHED:
        cell = published(name)
        return cell_network(cell.space, cell.point, "cifar", N=cells, F=filters)
    import difflib

    close = difflib.get_close_matches(name, [*registry, *PUBLISHED], n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise EvaluateUsageError(f"unknown network {name!r}: not a zoo name, published cell or JSON file{hint}")


def fit_to_data(genotype: dict[str, Any], channels: int, size: int) -> dict[str, Any]:
    """The same network for another input: the data set's channels and resolution."""
    return {**genotype, "input_channels": channels, "input_size": [size, size]}


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m nasbench.evaluate", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("name", help="zoo name, genotype JSON file, or published cell")
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
    parser.add_argument("--cells", type=int, default=1, help="N for a published cell's skeleton")
    parser.add_argument("--filters", type=int, default=16, help="F for a published cell's skeleton")
    parser.add_argument("--json", action="store_true", help="print the result as one JSON object")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = make_parser().parse_args(argv)
    try:
        config = TrainerConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                               crop_padding=args.crop_padding, flip=args.flip, cutout=args.cutout,
                               label_smoothing=args.label_smoothing, drop_path=args.drop_path, seed=args.seed,
                               device=args.device)
        splits = load_dataset(args.data, args.root, seed=args.seed, train_fraction=args.train_fraction,
                              resolution=args.resolution)
        channels, size, _ = splits.input_shape
        genotype = fit_to_data(resolve_network(args.name, args.variant, args.cells, args.filters), channels, size)
        model = build_network(NetworkGenotype.from_dict(genotype).to_dict(), num_classes=splits.num_classes,
                              seed=args.seed)
    except (EvaluateUsageError, ZooError, GenotypeError, BuildError, OpError, DatasetNotFoundError,
            ValueError) as exc:
        print(f"evaluate: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 2
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
