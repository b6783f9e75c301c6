"""``python -m nasbench.finetune SOURCE --data D --mode linear|partial|full``: adapt a trained
network to a new data set (argument parsing only; the work is ``nasbench.train.finetune``).
"""
from __future__ import annotations

import argparse
from typing import Sequence

from nasbench.cli.train import (add_data_options, add_training_options, config_from_args, data_from_args,
                                default_output_dir, job_parser, resumed_job, run_cli)
from nasbench.core.errors import UsageError
from nasbench.train.finetune import FINETUNE_DEFAULTS, MODES, finetune, load_pretrained
from nasbench.train.loop import train_full
from nasbench.train.recipe import TrainOutcome

PROG = "finetune"


def make_parser() -> argparse.ArgumentParser:
    parser = job_parser(
        PROG, "Fine-tune a trained network on a new data set: a new classifier, and the frozen "
              "parts kept exactly (no gradients, batch-norm statistics unchanged).",
        "SOURCE: a zoo name or network genotype JSON file with --weights PATH, or a nasbench.train "
        "output directory (or its checkpoint.pt / model.pt).\n\nexit status: 0 done, 1 training "
        "failed, 2 usage error.", "the trained network")
    parser.add_argument("--weights", metavar="PATH", help="state_dict of a zoo network (torchvision/timm); "
                                                          "its key names pick the variant")
    parser.add_argument("--ema", action="store_true", help="start from a nasbench.train run's EMA weights")
    parser.add_argument("--mode", choices=MODES, default="full", help="what trains (default full)")
    parser.add_argument("--stages", type=int, default=0, metavar="K", help="partial: the last K stages train")
    add_data_options(parser)
    add_training_options(parser, FINETUNE_DEFAULTS)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return run_cli(PROG, make_parser(), run, argv)


def run(args: argparse.Namespace) -> TrainOutcome:
    config, given = config_from_args(args, FINETUNE_DEFAULTS)
    if args.resume:
        return train_full(resumed_job(args.resume, given), stop_after_epoch=args.stop_after_epoch, command=PROG)
    if args.source is None:
        raise UsageError("give a SOURCE to fine-tune, or --resume DIR")
    pretrained = load_pretrained(args.source, args.weights, args.ema)
    output = args.output or default_output_dir(f"{pretrained.name}-finetune-{args.mode}")
    return finetune(pretrained, data_from_args(args), args.mode, output, stages=args.stages, config=config,
                    stop_after_epoch=args.stop_after_epoch)
