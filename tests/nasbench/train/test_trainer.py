"""The proxy trainer on the digits: learning, determinism, failures as results, hooks."""
from __future__ import annotations

import math

import pytest
import torch
from omegaconf import OmegaConf
from torch import Tensor, nn

from nasbench.data import load_dataset
from nasbench.data.splits import DatasetSplits
from nasbench.train import (ProxyTrainer, TrainerConfig, count_macs, count_params, evaluate_test,
                            measure_latency)
from nasbench.train.augment import cutout, random_crop, random_flip
from nasbench.train.schedule import learning_rates
from nasbench.train.steps import classification_loss


@pytest.fixture(scope="module")
def digits() -> DatasetSplits:
    return load_dataset("digits", seed=0)


def quick_config(**overrides) -> TrainerConfig:
    # One thread: the tests' timings then survive a machine shared with other jobs.
    settings = dict(epochs=3, batch_size=64, lr=0.1, crop_padding=1, flip=False,
                    measure_latency=False, device="cpu", cpu_threads=1)
    settings.update(overrides)
    return TrainerConfig(**settings)


class TinyNet(nn.Module):
    """conv-bn-relu, global pooling, linear: enough to learn the digits."""

    def __init__(self, width: int = 16) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, width, 3, padding=1), nn.BatchNorm2d(width),
                                      nn.ReLU(), nn.Conv2d(width, width, 3, padding=1),
                                      nn.BatchNorm2d(width), nn.ReLU(), nn.AdaptiveAvgPool2d(2),
                                      nn.Flatten())
        self.classifier = nn.Linear(4 * width, 10)

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.features(x))


def tiny_net(seed: int = 0) -> TinyNet:
    torch.manual_seed(seed)
    return TinyNet()


class FailsInTraining(TinyNet):
    """Behaves until training call ``after`` calls, then raises ``error`` or outputs NaN."""

    def __init__(self, error: Exception | None, after: int = 0) -> None:
        super().__init__()
        self.error, self.after, self.calls = error, after, 0

    def forward(self, x: Tensor) -> Tensor:
        logits = super().forward(x)
        if not self.training:
            return logits
        self.calls += 1
        if self.calls > self.after:
            if self.error is not None:
                raise self.error
            return logits * float("nan")
        return logits


class WithAuxHead(TinyNet):
    def __init__(self) -> None:
        super().__init__()
        self.aux = nn.Linear(64, 10)
        self.drop_path_calls: list[float] = []

    def set_drop_path(self, probability: float) -> None:
        self.drop_path_calls.append(probability)

    def forward(self, x: Tensor):
        features = self.features(x)
        logits = self.classifier(features)
        return (logits, [self.aux(features)]) if self.training else logits


def test_tiny_net_beats_chance(digits):
    result = ProxyTrainer(quick_config()).fit(tiny_net(), digits)
    assert result.status == "ok" and result.message == ""
    assert result.val_acc > 0.5 and len(result.val_curve) == result.epochs_run == 3
    assert result.params == count_params(tiny_net()) and result.macs > 0
    assert result.train_seconds > 0 and result.cost_seconds >= result.train_seconds
    assert result.peak_memory_bytes > 0 and result.device == "cpu" and result.seed == 0
    assert result.settings["batch_size"] == 64
    assert 0.0 <= evaluate_test(tiny_net(), digits) <= 1.0


def test_same_seed_same_numbers(digits):
    config = quick_config(epochs=2, cutout=3, crop_padding=2, flip=True, schedule="onecycle")
    first = ProxyTrainer(config).fit(tiny_net(), digits)
    second = ProxyTrainer(config).fit(tiny_net(), digits)
    assert first.status == second.status == "ok"
    assert first.val_curve == second.val_curve and first.train_loss == second.train_loss
    other_seed = ProxyTrainer(quick_config(epochs=2, seed=1)).fit(tiny_net(), digits)
    assert other_seed.train_loss != first.train_loss


def test_nan_loss_is_diverged_and_keeps_the_curve(digits):
    steps_per_epoch = len(digits.train[1]) // 64
    model = FailsInTraining(None, after=steps_per_epoch + 2)  # NaN from the middle of epoch 2
    result = ProxyTrainer(quick_config(epochs=4, nan_check_every=5)).fit(model, digits)
    assert result.status == "diverged" and "non-finite" in result.message
    assert len(result.val_curve) == result.epochs_run == 1 and result.val_acc is None
    assert model.calls <= steps_per_epoch + 2 + 5  # stopped within one check interval
    assert result.train_loss is None or math.isnan(result.train_loss)
    assert result.to_dict()["train_loss"] is None


