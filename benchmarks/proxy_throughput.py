"""Training throughput of the ProxyTrainer against a plain hand-written PyTorch loop.

Both train the same network from the same initial weights on the same resident data
(random CIFAR-shaped tensors, or the digits) with the same SGD-Nesterov optimizer,
per-batch cosine schedule and batched crop/flip augmentation, and both score the same
validation images once at the end. Runs are interleaved (trainer, plain, plain, trainer,
...) after a warm-up of each. Two ratios are reported: of the best runs (noise on a shared
machine only ever slows a run down, so the fastest run is the least disturbed one, as
``timeit`` argues) and the median of the per-pair ratios, which cancels slow drifts. Wall time is taken around the whole call, so the
trainer's bookkeeping (parameter and MAC counts, seeding, finiteness checks, per-epoch
validation) counts against it. ``--clock cpu`` times with the process's CPU time instead
of the wall clock: on a machine shared with other jobs that measures the work each loop
does rather than how much of the machine it got (use it with ``--threads 1``, since idle
worker threads spin and bill CPU time too).

Run from the repository root (with the package installed, or ``PYTHONPATH=.``):

    python benchmarks/proxy_throughput.py --net resnet --device cpu --steps 10
    python benchmarks/proxy_throughput.py --net airbench --device cuda --batch-size 512 --json
"""
from __future__ import annotations

import argparse
import copy
import json
import statistics
import time
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from nasbench.data import load_dataset
from nasbench.data.splits import DatasetSplits
from nasbench.train import ProxyTrainer, TrainerConfig
from nasbench.train.augment import augment
from nasbench.train.reference_nets import REFERENCE_NETS, reference_net
from nasbench.train.trainer import resolve_device

LR, MOMENTUM, WEIGHT_DECAY = 0.05, 0.9, 5e-4


def synthetic_splits(train_size: int, val_size: int, device: torch.device, seed: int = 0,
                     shape: tuple[int, int, int] = (3, 32, 32)) -> DatasetSplits:
    """Random normalised CIFAR-shaped images with random labels, resident on ``device``."""
    generator = torch.Generator().manual_seed(seed)

    def split(size: int) -> tuple[torch.Tensor, torch.Tensor]:
        return (torch.randn(size, *shape, generator=generator).to(device),
                torch.randint(0, 10, (size,), generator=generator).to(device))

    return DatasetSplits(split(train_size), split(val_size), split(val_size), 10, shape,
                         "synthetic")


def digits_splits(train_size: int, device: torch.device) -> DatasetSplits:
    """The digits upscaled to 32×32, repeated up to ``train_size`` training images."""
    splits = load_dataset("digits", resolution=32)
    images, labels = splits.train
    repeats = -(-train_size // len(labels))
    train = (images.repeat(repeats, 1, 1, 1)[:train_size], labels.repeat(repeats)[:train_size])
    return DatasetSplits(train, splits.val, splits.test, 10, splits.input_shape,
                         "digits").to(device)


def run_trainer(model: nn.Module, splits: DatasetSplits, batch_size: int, device: str,
                crop_padding: int, flip: bool,
                clock: Callable[[], float] = time.perf_counter) -> float:
    config = TrainerConfig(epochs=1, batch_size=batch_size, lr=LR, momentum=MOMENTUM,
                           weight_decay=WEIGHT_DECAY, crop_padding=crop_padding, flip=flip,
                           device=device, measure_latency=False, eval_batch_size=1024)
    start = clock()
    result = ProxyTrainer(config).fit(model, splits)
    seconds = clock() - start
    if result.status != "ok":
        raise RuntimeError(f"the trainer's run failed: {result.status} {result.message}")
    return seconds


def run_plain(model: nn.Module, splits: DatasetSplits, batch_size: int, device: str,
              crop_padding: int, flip: bool,
              clock: Callable[[], float] = time.perf_counter) -> float:
    """The textbook loop: shuffled index batches of resident tensors, forward, loss,
    backward, step, scheduler step; then one pass over the validation images."""
    start = clock()
    device = resolve_device(device)
    images, labels = splits.train
    model.to(device).train()
    optimizer = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM, nesterov=True,
                                weight_decay=WEIGHT_DECAY)
    steps = len(labels) // batch_size
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)
    generator = torch.Generator(device=device).manual_seed(0)
    order = torch.randperm(len(labels), device=device, generator=generator)
    for step in range(steps):
        index = order[step * batch_size:(step + 1) * batch_size]
        batch = augment(images[index], generator, crop_padding=crop_padding, flip=flip,
                        cutout_size=0)
        loss = F.cross_entropy(model(batch), labels[index])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
    model.eval()
    val_images, val_labels = splits.val
    with torch.no_grad():
        correct = sum((model(val_images[i:i + 1024]).argmax(1) == val_labels[i:i + 1024]).sum()
                      for i in range(0, len(val_labels), 1024))
    float(correct)  # waits for the device, like the trainer's .item()
    return clock() - start


