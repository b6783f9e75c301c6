"""``--weights``: pairing a torchvision/timm state_dict with a rebuilt network by order."""
from __future__ import annotations

import json
import random

import pytest
import torch

from nasbench.core.errors import WeightsError
from nasbench.cli.rebuild import main
from nasbench.networks.rebuild import build, load_network
from nasbench.networks.resolve import resolve
from nasbench.networks.weights import WeightsMismatchError, load_weights, map_state_dict, read_state_dict
from nasbench.networks.weights_source import WeightsVariantError
from search_spaces.dsl import aux_head, cell, edge, head, layer, network, node, stage
from search_spaces.genotype import NetworkGenotype

BN = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")


def torchvision_resnet18_entries() -> list[tuple[str, tuple[int, ...]]]:
    """torchvision.models.resnet18's state_dict keys and shapes, in its order (written
    from its definition: conv1, bn1, layer1-4 of BasicBlocks with a downsample conv+bn in
    the first block of layers 2-4, fc)."""
    def bn(prefix: str, channels: int) -> list[tuple[str, tuple[int, ...]]]:
        return [(f"{prefix}.{name}", () if name == "num_batches_tracked" else (channels,)) for name in BN]

    entries = [("conv1.weight", (64, 3, 7, 7)), *bn("bn1", 64)]
    in_planes = 64
    for index, planes in enumerate((64, 128, 256, 512), start=1):
        for block in range(2):
            prefix = f"layer{index}.{block}"
            entries += [(f"{prefix}.conv1.weight", (planes, in_planes, 3, 3)), *bn(f"{prefix}.bn1", planes),
                        (f"{prefix}.conv2.weight", (planes, planes, 3, 3)), *bn(f"{prefix}.bn2", planes)]
            if block == 0 and in_planes != planes:
                entries += [(f"{prefix}.downsample.0.weight", (planes, in_planes, 1, 1)),
                            *bn(f"{prefix}.downsample.1", planes)]
            in_planes = planes
    return entries + [("fc.weight", (1000, 512)), ("fc.bias", (1000,))]


def _randomized(network: torch.nn.Module, seed: int) -> torch.nn.Module:
    generator = torch.Generator().manual_seed(seed)
    for module in network.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.weight.data.copy_(1 + 0.1 * torch.randn(module.num_features, generator=generator))
            module.bias.data.copy_(0.1 * torch.randn(module.num_features, generator=generator))
            module.running_mean.copy_(0.1 * torch.randn(module.num_features, generator=generator))
            module.running_var.copy_(0.5 + torch.rand(module.num_features, generator=generator))
            module.num_batches_tracked.fill_(seed)
    return network.eval()