def test_huge_learning_rate_diverges(digits):
    result = ProxyTrainer(quick_config(epochs=2, lr=1e10)).fit(tiny_net(), digits)
    assert result.status == "diverged"


def test_out_of_memory_is_a_result(digits):
    error = torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")
    result = ProxyTrainer(quick_config()).fit(FailsInTraining(error), digits)
    assert result.status == "oom" and result.message.startswith("OutOfMemoryError: CUDA out")
    assert result.params is not None and result.val_curve == []


def test_other_exception_is_an_error_with_its_message(digits):
    steps_per_epoch = len(digits.train[1]) // 64
    model = FailsInTraining(RuntimeError("shape mismatch\nin cell 3"), after=steps_per_epoch)
    result = ProxyTrainer(quick_config()).fit(model, digits)
    assert result.status == "error"
    assert result.message == "RuntimeError: shape mismatch in cell 3"
    assert len(result.val_curve) == 1 and result.macs is not None


def test_aux_head_loss_and_drop_path_schedule(digits):
    logits = torch.randn(8, 10)
    labels = torch.randint(0, 10, (8,))
    plain = classification_loss(logits, labels, 0.0, 0.4)
    assert torch.allclose(classification_loss((logits, [logits]), labels, 0.0, 0.4), 1.4 * plain)
    assert torch.allclose(classification_loss((logits, logits), labels, 0.0, 0.5), 1.5 * plain)
    torch.manual_seed(0)
    model = WithAuxHead()
    result = ProxyTrainer(quick_config(epochs=4, drop_path=0.2)).fit(model, digits)
    assert result.status == "ok" and result.val_acc > 0.3
    assert model.drop_path_calls == pytest.approx([0.0, 0.05, 0.1, 0.15])


def test_callback_sees_each_epoch_and_can_stop(digits):
    seen = []

    def progress(epoch: int, val_acc: float, loss: float) -> bool:
        seen.append((epoch, val_acc, loss))
        return epoch < 2

    result = ProxyTrainer(quick_config(epochs=5)).fit(tiny_net(), digits, progress=progress)
    assert result.status == "ok" and result.epochs_run == 2
    assert [epoch for epoch, _, _ in seen] == [1, 2]
    assert [acc for _, acc, _ in seen] == result.val_curve and result.val_acc == seen[-1][1]
    assert "callback" in result.message


def test_time_budget_stops_with_status_ok(digits):
    result = ProxyTrainer(quick_config(epochs=50, max_seconds=0.2)).fit(tiny_net(), digits)
    assert result.status == "ok" and "time budget" in result.message
    assert 1 <= result.epochs_run < 50 and result.val_acc == result.val_curve[-1]


def test_latency_is_measured_when_asked(digits):
    result = ProxyTrainer(quick_config(epochs=1, measure_latency=True, latency_repeats=2)).fit(
        tiny_net(), digits)
    assert result.latency_b1_ms > 0 and result.latency_batch_ms > 0


def test_metrics_of_known_layers():
    conv = nn.Conv2d(1, 4, 3, padding=1)
    assert count_params(conv) == 4 * 9 + 4
    assert count_macs(conv, (1, 8, 8)) == 4 * 9 * 64
    linear = nn.Sequential(nn.Flatten(), nn.Linear(10, 5))
    assert count_macs(linear, (10,)) == 50
    assert measure_latency(linear, (10,), batch_size=4, warmup=1, repeats=2) > 0
    assert linear.training  # metrics restore the mode they found