def make_net(name: str, num_classes: int, in_channels: int, width_scale: float) -> nn.Module:
    """A reference net, or ``nasnet_a``: the NASNet-A proxy (N=2, F=16 times the width
    scale, CIFAR skeleton) built from its genotype by the toolkit's builder."""
    if name != "nasnet_a":
        return reference_net(name, num_classes, in_channels, width_scale)
    from search_spaces.build import build_network
    from search_spaces.published import published
    from search_spaces.skeletons import cell_network
    from search_spaces.spaces import cell_space

    cell = published("nasnet_a")
    genotype = cell_network(cell_space(cell.space), cell.point, "cifar", N=2, F=max(2, round(16 * width_scale)),
                            num_classes=num_classes, input_channels=in_channels)
    return build_network(genotype)


def measure(args: argparse.Namespace) -> dict:
    device = resolve_device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    train_size = args.steps * args.batch_size
    splits = (digits_splits(train_size, device) if args.data == "digits"
              else synthetic_splits(train_size, args.batch_size, device))
    torch.manual_seed(0)
    base = make_net(args.net, splits.num_classes, splits.input_shape[0], args.width_scale)
    runners = {"trainer": run_trainer, "plain": run_plain}
    if args.clock == "cpu" and device.type != "cpu":
        raise SystemExit("--clock cpu measures CPU work; use it with --device cpu")
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    options = dict(batch_size=args.batch_size, device=str(device), crop_padding=args.crop_padding,
                   flip=not args.no_flip, clock=clock)
    warm_up = synthetic_splits(args.batch_size * 3, args.batch_size, device,
                               shape=splits.input_shape)
    for runner in runners.values():
        runner(copy.deepcopy(base), warm_up, **options)
    seconds: dict[str, list[float]] = {name: [] for name in runners}
    deadline = time.perf_counter() + args.max_seconds if args.max_seconds else float("inf")
    for repeat in range(args.repeats):
        if repeat and time.perf_counter() > deadline:
            break  # a bounded run: the pairs measured so far are the figures
        order = ("trainer", "plain") if repeat % 2 == 0 else ("plain", "trainer")
        for name in order:
            seconds[name].append(runners[name](copy.deepcopy(base), splits, **options))
    rates = {name: [train_size / s for s in values] for name, values in seconds.items()}
    pair_ratios = [t / p for t, p in zip(rates["trainer"], rates["plain"])]
    best = {name: max(values) for name, values in rates.items()}
    return {
        "net": args.net,
        "data": args.data,
        "device": str(device),
        "threads": torch.get_num_threads(),
        "clock": args.clock,
        "batch_size": args.batch_size,
        "steps": args.steps,
        "repeats": len(pair_ratios),
        "width_scale": args.width_scale,
        "trainer_images_per_s": best["trainer"],
        "plain_images_per_s": best["plain"],
        "ratio": best["trainer"] / best["plain"],
        "trainer_median_images_per_s": statistics.median(rates["trainer"]),
        "plain_median_images_per_s": statistics.median(rates["plain"]),
        "median_pair_ratio": statistics.median(pair_ratios),
        "pair_ratios": pair_ratios,
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--net", choices=(*REFERENCE_NETS, "nasnet_a"), default="resnet")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=10, help="training steps per run")
    parser.add_argument("--repeats", type=int, default=5, help="interleaved runs of each")
    parser.add_argument("--max-seconds", type=float, default=None,
                        help="start no new pair of runs after this many seconds of measuring "
                             "(at least one pair runs; the warm-up does not count)")
    parser.add_argument("--data", choices=("synthetic", "digits"), default="synthetic")
    parser.add_argument("--width-scale", type=float, default=1.0, help="scales the net's widths")
    parser.add_argument("--crop-padding", type=int, default=4)
    parser.add_argument("--no-flip", action="store_true")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                        help="wall clock, or the process's CPU time (a shared machine)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    if args.max_seconds is not None and args.max_seconds <= 0:
        parser.error(f"--max-seconds: {args.max_seconds} must be positive")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    report = measure(args)
    if args.json:
        print(json.dumps(report))
        return
    print(f"{report['net']} on {report['data']}, {report['device']} ({report['threads']} threads, "
          f"{report['clock']} clock), batch {report['batch_size']}, "
          f"{report['steps']} steps x {report['repeats']} repeats")
    print("                    best    median  (images/s)")
    print(f"  ProxyTrainer  {report['trainer_images_per_s']:9.1f} "
          f"{report['trainer_median_images_per_s']:9.1f}")
    print(f"  plain loop    {report['plain_images_per_s']:9.1f} "
          f"{report['plain_median_images_per_s']:9.1f}")
    print(f"  ratio trainer/plain {report['ratio']:.3f} (best), "
          f"{report['median_pair_ratio']:.3f} (median of pairs: "
          f"{', '.join(f'{r:.3f}' for r in report['pair_ratios'])})")


if __name__ == "__main__":
    main()
