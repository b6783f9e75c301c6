"""The genotype language: JSON round trip, one-line validation errors, canonical form."""
import json
import time

import pytest
import torch

from search_spaces.blocks import basic_block, bottleneck, branches
from search_spaces.build import BuildError, build_network
from search_spaces.dsl import cell, edge, head, layer, network, node, stage
from search_spaces.genotype import GenotypeError, Limits, NetworkGenotype
from search_spaces.ops import OpError, conv, default_catalog


def tiny_resnet(num_classes: int = 5) -> dict:
    stages = [stage(basic_block(), 1, width=8), stage(basic_block(), 1, width=16, stride=2)]
    return network("tiny", stages, stem=[layer("conv", 8, k=3)], input_size=16, num_classes=num_classes)


def test_json_round_trip_is_identity():
    genotype = NetworkGenotype.from_dict(tiny_resnet())
    again = NetworkGenotype.from_json(genotype.to_json())
    assert again == genotype
    assert again.to_dict() == json.loads(genotype.to_json())


def test_builds_and_runs_with_odd_class_count():
    net = build_network(NetworkGenotype.from_dict(tiny_resnet(num_classes=7)).to_dict()).eval()
    out = net(torch.randn(2, 3, 16, 16))
    assert out.shape == (2, 7) and torch.isfinite(out).all()


@pytest.mark.parametrize("mutate, message", [
    (lambda g: g["stages"][1]["cell"]["nodes"][1]["edges"][0].__setitem__("op", "conv_9x9"),
     "stages[1].cell.nodes[1].edges[0].op: 'conv_9x9' is not an op; known: "),
    (lambda g: g["stages"][0]["cell"]["nodes"][0]["edges"][0].__setitem__("input", 3),
     "stages[0].cell.nodes[0].edges[0].input: 3 is not an earlier state (0..0)"),
    (lambda g: g["stages"][0].__setitem__("repeats", 0), "stages[0].repeats: expected an integer >= 1"),
    (lambda g: g["stages"][0]["cell"]["nodes"][0]["edges"][0]["params"].__setitem__("kernel", 3),
     "stages[0].cell.nodes[0].edges[0].params.kernel: conv takes no such parameter"),
    (lambda g: g["stages"][0]["cell"]["nodes"][1].__setitem__("combine", "max"),
     "stages[0].cell.nodes[1].combine: 'max' is not one of add, concat, mean"),
    (lambda g: g.__setitem__("colour", "red"), "colour: unknown field"),
    (lambda g: g["head"].__setitem__("pool", "median"), "head.pool: 'median' is not one of"),
])
def test_malformed_genotype_names_the_field(mutate, message):
    data = tiny_resnet()
    mutate(data)
    with pytest.raises(GenotypeError) as info:
        NetworkGenotype.from_dict(data)
    assert str(info.value).startswith(message)
    assert "\n" not in str(info.value)


def test_strided_stage_needs_a_reducing_op():
    plain = cell([node(edge("conv", 0, reduce=False))])
    data = network("x", [stage(plain, stride=2, width=4)], input_size=8)
    with pytest.raises(GenotypeError, match=r"stages\[0\].stride: 2, but the cell has no op that reduces"):
        NetworkGenotype.from_dict(data)


def test_paths_with_different_strides_cannot_meet():
    bad = cell([node(edge("conv", 0, reduce=False)), node(edge("conv", 1, reduce=True), edge("conv", 0, reduce=False))])
    with pytest.raises(GenotypeError, match=r"nodes\[1\]: its edges pass through different numbers"):
        NetworkGenotype.from_dict(network("x", [stage(bad, stride=2, width=4)]))


def test_two_spellings_of_one_graph_hash_alike():
    # Same graph: add's operands swapped, nodes listed in another topological order,
    # a default parameter spelt out, and a dead node.
    one = cell([node(edge("conv", 0, k=3)), node(edge("max_pool", 0, k=3)),
                node(edge("conv", 1, k=1), edge("identity", 2))], output=[3])
    two = cell([node(edge("max_pool", 0, k=3, ceil_mode=False)), node(edge("conv", 0, k=3)),
                node(edge("conv", 0, k=5)),
                node(edge("identity", 1), edge("conv", 2, k=1))], output=[4])
    net_one = NetworkGenotype.from_dict(network("a", [stage(one, width=4)]))
    net_two = NetworkGenotype.from_dict(network("b", [stage(two, width=4)]))
    assert net_one != net_two
    assert net_one.key() == net_two.key()
    assert net_one.canonical().stages[0].cell == net_two.canonical().stages[0].cell


def test_different_graphs_hash_differently():
    a = NetworkGenotype.from_dict(network("a", [stage(bottleneck(), width=16)]))
    b = NetworkGenotype.from_dict(network("a", [stage(bottleneck(groups=2), width=16)]))
    assert a.key() != b.key()