def test_augmentation_is_batched_and_seeded():
    images = torch.arange(2 * 1 * 4 * 4, dtype=torch.float32).reshape(2, 1, 4, 4) + 1
    generator = torch.Generator().manual_seed(0)
    cropped = random_crop(images, 1, generator)
    assert cropped.shape == images.shape
    for original, window in zip(images, cropped):  # each crop is a shifted window of its image
        padded = nn.functional.pad(original, (1, 1, 1, 1))
        assert any(torch.equal(window, padded[:, r:r + 4, c:c + 4])
                   for r in range(3) for c in range(3))
    flipped = random_flip(images.repeat(32, 1, 1, 1), torch.Generator().manual_seed(0))
    mirrored = (flipped == images.repeat(32, 1, 1, 1).flip(3)).flatten(1).all(1)
    assert 0 < mirrored.sum() < 64
    holes = cutout(torch.ones(16, 3, 8, 8), 4, torch.Generator().manual_seed(0))
    zeros = (holes == 0).flatten(1).sum(1)
    assert (zeros <= 3 * 16).all() and (zeros > 0).all() and (zeros % 3 == 0).all()


def test_schedules():
    cosine = learning_rates("cosine", 100, 0.1, warmup=10)
    assert cosine[9] == pytest.approx(0.1) and cosine[0] == pytest.approx(0.01)
    assert cosine[-1] < 1e-3 and cosine == sorted(cosine[:10]) + sorted(cosine[10:], reverse=True)
    onecycle = learning_rates("onecycle", 100, 0.1, warmup=0)
    assert onecycle[0] == pytest.approx(0.004) and max(onecycle) == pytest.approx(0.1)
    assert onecycle.index(max(onecycle)) == 30 and onecycle[-1] < 1e-4


def test_config_is_validated_and_hydra_ready():
    with pytest.raises(ValueError, match="TrainerConfig.schedule"):
        TrainerConfig(schedule="linear")
    with pytest.raises(ValueError, match="TrainerConfig.drop_path"):
        TrainerConfig(drop_path=1.5)
    with pytest.raises(ValueError, match="TrainerConfig.device"):
        TrainerConfig(device="gpu0")
    structured = OmegaConf.structured(TrainerConfig)
    assert structured.aux_weight == 0.4 and structured.max_seconds is None


class KeptState:
    """A ``TrainingCheckpoint`` in a dict."""

    def __init__(self, state=None) -> None:
        self.state = state

    def load(self):
        return self.state

    def save(self, state) -> None:
        self.state = state


def test_a_stopped_run_continues_like_an_uninterrupted_one(digits):
    """Stopped after epoch 1 and continued, a run has the uninterrupted run's curve, loss
    and weights bit for bit (the optimizer, schedule step and generators restored)."""
    config = quick_config(cutout=3, flip=True, schedule="onecycle", drop_path=0.2)
    torch.manual_seed(0)
    whole_net = WithAuxHead()
    first_net, second_net = WithAuxHead(), WithAuxHead()
    for net in (first_net, second_net):
        net.load_state_dict(whole_net.state_dict())
    whole = ProxyTrainer(config).fit(whole_net, digits)
    kept = KeptState()
    first = ProxyTrainer(config).fit(first_net, digits, progress=lambda epoch, *_: epoch < 1, checkpoint=kept)
    assert first.epochs_run == 1 and kept.state["epoch"] == 1 and first.settings["resumed_from_epoch"] == 0
    second = ProxyTrainer(config).fit(second_net, digits, checkpoint=kept)
    assert second.settings["resumed_from_epoch"] == 1 and second.epochs_run == 3
    assert second.val_curve == whole.val_curve and second.train_loss == whole.train_loss
    assert second.train_seconds >= first.train_seconds and second_net.drop_path_calls == [0.2 / 3, 0.4 / 3]
    for mine, theirs in zip(second_net.state_dict().values(), whole_net.state_dict().values()):
        assert torch.equal(mine, theirs)


def test_a_state_of_other_settings_is_refused_with_one_line(digits, caplog):
    kept = KeptState()
    ProxyTrainer(quick_config()).fit(tiny_net(), digits, progress=lambda epoch, *_: epoch < 1, checkpoint=kept)
    with caplog.at_level("WARNING", logger="nasbench.search"):
        result = ProxyTrainer(quick_config(lr=0.05)).fit(tiny_net(), digits, checkpoint=kept)
    assert result.ok and result.epochs_run == 3 and result.settings["resumed_from_epoch"] == 0
    assert [r.getMessage() for r in caplog.records] == [
        "the saved training state does not fit this run (it was trained with other settings: lr); "
        "training from the seed"]
    assert result.val_curve == ProxyTrainer(quick_config(lr=0.05)).fit(tiny_net(), digits).val_curve
