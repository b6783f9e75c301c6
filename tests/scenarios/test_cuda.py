"""The CUDA paths, on a machine with a GPU (``python -m pytest -m cuda``, or
``benchmarks/gpu_check.sh``): bf16 proxy training, a candidate that runs out of GPU memory
recorded as ``oom`` while the search goes on, and Ray trials sharing one GPU."""
from __future__ import annotations

import itertools
import math

import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from torch import nn

from nasbench.data import load_dataset
from nasbench.run.search_loop import run_search
from nasbench.evaluators.proxy import ProxyEvaluator
from nasbench.run.store import RunStore
from nasbench.cli.search import CONF_DIR, run_from_config
from nasbench.core.candidate import Candidate
from nasbench.core.budget import Budget
from nasbench.strategies.random_search import RandomSearch
from nasbench.train import ProxyTrainer, TrainerConfig
from search_spaces.build import build_network
from search_spaces.spaces.nasbench201 import NasBench201Space

pytestmark = [pytest.mark.cuda,
              pytest.mark.skipif(not torch.cuda.is_available(),
                                 reason="needs a CUDA GPU: torch.cuda.is_available() is False")]

MIB = 2 ** 20
CONV_CELL = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"
SMALL = {"cells_per_stage": 1, "filters": 8}
TRAINER = {"epochs": 1, "batch_size": 64, "lr": 0.1, "crop_padding": 1, "flip": False,
           "measure_latency": False, "device": "cuda"}


def composed(overrides: list[str]):
    GlobalHydra.instance().clear()
    with initialize_config_dir(version_base="1.3", config_dir=str(CONF_DIR)):
        return compose(config_name="config", overrides=overrides)


@pytest.mark.parametrize("channels_last", [False, True])
def test_bf16_proxy_training_learns_the_digits(channels_last):
    splits = load_dataset("digits", seed=0)
    channels, size, _ = splits.input_shape
    genotype = NasBench201Space().network(CONV_CELL, num_classes=splits.num_classes, input_size=size,
                                          input_channels=channels, skeleton={"filters": 16})
    model = build_network(genotype.to_dict(), seed=0)
    seen = []  # (dtype, is channels-last) of a convolution's output in training
    # Not the stem: with one input channel NCHW and NHWC strides say the same thing.
    inner_conv = next(m for m in model.modules() if isinstance(m, nn.Conv2d) and m.in_channels > 1)
    inner_conv.register_forward_hook(lambda module, inputs, output: seen.append(
        (output.dtype, output.is_contiguous(memory_format=torch.channels_last))) if module.training else None)
    config = TrainerConfig(epochs=2, batch_size=64, lr=0.1, crop_padding=1, flip=False, device="cuda",
                           channels_last=channels_last)
    result = ProxyTrainer(config).fit(model, splits)
    assert result.status == "ok", result.message
    assert math.isfinite(result.train_loss) and result.val_acc > 0.3, "chance is 0.1"
    assert result.device == torch.cuda.get_device_name() and result.peak_memory_bytes > 0
    assert result.latency_b1_ms > 0 and result.latency_batch_ms > 0
    assert len(seen) == 2 * (len(splits.train[1]) // 64)
    assert {dtype for dtype, _ in seen} == {torch.bfloat16}, "amp=auto trains in bf16 autocast on CUDA"
    assert {layout for _, layout in seen} == {channels_last}


class OneHugeCandidate:
    """Small proxies on 8×8 digits, but trial ``huge_trial`` is trained 256 filters wide on
    32×32 digits in batches of 1,024: its stem's output alone (512 MiB in bf16) outgrows
    a 256 MiB cap."""

    def __init__(self, huge_trial: int) -> None:
        self.huge_trial = huge_trial
        self.small = ProxyEvaluator(NasBench201Space(), SMALL, {"name": "digits"}, TRAINER)
        self.huge = ProxyEvaluator(NasBench201Space(), {"cells_per_stage": 1, "filters": 256},
                                   {"name": "digits", "resolution": 32}, {**TRAINER, "batch_size": 1024})

    def __call__(self, candidate: Candidate):
        evaluator = self.huge if candidate.trial == self.huge_trial else self.small
        return evaluator.evaluate(candidate.point, seed=candidate.seed)


def test_out_of_memory_is_a_result_and_the_search_goes_on(tmp_path):
    device = torch.device("cuda", torch.cuda.current_device())
    cap = 256 * MIB / torch.cuda.get_device_properties(device).total_memory
    strategy = RandomSearch(NasBench201Space(), seed=0)
    allocated = []  # bytes held by tensors after each candidate
    torch.cuda.set_per_process_memory_fraction(cap, device)
    try:
        outcome = run_search(strategy, OneHugeCandidate(huge_trial=1), Budget(trials=4), RunStore(tmp_path),
                             progress=False, on_record=lambda record: allocated.append(
                                 torch.cuda.memory_allocated(device)))
    finally:
        torch.cuda.set_per_process_memory_fraction(1.0, device)
    statuses = [record.result.status for record in outcome.history]
    assert statuses == ["ok", "oom", "ok", "ok"], [record.result.message for record in outcome.history]
    # The candidates after it trained under the same cap: they could not, were its memory held.
    assert "out of memory" in outcome.history[1].result.message.lower()
    assert (tmp_path / "history.jsonl").read_text().count('"status": "oom"') == 1
    # Measured after a small candidate, so cuBLAS's cached workspace is in the baseline.
    assert max(allocated[1:]) - allocated[0] < MIB, f"bytes held after each candidate: {allocated}"


def test_ray_trials_share_one_gpu(ray_session, tmp_path):
    assert ray_session.cluster_resources().get("GPU", 0) >= 1, \
        "Ray sees no GPU: trials asking for 0.5 GPU would wait for ever"
    overrides = ["+space=nasbench201", "evaluator=proxy", "data=digits", "trainer=proxy", "progress=false",
                 "search=random", "budget.trials=4", "trainer.epochs=2", "trainer.device=cuda",
                 "executor=ray", "executor.max_concurrent_trials=2", "executor.cpus_per_trial=1",
                 "executor.gpus_per_trial=0.5"]
    outcome = run_from_config(composed(overrides), tmp_path)
    history = outcome.history
    assert sorted(record.candidate.trial for record in history) == [0, 1, 2, 3] and not outcome.interrupted
    assert all(record.result.status == "ok" for record in history), [r.result.message for r in history]
    assert {record.result.device for record in history} == {torch.cuda.get_device_name(0)}
    assert any(first.started < second.finished and second.started < first.finished
               for first, second in itertools.combinations(history, 2)), "two trials ran at once"