def test_catalog_refuses_duplicate_names_and_unknown_params():
    catalog = default_catalog()
    with pytest.raises(OpError, match="already in the catalog"):
        catalog.with_op("conv", conv)
    extended = catalog.with_op("my_conv", conv)
    assert "my_conv" in extended and "my_conv" not in catalog
    with pytest.raises(OpError, match="takes no parameter 'kernel'"):
        catalog.build("conv", 4, 4, 1, {"kernel": 3})


def test_add_of_different_widths_is_a_build_error():
    bad = cell([node(edge("conv", 0, channels=4), edge("conv", 0, channels=6))])
    data = NetworkGenotype.from_dict(network("x", [stage(bad, width=4)])).to_dict()
    with pytest.raises(BuildError, match=r"stages\[0\].cell.nodes\[0\]: add of different channel counts \[4, 6\]"):
        build_network(data)


def test_concat_of_branches_sums_channels():
    module = branches([edge("conv", 0, channels=3, k=1)], [edge("max_pool", 0, k=3), edge("conv", 0, channels=5, k=1)])
    net = build_network(NetworkGenotype.from_dict(network("inc", [stage(module, width=8)], input_size=8)).to_dict())
    assert net.out_channels == 8


def test_aux_heads_run_in_training_only():
    data = tiny_resnet()
    data["aux_heads"] = [{"after_stage": 0, "layers": [layer("conv", 4, k=1)], "head": head("avg")}]
    net = build_network(NetworkGenotype.from_dict(data).to_dict())
    logits, aux = net.train()(torch.randn(2, 3, 16, 16))
    assert logits.shape == (2, 5) and len(aux) == 1 and aux[0].shape == (2, 5)
    assert net.eval()(torch.randn(2, 3, 16, 16)).shape == (2, 5)


@pytest.mark.parametrize("params, message", [
    ({"dilation": 0}, "params.dilation: expected an integer >= 1"),
    ({"order": "conv_conv"}, "params.order: 'conv_conv' must hold exactly one 'conv'"),
    ({"bn_eps": float("nan")}, "params.bn_eps: expected a finite number > 0.0, got nan"),
    ({"act": "sine"}, "params.act: expected one of relu"),
])
def test_op_parameters_are_checked_before_building(params, message):
    data = tiny_resnet()
    data["stages"][0]["cell"]["nodes"][0]["edges"][0]["params"].update(params)
    with pytest.raises(GenotypeError, match=r"^stages\[0\]\.cell\.nodes\[0\]\.edges\[0\]\." + message.replace(".", r"\.")
                       .replace("(", r"\(").replace("[", r"\[")):
        NetworkGenotype.from_dict(data)
    with pytest.raises(OpError):  # the catalog refuses it too, for callers that skip the parser
        default_catalog().build("conv", 4, 4, 1, params)


def test_the_op_count_is_refused_from_the_data_before_building():
    data = tiny_resnet()
    data["stages"][1]["repeats"] = 1_000_000
    with pytest.raises(GenotypeError, match=r"^stages\[1\]\.repeats: 1000000 takes the network past the limit of 10000"):
        NetworkGenotype.from_dict(data)
    with pytest.raises(BuildError, match=r"^stages\[1\]\.repeats: the network passes the limit of 10,000 ops"):
        build_network(data)


def test_the_parameter_limit_is_checked_before_memory_is_given():
    data = NetworkGenotype.from_dict(tiny_resnet()).to_dict()
    with pytest.raises(BuildError, match=r"^stages\[0\]\.cell\.nodes\[1\]\.edges\[0\]: the network passes the limit of 1,000 "):
        build_network(data, max_parameters=1_000)
    data["stages"][1]["width"] = 2**20  # 3x3 convs of 10^13 parameters: counted on the meta device
    start = time.perf_counter()
    with pytest.raises(BuildError, match="the network passes the limit of 10,000,000,000 parameters"):
        build_network(data)
    assert time.perf_counter() - start < 5


def test_the_limits_are_configurable():
    data = tiny_resnet()
    NetworkGenotype.from_dict(data)
    with pytest.raises(GenotypeError, match=r"^stages\[1\]\.repeats: 1 takes the network past the limit of 5 ops"):
        NetworkGenotype.from_dict(data, limits=Limits(max_layers=5))
    with pytest.raises(BuildError, match=r"^stages\[1\]\.repeats: the network passes the limit of 5 ops"):
        build_network(NetworkGenotype.from_dict(data).to_dict(), max_layers=5)
    with pytest.raises(GenotypeError, match="bytes, more than the limit of 10"):
        NetworkGenotype.from_json(json.dumps(data), limits=Limits(max_file_bytes=10))
