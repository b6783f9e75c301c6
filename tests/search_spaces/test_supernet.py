"""The supernet of every cell space: a point's subnet with inherited weights is the
space's own network of that point; the forward modes compute what they say."""
from __future__ import annotations

import math
import random

import pytest
import torch

from search_spaces.build import build_network
from search_spaces.spaces import make_space
from search_spaces.supernet import MixedOp, Paths, Supernet, SupernetError, layout_for

SKELETONS = {"nasbench201": {"cells_per_stage": 1, "filters": 4}, "darts": {"cells_per_stage": 1, "filters": 4},
             "nasnet": {"cells_per_stage": 1, "filters": 4}, "amoeba": {"cells_per_stage": 1, "filters": 4}}


# Every test runs on every space; NASNet's and AmoebaNet's supernets (13 and 8 ops on 20
# edges per cell) take several seconds to build on a busy CPU, so there they are slow tests.
SPACES = [pytest.param(name, marks=[pytest.mark.slow] if name in ("nasnet", "amoeba") else [])
          for name in sorted(SKELETONS)]


@pytest.fixture(scope="module", params=SPACES)
def supernet(request) -> Supernet:
    return Supernet(make_space(request.param), SKELETONS[request.param], num_classes=7, input_size=8,
                    input_channels=1, seed=0)


def _images(seed: int = 0) -> torch.Tensor:
    return torch.randn(4, 1, 8, 8, generator=torch.Generator().manual_seed(seed))


def _probabilities(supernet: Supernet, seed: int = 0) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return {kind: torch.softmax(torch.randn(supernet.arch_shape(kind), generator=generator), -1)
            for kind in supernet.kinds}


@pytest.mark.parametrize("name", SPACES)
def test_a_subnet_with_inherited_weights_is_the_standalone_network(name):
    supernet = Supernet(make_space(name), SKELETONS[name], num_classes=7, input_size=8, input_channels=1, seed=0)
    space = supernet.space
    points = [space.sample(random.Random(0)), supernet.derive(_probabilities(supernet))]
    for point in points:
        standalone = build_network(supernet.subnet_genotype(point).to_dict(), seed=1)
        standalone.load_state_dict(supernet.subnet_state_dict(point))
        images = _images()
        supernet.train(), standalone.train()
        expected = standalone(images)
        assert torch.equal(supernet(images, Paths(active=supernet.paths_of(point))), expected)
        supernet.eval(), standalone.eval()
        assert torch.equal(supernet(images, Paths(active=supernet.paths_of(point))), standalone(images))


def test_the_weighted_sum_skips_zero_ops_and_single_paths_skip_the_rest(supernet):
    calls: dict[int, int] = {}
    hooks = []
    for mixed in (m for m in supernet.modules() if isinstance(m, MixedOp)):
        for index, candidate in enumerate(mixed.candidates):
            def count(module, args, output, index=index):
                calls[index] = calls.get(index, 0) + 1
            hooks.append(candidate.register_forward_hook(count))
    try:
        supernet(_images(), Paths(weights=_probabilities(supernet)))
        zero = [i for i, name in enumerate(supernet.op_names) if name == "none"]
        assert all(calls.get(i, 0) == 0 for i in zero)
        assert sum(calls.values()) > 0
        calls.clear()
        point = supernet.space.sample(random.Random(5))
        paths = supernet.paths_of(point)
        supernet(_images(), Paths(active=paths))
        cells = {kind: sum(len(stage) for stage, k in zip(supernet.network.stages, supernet.stage_kinds) if k == kind)
                 for kind in supernet.kinds}
        assert sum(calls.values()) == sum(cells[kind] * len(ops) for kind in supernet.kinds for ops in paths[kind])
    finally:
        for hook in hooks:
            hook.remove()


def test_a_hard_sample_computes_its_path_and_passes_gradient_to_every_weight(supernet):
    point = supernet.space.sample(random.Random(2))
    active = {kind: [ops[:1] or (0,) for ops in supernet.paths_of(point)[kind]] for kind in supernet.kinds}
    logits = {kind: torch.randn(supernet.arch_shape(kind), requires_grad=True) for kind in supernet.kinds}
    weights = {}
    for kind in supernet.kinds:
        probabilities = torch.softmax(logits[kind], -1)
        one_hot = torch.zeros_like(probabilities)
        one_hot[torch.arange(len(active[kind])), [ops[0] for ops in active[kind]]] = 1.0
        weights[kind] = one_hot - probabilities.detach() + probabilities
    images = _images(3)
    hard = supernet(images, Paths(weights=weights, active=active))
    plain = supernet(images, Paths(active=active))
    assert torch.allclose(hard, plain, atol=1e-5)
    hard.sum().backward()
    assert all(logits[kind].grad is not None and logits[kind].grad.abs().sum() > 0 for kind in supernet.kinds)


def test_entropy_is_log_ops_for_uniform_weights(supernet):
    uniform = {kind: torch.full(supernet.arch_shape(kind), 1 / len(supernet.op_names)) for kind in supernet.kinds}
    assert supernet.entropy(uniform) == pytest.approx(math.log(len(supernet.op_names)), rel=1e-6)


def test_darts_derivation_keeps_the_two_strongest_edges_without_none():
    layout = layout_for(make_space("darts"))
    ops = layout.op_names
    rows = torch.full((len(layout.edges["normal"]), len(ops)), 0.01)
    rows[:, ops.index("none")] = 0.9  # none is strongest everywhere and never chosen
    rows[1, ops.index("sep_conv_3x3")] = 0.5  # node 0: edge from state 1
    rows[0, ops.index("skip_connect")] = 0.4  # node 0: edge from state 0
    rows[2 + 2, ops.index("max_pool_3x3")] = 0.6  # node 1: edge from state 2
    rows[2 + 0, ops.index("dil_conv_3x3")] = 0.3  # node 1: edge from state 0
    point = layout.derive({"normal": rows, "reduce": rows})
    assert point["normal"][0] == ["sep_conv_3x3", 1, "skip_connect", 0]
    assert point["normal"][1] == ["max_pool_3x3", 2, "dil_conv_3x3", 0]
    assert layout.space.contains(point)


def test_nasbench201_derivation_is_the_argmax_of_each_edge():
    supernet = Supernet(make_space("nasbench201"), SKELETONS["nasbench201"], input_size=8, input_channels=1)
    rows = torch.zeros(supernet.arch_shape("cell"))
    for edge, op in enumerate([0, 1, 2, 3, 4, 3]):
        rows[edge, op] = 1.0
    assert supernet.derive({"cell": rows}) == (
        "|none~0|+|skip_connect~0|nor_conv_1x1~1|+|nor_conv_3x3~0|avg_pool_3x3~1|nor_conv_3x3~2|")


def test_misfit_paths_and_spaces_without_cells_are_one_line_errors():
    supernet = Supernet(make_space("nasbench201"), SKELETONS["nasbench201"], input_size=8, input_channels=1)
    with pytest.raises(SupernetError, match=r"weights\[cell\]: expected shape \(6, 5\)"):
        supernet(_images(), Paths(weights={"cell": torch.ones(5, 5)}))
    with pytest.raises(SupernetError, match="give weights, active ops, or both"):
        supernet(_images(), Paths())
    with pytest.raises(SupernetError, match="blocks.*no supernet"):
        Supernet(make_space("blocks"))