def _resnet18(seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    return _randomized(build(resolve("resnet18").genotype), seed)


def _assert_same_state(a: torch.nn.Module, b: torch.nn.Module) -> None:
    state_a, state_b = a.state_dict(), b.state_dict()
    assert list(state_a) == list(state_b)
    assert all(torch.equal(state_a[key], state_b[key]) for key in state_a)


def test_torchvision_named_resnet18_loads(tmp_path, capsys):
    source, target = _resnet18(1), _resnet18(2)
    entries = torchvision_resnet18_entries()
    state = source.state_dict()
    assert [shape for _, shape in entries] == [tuple(t.shape) for t in state.values()]
    torchvision_state = {name: tensor for (name, _), tensor in zip(entries, state.values())}
    torch.save(torchvision_state, tmp_path / "resnet18.pth")
    mapping = load_weights(target, tmp_path / "resnet18.pth")
    pairs = mapping.as_dict()
    assert pairs["conv1.weight"] == "stem.0.op.conv.weight"
    assert pairs["bn1.num_batches_tracked"] == "stem.0.op.bn.num_batches_tracked"
    assert pairs["layer2.0.downsample.0.weight"] == "stages.1.0.nodes.1.1.conv.weight"
    assert pairs["layer4.1.bn2.running_var"] == "stages.3.1.nodes.1.0.bn.running_var"
    assert pairs["fc.bias"] == "head.layers.0.bias"
    assert len(mapping.pairs) == 122 and mapping.kept == () and mapping.ignored == ()
    _assert_same_state(source, target)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        assert (source(x) - target(x)).abs().max() < 1e-6
    # The command line loads the same file.
    assert main(["resnet18", "--weights", str(tmp_path / "resnet18.pth"), "--json"]) == 0
    assert '"loaded": 122' in capsys.readouterr().out


def test_any_names_in_the_same_order_load():
    source, target = _resnet18(3), _resnet18(4)
    names = [f"w{i:03d}_{random.Random(i).random():.6f}" for i in range(len(source.state_dict()))]
    shuffled = dict(zip(names, source.state_dict().values()))
    mapping = load_weights(target, shuffled)
    assert [file_key for file_key, _ in mapping.pairs] == names
    _assert_same_state(source, target)


def test_a_shape_mismatch_names_the_first_pair():
    torch.manual_seed(0)
    ten_classes = build({**resolve("resnet18").genotype, "num_classes": 10})
    state = {name: tensor for (name, _), tensor in zip(torchvision_resnet18_entries(), ten_classes.state_dict().values())}
    with pytest.raises(WeightsMismatchError,
                       match=r"body entry 120: 'fc.weight' \[10, 512\] in the file does not fit "
                             r"'head.layers.0.weight' \[1000, 512\]"):
        load_weights(_resnet18(5), state)


def test_a_count_mismatch_says_where_the_orders_part():
    state = dict(_resnet18(6).state_dict())
    del state["stem.0.op.conv.weight"]
    with pytest.raises(WeightsMismatchError, match=r"the file has 121 tensors for the body, the network 122; "
                                                   r"entry 0 is the first misfit"):
        map_state_dict(state, _resnet18(7).state_dict())
    state = dict(_resnet18(6).state_dict())
    del state["head.layers.0.bias"]
    with pytest.raises(WeightsMismatchError, match=r"the first 121 fit, then the network's 'head.layers.0.bias'"):
        map_state_dict(state, _resnet18(7).state_dict())


def test_a_file_without_batch_counters_loads():
    source, target = _resnet18(8), _resnet18(9)
    state = {key: value for key, value in source.state_dict().items() if not key.endswith("num_batches_tracked")}
    mapping = load_weights(target, state)
    assert len(mapping.kept) == 20 and all(key.endswith("num_batches_tracked") for key in mapping.kept)
    assert int(target.state_dict()["stem.0.op.bn.num_batches_tracked"]) == 9
    with torch.no_grad():
        x = torch.randn(1, 3, 64, 64)
        assert (source(x) - target(x)).abs().max() < 1e-6


def _tiny_with_aux() -> dict:
    block = cell([node(edge("conv", 0, k=3)), node(edge("conv", 1, k=3, order="conv_bn"), edge("skip", 0)),
                  node(edge("act", 2))])
    genotype = network("tiny_aux", [stage(block, 1, width=8), stage(block, 1, width=16, stride=2)],
                       stem=[layer("conv", 8, k=3)], input_size=16, num_classes=5,
                       aux_heads=[aux_head(0, [layer("conv", 4, k=1)], head("avg"))])
    return NetworkGenotype.from_dict(genotype).to_dict()


def test_aux_heads_pair_among_themselves():
    """As in torchvision's Inception v3, the file registers its auxiliary head in the
    middle of the body (``AuxLogits`` between two stages); the builder registers it last."""
    torch.manual_seed(10)
    source = _randomized(build(_tiny_with_aux()), 10)
    torch.manual_seed(11)
    target = _randomized(build(_tiny_with_aux()), 11)
    items = list(source.state_dict().items())
    body = [(f"Mixed_{i}.w", t) for i, (k, t) in enumerate(items) if not k.startswith("aux_heads.")]
    aux = [(f"AuxLogits.{i}", t) for i, (k, t) in enumerate(items) if k.startswith("aux_heads.")]
    middle = len(body) // 2
    state = dict(body[:middle] + aux + body[middle:])
    mapping = load_weights(target, state)
    assert all(our.startswith("aux_heads.") == file.startswith("AuxLogits.") for file, our in mapping.pairs)
    _assert_same_state(source, target)
    # A file without auxiliary heads leaves ours as built, and says so.
    target = _randomized(build(_tiny_with_aux()), 12)
    before = {k: v.clone() for k, v in target.state_dict().items() if k.startswith("aux_heads.")}
    mapping = load_weights(target, dict(body))
    assert set(mapping.kept) == set(before)
    assert all(torch.equal(target.state_dict()[k], v) for k, v in before.items())


def test_reading_files(tmp_path):
    state = _resnet18(13).state_dict()
    torch.save({"epoch": 3, "state_dict": state}, tmp_path / "checkpoint.pth")
    assert list(read_state_dict(tmp_path / "checkpoint.pth")) == list(state)
    torch.save([1, 2, 3], tmp_path / "list.pth")
    with pytest.raises(WeightsError, match="does not hold a state_dict"):
        read_state_dict(tmp_path / "list.pth")
    (tmp_path / "junk.pth").write_bytes(b"not a pickle")
    with pytest.raises(WeightsError, match="is not a state_dict file"):
        read_state_dict(tmp_path / "junk.pth")
    with pytest.raises(WeightsError, match="no such file"):
        read_state_dict(tmp_path / "absent.pth")


def test_command_line_mismatch_exits_2(tmp_path, capsys):
    torch.save(_resnet18(14).state_dict(), tmp_path / "resnet18.pth")
    assert main(["resnet34", "--weights", str(tmp_path / "resnet18.pth")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("rebuild: --weights: the file has")


# --- against torchvision itself (not installed in every environment) -------------------------

TORCHVISION_NETS = [("resnet34", "resnet34", None, {}), ("vgg16", "vgg16", None, {}),
                    ("densenet121", "densenet121", None, {}),
                    ("googlenet", "googlenet", "torchvision", {"aux_logits": True, "init_weights": True}),
                    ("inception_v3", "inception_v3", "torchvision", {"aux_logits": True, "init_weights": True})]


@pytest.mark.parametrize("torchvision_name, zoo_name, variant, kwargs", TORCHVISION_NETS)
def test_torchvision_state_dicts_load(torchvision_name, zoo_name, variant, kwargs, tmp_path):
    models = pytest.importorskip("torchvision.models")
    torch.manual_seed(0)
    reference = _randomized(getattr(models, torchvision_name)(weights=None, **kwargs), 1)
    torch.save(reference.state_dict(), tmp_path / f"{torchvision_name}.pth")
    target = resolve(zoo_name, variant)
    ours = build(target.genotype).eval()
    mapping = load_weights(ours, tmp_path / f"{torchvision_name}.pth")
    assert mapping.kept == () and mapping.ignored == ()
    x = torch.randn(1, 3, *target.genotype["input_size"])
    with torch.no_grad():
        expected, got = reference(x), ours(x)
    assert (expected - got).abs().max() < 1e-4 * max(1.0, float(expected.abs().max()))


# --- the weights select the variant they belong to --------------------------------------------

def torchvision_resnet_keys(depths: tuple[int, ...], bottleneck: bool) -> list[str]:
    """torchvision's (and timm's) ResNet state_dict keys in order, written from its
    definition: conv1, bn1; per block conv1-3 with bn1-3 (two for BasicBlock) and a
    downsample conv+bn where the shape changes; fc."""
    def bn(prefix: str) -> list[str]:
        return [f"{prefix}.{name}" for name in BN]

    keys = ["conv1.weight", *bn("bn1")]
    for index, count in enumerate(depths, start=1):
        for block in range(count):
            prefix = f"layer{index}.{block}"
            for conv in range(1, 4 if bottleneck else 3):
                keys += [f"{prefix}.conv{conv}.weight", *bn(f"{prefix}.bn{conv}")]
            if block == 0 and (bottleneck or index > 1):
                keys += [f"{prefix}.downsample.0.weight", *bn(f"{prefix}.downsample.1")]
    return keys + ["fc.weight", "fc.bias"]


def _torchvision_named_resnet50(seed: int) -> tuple[torch.nn.Module, dict[str, torch.Tensor]]:
    """Our torchvision-variant ResNet-50 and its state_dict under torchvision's key names."""
    torch.manual_seed(seed)
    source = _randomized(build(resolve("resnet50", "torchvision").genotype), seed)
    keys = torchvision_resnet_keys((3, 4, 6, 3), bottleneck=True)
    assert len(keys) == len(source.state_dict())
    return source, dict(zip(keys, source.state_dict().values()))


def test_torchvision_key_names_select_the_torchvision_variant(tmp_path, capsys):
    source, state = _torchvision_named_resnet50(15)
    loaded = load_network("resnet50", state)
    assert loaded.choice.variant == "torchvision" and loaded.choice.recognised.name == "resnet50"
    assert loaded.target.variant == "torchvision"
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert (source(x) - loaded.network.eval()(x)).abs().max() < 1e-6
    torch.save(state, tmp_path / "tv_resnet50.pth")
    assert main(["resnet50", "--weights", str(tmp_path / "tv_resnet50.pth"), "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["variant"] == "torchvision" and record["weights"]["recognised"] == "resnet50"
    assert record["weights"]["line"].startswith("weights: torchvision/timm resnet50 (keys conv1.weight")


def test_a_variant_the_weights_contradict_is_refused(tmp_path, capsys):
    _, state = _torchvision_named_resnet50(16)
    with pytest.raises(WeightsVariantError, match=r"holds torchvision/timm resnet50 weights, variant torchvision "
                                                  r"of resnet50; variant paper is another network"):
        load_network("resnet50", state, variant="paper")
    assert load_network("resnet50", state, variant="torchvision").choice.variant == "torchvision"
    torch.save(state, tmp_path / "tv_resnet50.pth")
    assert main(["resnet50", "--variant", "paper", "--weights", str(tmp_path / "tv_resnet50.pth")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("rebuild: --weights: the file holds torchvision/timm")


def test_unrecognised_names_load_into_the_variant_asked_for():
    source = _randomized(build(resolve("resnet50", "torchvision").genotype), 17)
    loaded = load_network("resnet50", source.state_dict())  # our own key names say nothing
    assert loaded.choice.recognised is None and loaded.choice.variant == "paper"
    assert load_network("resnet50", source.state_dict(), variant="torchvision").choice.variant == "torchvision"


def _calibrated(network: torch.nn.Module) -> torch.nn.Module:
    """Batch-norm statistics of one random batch, so that eval-mode outputs stay near 1
    (at random initialisation they grow with depth, and a tolerance would mean little)."""
    for module in network.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.reset_running_stats()
            module.momentum = None
    with torch.no_grad():
        network.train()(torch.randn(2, 3, 224, 224, generator=torch.Generator().manual_seed(0)))
    return network.eval()


TORCHVISION_VARIANTS = [("resnet50", {}), ("resnet101", {}),
                        ("googlenet", {"aux_logits": False, "init_weights": True}), ("wide_resnet50_2", {})]


@pytest.mark.parametrize("torchvision_name, kwargs", TORCHVISION_VARIANTS)
def test_torchvision_weights_build_torchvisions_function(torchvision_name, kwargs, tmp_path):
    """The acceptance test: torchvision's state_dict, loaded by name with no variant, gives
    torchvision's outputs (the paper variant would give other outputs from the same tensors)."""
    models = pytest.importorskip("torchvision.models")
    torch.manual_seed(0)
    reference = _calibrated(getattr(models, torchvision_name)(weights=None, **kwargs))
    torch.save(reference.state_dict(), tmp_path / f"{torchvision_name}.pth")
    loaded = load_network(torchvision_name, tmp_path / f"{torchvision_name}.pth")
    assert loaded.choice.variant == "torchvision" and loaded.choice.recognised is not None
    x = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        expected, got = reference(x), loaded.network.eval()(x)
    assert (expected - got).abs().max() < 1e-4
