"""The one config base, step and epoch that the proxy and the full trainer share."""
from __future__ import annotations

import dataclasses

import pytest
import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from nasbench.train.base_config import TrainConfigBase, TrainConfigError
from nasbench.cli.train import main
from nasbench.train.recipe import FullTrainConfig
from nasbench.train.steps import TrainState, batch_layout, epoch_batches, make_optimizer, train_epoch
from nasbench.train.trainer import TrainerConfig


def tiny_state(config: TrainConfigBase, steps_per_epoch: int, ema_decay: float = 0.0) -> TrainState:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(3 * 4 * 4, 3))
    optimizer, rates = make_optimizer(model, config, steps_per_epoch)
    ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(ema_decay)) if ema_decay else None
    return TrainState(model, model, optimizer, rates, ema)


def tiny_data(images: int = 20) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(1)
    return torch.randn(images, 3, 4, 4, generator=generator), torch.randint(0, 3, (images,), generator=generator)


def test_both_configs_extend_one_base_and_keep_their_defaults():
    shared = {f.name for f in dataclasses.fields(TrainConfigBase)}
    assert shared <= {f.name for f in dataclasses.fields(TrainerConfig)}
    assert shared <= {f.name for f in dataclasses.fields(FullTrainConfig)}
    proxy, full = TrainerConfig(), FullTrainConfig()
    assert (proxy.lr, proxy.nesterov, proxy.grad_clip, proxy.cutout) == (0.1, True, 0.0, 0)
    assert (full.lr, full.nesterov, full.grad_clip, full.cutout) == (0.025, False, 5.0, 16)
    with pytest.raises(TrainConfigError, match=r"^FullTrainConfig\.ema_decay: 1\.0 must be in \[0, 1\)$"):
        FullTrainConfig(ema_decay=1.0)
    with pytest.raises(TrainConfigError, match=r"^TrainerConfig\.grad_clip: -1 must be >= 0$"):
        TrainerConfig(grad_clip=-1)


def test_a_setting_of_the_wrong_kind_is_refused_by_name():
    with pytest.raises(TrainConfigError, match=r"^TrainerConfig\.batch_size: 1\.5 is not an integer$"):
        TrainerConfig(batch_size=1.5)
    with pytest.raises(TrainConfigError, match=r"^FullTrainConfig\.nesterov: 'yes' is not true or false$"):
        FullTrainConfig(nesterov="yes")
    with pytest.raises(TrainConfigError, match=r"^TrainerConfig\.max_seconds: 'soon' is not a number$"):
        TrainerConfig(max_seconds="soon")
    assert TrainerConfig(lr=1, max_seconds=None).lr == 1  # an int is a number; Optional takes None


def test_command_line_names_the_bad_option(capsys):
    assert main(["darts_v2", "--data", "digits", "--device", "gpu0"]) == 2
    assert capsys.readouterr().err.startswith("train: --device: 'gpu0' is not a device")


def test_a_cell_without_a_skeleton_is_sent_to_its_network_file(capsys):
    nb201 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"
    assert main([nb201, "--data", "digits"]) == 2
    err = capsys.readouterr().err.strip()
    assert "space 'nasbench201' has no cell-network skeleton" in err and "\n" not in err
    assert err.endswith("train its network instead: a run's best_network.json, or the file "
                        "python -m nasbench.rebuild SOURCE --export net.json writes")


def test_batches_are_disjoint_slices_of_one_order():
    assert batch_layout(20, 8) == (8, 2) and batch_layout(5, 8, world_size=2) == (4, 1)
    order = torch.randperm(20, generator=torch.Generator().manual_seed(0))
    whole = epoch_batches(order, 2, 8)
    halves = [epoch_batches(order, 2, 8, world_size=2, rank=rank) for rank in (0, 1)]
    assert torch.equal(torch.cat(halves, dim=1), whole) and whole.shape == (2, 8)


def test_an_epoch_clips_averages_and_counts():
    config = TrainerConfig(epochs=2, batch_size=8, lr=1.0, momentum=0.0, weight_decay=0.0, crop_padding=0,
                           flip=False, grad_clip=1e-3)
    images, labels = tiny_data()
    state = tiny_state(config, steps_per_epoch=2, ema_decay=0.5)
    before = [p.detach().clone() for p in state.model.parameters()]
    result = train_epoch(state, config, images, labels, epoch_batches(torch.arange(20), 2, 8),
                         torch.Generator().manual_seed(0))
    moved = torch.cat([(p - q).flatten() for p, q in zip(state.model.parameters(), before)]).norm()
    assert 0 < moved <= 2 * config.lr * config.grad_clip * (1 + 1e-5)  # two clipped steps
    assert (result.steps, result.images, state.step, result.ended) == (2, 16, 2, "")
    assert 0 <= result.correct.item() <= 16 and result.totals()[2].item() == 16.0
    averaged = next(state.ema.module.parameters())  # between the weights after step 1 and step 2
    assert not torch.equal(averaged, before[0]) and not torch.equal(averaged, next(state.model.parameters()))


def test_a_non_finite_loss_ends_the_epoch_at_the_next_check():
    config = TrainerConfig(epochs=1, batch_size=2, lr=1.0, crop_padding=0, flip=False)
    images, labels = tiny_data()
    images[4] = float("nan")  # the third batch
    state = tiny_state(config, steps_per_epoch=10)
    result = train_epoch(state, config, images, labels, epoch_batches(torch.arange(20), 10, 2),
                         torch.Generator().manual_seed(0), finite_check_every=4)
    assert (result.ended, result.steps) == ("diverged", 4)
