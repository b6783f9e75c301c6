"""``nasbench.networks.resolve``: every kind of name a user types, and each way it can be wrong
(one ``ResolveError``, one line); the zoo's torchvision/timm names and their checks."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from nasbench.networks.resolve import POINT_ORIGINS, ResolveError, SpacesTaken, resolve
from search_spaces.dsl import cell, edge, network, node, stage
from search_spaces.genotype import NetworkGenotype
from search_spaces.published import point
from search_spaces.zoo import ForeignName, ZooEntry, ZooError, zoo
from search_spaces.zoo.registry import make_registry

NB201_POINT = "|nor_conv_3x3~0|+|skip_connect~0|avg_pool_3x3~1|+|none~0|nor_conv_1x1~1|skip_connect~2|"


def _one_line(error: pytest.ExceptionInfo) -> str:
    text = str(error.value)
    assert "\n" not in text
    return text


def _params(genotype: dict) -> int:
    from nasbench.networks.rebuild import measure

    return measure(genotype).params


# --- zoo names -------------------------------------------------------------------------------

def test_a_zoo_name_gives_its_default_variant_and_figures():
    resolved = resolve("resnet50")
    assert (resolved.origin, resolved.name, resolved.variant, resolved.fixed_variant) == ("zoo", "resnet50", "paper",
                                                                                         None)
    assert resolved.genotype == NetworkGenotype.from_dict(zoo()["resnet50"].genotype()).to_dict()
    assert resolved.figures == zoo()["resnet50"].figures_for("paper") and not resolved.is_point
    assert resolve("resnet50", "torchvision").fixed_variant == "torchvision"


@pytest.mark.parametrize("alias, entry, variant, params", [
    ("wide_resnet50_2", "wrn50_2", "torchvision", 68_883_240),
    ("vgg11_bn", "vgg11", "bn", 132_868_840),
    ("torchvision.resnet50", "resnet50", "torchvision", 25_557_032),
    ("timm.resnet18", "resnet18", "paper", 11_689_512),
    ("legacy_seresnet50", "se_resnet50", "paper", 28_088_024),
    ("seresnet50", "se_resnet50", "timm", 28_088_024),
])
def test_torchvision_and_timm_names_fix_entry_and_variant(alias, entry, variant, params):
    resolved = resolve(alias)
    assert (resolved.name, resolved.variant, resolved.fixed_variant) == (entry, variant, variant)
    assert resolved.genotype == NetworkGenotype.from_dict(zoo()[entry].genotype(variant)).to_dict()
    assert _params(dict(resolved.genotype)) == params


def test_the_named_torchvision_and_timm_models_are_all_there():
    names = {foreign.name for entry in zoo().values() for foreign in entry.foreign_names}
    wanted = {"wide_resnet50_2", "wide_resnet101_2", "resnext50_32x4d", "resnext101_32x8d", "inception_v3",
              "googlenet", "alexnet", "legacy_xception", "seresnet50", "legacy_seresnet50", "seresnext50_32x4d",
              *(f"vgg{depth}{bn}" for depth in (11, 13, 16, 19) for bn in ("", "_bn")),
              *(f"resnet{depth}" for depth in (18, 34, 50, 101, 152)),
              *(f"densenet{depth}" for depth in (121, 169, 201))}
    assert wanted <= names


def test_a_variant_that_contradicts_the_name_is_refused():
    with pytest.raises(ResolveError) as error:
        resolve("vgg11_bn", "paper")
    assert _one_line(error) == "vgg11_bn is variant 'bn' of vgg11; variant 'paper' is another network"
    assert resolve("vgg11_bn", "bn").variant == "bn"
    with pytest.raises(ResolveError, match="resnet50 has no variant 'v9'; variants: paper, torchvision"):
        resolve("resnet50", "v9")


def _tiny(name: str = "tiny") -> dict:
    return network(name, [stage(cell([node(edge("conv", 0, k=3))]), width=4)], input_size=8, num_classes=3)


def _entry(name: str, *foreign: ForeignName) -> ZooEntry:
    return ZooEntry(name, "test", "A test (Nobody 2024)", {"a": lambda: _tiny(name), "b": lambda: _tiny(name)},
                    foreign_names=foreign)


@pytest.mark.parametrize("entries, message", [
    ([_entry("x", ForeignName("y_tv", "a", ("torchvision",))), _entry("z", ForeignName("y_tv", "b", ("timm",)))],
     r"alias 'y_tv' is registered twice \(x and z\)"),
    ([_entry("x", ForeignName("z", "a", ("torchvision",))), _entry("z")],
     "x: alias 'z' is the name of another zoo entry"),
    ([_entry("x", ForeignName("x_tv", "c", ("torchvision",)))],
     "x: foreign name 'x_tv' is of variant 'c', which it lacks; variants: a, b"),
    ([_entry("x", ForeignName("x_tv", "a", ("keras",)))], "libraries must be among torchvision, timm"),
    ([_entry("x"), _entry("x")], "zoo name 'x' is registered twice"),
])
def test_the_registry_refuses_clashing_names(entries, message):
    with pytest.raises(ZooError, match=message):
        make_registry(entries)


def test_an_entrys_own_name_may_be_its_torchvision_name():
    registry = make_registry([_entry("x", ForeignName("x", "b", ("torchvision", "timm")))])
    assert "x" not in registry.aliases and registry.find("torchvision.x").variant == "b"
    assert registry.find("x").variant is None


# --- genotype files --------------------------------------------------------------------------

def test_a_genotype_file_exported_from_the_zoo_keeps_its_figures(tmp_path):
    path = tmp_path / "net.json"
    path.write_text(json.dumps(zoo()["resnet50"].genotype("torchvision")))
    resolved = resolve(path)
    assert (resolved.origin, resolved.name, resolved.variant) == ("genotype", "resnet50", "torchvision")
    assert resolved.location == str(path.resolve()) and resolved.figures
    other = tmp_path / "mine.json"
    other.write_text(json.dumps(_tiny("mine")))
    resolved = resolve(other)
    assert (resolved.name, resolved.entry, resolved.figures) == ("mine", None, ())
    assert resolved.network(num_classes=5, input_size=16)["input_size"] == [16, 16]


def test_a_malformed_genotype_names_the_field(tmp_path):
    genotype = _tiny()
    genotype["stages"][0]["cell"]["nodes"][0]["edges"][0]["op"] = "conv_9x9"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(genotype))
    with pytest.raises(ResolveError) as error:
        resolve(path)
    assert "bad.json: stages[0].cell.nodes[0].edges[0].op: 'conv_9x9' is not an op" in _one_line(error)


# --- cells and other points ------------------------------------------------------------------

def test_a_published_cell_builds_with_its_release_concatenation():
    resolved = resolve("nasnet_a")
    assert (resolved.origin, resolved.space, resolved.is_point) == ("published", "nasnet", True)
    assert resolved.point == point("nasnet_a") and resolved.output["normal"] == (0, 2, 3, 4, 5, 6)
    genotype = resolved.network(skeleton={"cells_per_stage": 1, "filters": 8})
    assert genotype["num_classes"] == 10 and genotype["input_size"] == [32, 32]
    assert resolved.to_dict()["output"]["normal"] == [0, 2, 3, 4, 5, 6]


def _run_dir(root: Path, space: str, best: object) -> Path:
    root.mkdir()
    (root / "config.yaml").write_text(f"space:\n  name: {space}\n")
    (root / "best.json").write_text(json.dumps(best))
    return root


def test_a_run_directory_gives_its_best_point(tmp_path):
    run = _run_dir(tmp_path / "run", "darts", {"trial": 3, "point": point("darts_v2")})
    resolved = resolve(run)
    assert (resolved.origin, resolved.name, resolved.space) == ("run", "run", "darts")
    assert resolved.point == point("darts_v2") and resolved.output is None
    genotype = resolved.network(num_classes=7, input_size=16, input_channels=1,
                                skeleton={"cells_per_stage": 1, "filters": 4})
    assert (genotype["num_classes"], genotype["input_size"], genotype["input_channels"]) == (7, [16, 16], 1)


def test_point_files_bare_and_wrapped(tmp_path):
    bare = tmp_path / "bare.json"
    bare.write_text(json.dumps(point("darts_v2")))
    assert (resolve(bare).origin, resolve(bare).space) == ("file", "darts")
    nasnet = tmp_path / "nasnet_a.json"
    nasnet.write_text(json.dumps(point("nasnet_a")))
    assert resolve(nasnet).space == "nasnet" and resolve(nasnet, space="amoeba").space == "amoeba"
    wrapped = tmp_path / "wrapped.json"
    wrapped.write_text(json.dumps({"space": "amoeba", "point": point("nasnet_a")}))
    assert resolve(wrapped).space == "amoeba"
    nb201 = tmp_path / "nb201.json"
    nb201.write_text(json.dumps(NB201_POINT))
    resolved = resolve(nb201)
    assert resolved.space == "nasbench201"
    assert resolved.network(skeleton={"cells_per_stage": 1, "filters": 4})["num_classes"] == 10


# --- errors ----------------------------------------------------------------------------------

def test_an_unknown_name_suggests_close_ones():
    with pytest.raises(ResolveError) as error:
        resolve("wide_resnet50_3")
    assert _one_line(error).startswith("unknown network 'wide_resnet50_3'; did you mean wide_resnet50_2")
    with pytest.raises(ResolveError, match=r"unknown cell 'nasnet-a'; did you mean nasnet_a, enas\? \(published"):
        resolve("nasnet-a", origins=POINT_ORIGINS)
    with pytest.raises(ResolveError, match="not a zoo name or alias, a published cell, a run directory or a JSON file"):
        resolve("qqqqqqqq")


def test_missing_and_broken_files(tmp_path):
    with pytest.raises(ResolveError, match="no such file or directory 'absent.json'"):
        resolve("absent.json")
    broken = tmp_path / "broken.json"
    broken.write_text('{"normal": [\n  1,')
    with pytest.raises(ResolveError) as error:
        resolve(broken)
    assert "broken.json: not valid JSON (line 2, column" in _one_line(error)


def test_run_directories_that_are_not_finished_or_not_runs(tmp_path):
    with pytest.raises(ResolveError, match="no config.yaml; is it a nasbench.search run directory"):
        resolve(tmp_path)
    run = _run_dir(tmp_path / "run", "darts", {"trial": 0})
    with pytest.raises(ResolveError, match="best.json: no 'point' field"):
        resolve(run)
    (run / "best.json").unlink()
    with pytest.raises(ResolveError, match="no best.json; the search has not finished a candidate yet"):
        resolve(run)
    unknown = _run_dir(tmp_path / "unknown", "nasnett", {"point": {}})
    with pytest.raises(ResolveError, match="'nasnett' is not one of .*did you mean nasnet"):
        resolve(unknown)


def test_points_that_fit_no_space_or_not_the_named_one(tmp_path):
    bad = point("nasnet_a")
    bad["reduce"][3][1] = 9
    wrapped = tmp_path / "wrong.json"
    wrapped.write_text(json.dumps({"space": "nasnet", "point": bad}))
    with pytest.raises(ResolveError) as error:
        resolve(wrapped)
    assert "wrong.json: point: nasnet point.reduce[3]: input 9 is not an earlier state (0..4)" in _one_line(error)
    bare = tmp_path / "bare.json"
    bare.write_text(json.dumps(bad))
    with pytest.raises(ResolveError, match=r"bare.json: not a point of any space \(nasnet, .*\); as a nasnet point: "):
        resolve(bare)
    with pytest.raises(ResolveError, match="space darts: wrong.json says its point is of the nasnet space"):
        resolve(wrapped, space="darts")
    with pytest.raises(ResolveError, match="space darts: nasnet_a is a cell of the nasnet space"):
        resolve("nasnet_a", space="darts")


def test_a_caller_restricts_kinds_and_spaces(tmp_path):
    genotype = tmp_path / "net.json"
    genotype.write_text(json.dumps({"stages": [], "head": {}}))
    with pytest.raises(ResolveError, match="net.json: a network genotype, not a cell or a point of a space"):
        resolve(genotype, origins=POINT_ORIGINS)
    with pytest.raises(ResolveError, match="resnet50 is a zoo network, not a cell or a point of a space"):
        resolve("resnet50", origins=POINT_ORIGINS)
    with pytest.raises(ResolveError, match="darts_v2 is a published cell, not a network"):
        resolve("darts_v2", origins=("zoo", "genotype"))
    run = _run_dir(tmp_path / "run", "nasbench201", {"point": "|nor_conv_3x3~0|"})
    cells = SpacesTaken(("nasnet", "amoeba", "darts"), "cell-network skeleton")
    with pytest.raises(ResolveError, match="space 'nasbench201' has no cell-network skeleton; points of nasnet, "):
        resolve(run, spaces=cells)
    with pytest.raises(ResolveError, match="point: NAS-Bench-201 point"):
        resolve(run)


def test_settings_that_do_not_apply():
    with pytest.raises(ResolveError, match="a variant applies to zoo names; darts_v2 is a published cell"):
        resolve("darts_v2", "paper")
    with pytest.raises(ResolveError, match="resnet18: skeleton settings apply to points of a space"):
        resolve("resnet18").network(skeleton={"filters": 8})
    with pytest.raises(ResolveError, match=r"darts_v2: skeleton.width: not a setting"):
        resolve("darts_v2").network(skeleton={"width": 8})
    with pytest.raises(ResolveError, match="darts_v2: a cell network takes a square input, not 32x16"):
        resolve("darts_v2").network(input_size=(32, 16))


# --- cells in the field's formats (search_spaces.formats) ----------------------------------

# DARTS_V2 and DARTS_V1 as the authors' cnn/genotypes.py writes them, SETN as D-X-Y's
# AutoDL-Projects does (nested pairs, its own conv_3x1_1x3).
DARTS_V2_LINE = (
    "DARTS_V2 = Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), "
    "('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], "
    "reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), "
    "('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])")
DARTS_V1_LINE = (
    "DARTS_V1 = Genotype(normal=[('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('skip_connect', 0), ('sep_conv_3x3', 1), "
    "('skip_connect', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('skip_connect', 2)], normal_concat=[2, 3, 4, 5], "
    "reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 0), ('max_pool_3x3', 0), "
    "('skip_connect', 2), ('skip_connect', 2), ('avg_pool_3x3', 0)], reduce_concat=[2, 3, 4, 5])")
SETN_LINE = (
    "SETN = Genotype(normal=[(('skip_connect', 0), ('sep_conv_5x5', 1)), (('sep_conv_5x5', 0), ('sep_conv_3x3', 1)), "
    "(('sep_conv_5x5', 1), ('sep_conv_5x5', 3)), (('max_pool_3x3', 1), ('conv_3x1_1x3', 4))], normal_concat=[2, 3, 4, 5], "
    "reduce=[(('sep_conv_3x3', 0), ('sep_conv_5x5', 1)), (('avg_pool_3x3', 0), ('sep_conv_5x5', 1)), "
    "(('avg_pool_3x3', 0), ('sep_conv_5x5', 1)), (('avg_pool_3x3', 0), ('skip_connect', 1))], "
    "reduce_concat=[2, 3, 4, 5], connectN=None, connects=None)")
NB201_BEST = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"


def _params_without_aux(genotype: dict) -> int:
    import torch

    from search_spaces.build import build_network

    with torch.device("meta"):
        network = build_network(genotype)
    return sum(p.numel() for name, p in network.named_parameters() if not name.startswith("aux_heads."))


def test_a_typed_darts_genotype_is_darts_v2():
    resolved = resolve(DARTS_V2_LINE)
    assert (resolved.origin, resolved.name, resolved.space, resolved.format) == ("text", "DARTS_V2", "darts", "darts")
    assert resolved.point == point("darts_v2") and resolved.output is None and resolved.is_point
    assert resolved.to_dict()["format"] == "darts"
    skeleton = {"aux_head": True, "cells_per_stage": 6, "filters": 36}
    published = resolve("darts_v2").network(skeleton=skeleton)
    assert {**resolved.network(skeleton=skeleton), "name": ""} == {**published, "name": ""}


@pytest.mark.slow
def test_a_typed_darts_v2_has_the_authors_parameter_count():
    # DARTS' model.py NetworkCIFAR(36, 10, 20, auxiliary=True, DARTS_V2), without the
    # auxiliary head as its count_parameters_in_MB counts: 3,349,342.
    genotype = resolve(DARTS_V2_LINE).network(skeleton={"aux_head": True, "cells_per_stage": 6, "filters": 36})
    assert _params_without_aux(genotype) == 3_349_342


def test_a_genotypes_file_is_picked_by_name(tmp_path):
    path = tmp_path / "genotypes.py"
    path.write_text(f"from collections import namedtuple\n{DARTS_V1_LINE}\n{DARTS_V2_LINE}\nDARTS = DARTS_V2\n")
    resolved = resolve(f"{path}:DARTS")
    assert (resolved.origin, resolved.name, resolved.point) == ("file", "DARTS", point("darts_v2"))
    assert resolved.location == f"{path.resolve()}:DARTS"
    assert resolve(f"{path}:DARTS_V1").point["normal"][0] == ["sep_conv_3x3", 1, "sep_conv_3x3", 0]
    with pytest.raises(ResolveError) as error:
        resolve(str(path))
    assert _one_line(error) == (f"{path}: 3 genotypes (DARTS_V1, DARTS_V2, DARTS); pick one by name ({path}:NAME)")
    with pytest.raises(ResolveError, match=r"genotypes.py:V3: no genotype named 'V3'; the text names DARTS_V1"):
        resolve(f"{path}:V3")
    single = tmp_path / "pdarts.txt"
    single.write_text(DARTS_V2_LINE.replace("DARTS_V2 = ", "") + "\n")
    assert resolve(single).name == "pdarts" and resolve(single).format == "darts"


def test_a_darts_json_file_and_an_nb201_string(tmp_path):
    from search_spaces.formats import parse_genotype

    path = tmp_path / "cell.json"
    path.write_text(json.dumps(parse_genotype(DARTS_V2_LINE).to_dict()))
    resolved = resolve(path)
    assert (resolved.origin, resolved.name, resolved.format, resolved.point) == ("file", "cell", "darts",
                                                                                 point("darts_v2"))
    typed = resolve(NB201_BEST)
    assert (typed.origin, typed.space, typed.point, typed.format) == ("text", "nasbench201", NB201_BEST, "nb201")
    in_file = tmp_path / "best.txt"
    in_file.write_text(NB201_BEST + "\n")
    assert resolve(in_file).point == NB201_BEST and resolve(in_file).cell_text() == NB201_BEST


def test_a_cell_of_its_own_ops_is_taken_where_cell_spaces_are():
    from search_spaces.spaces import cell_space_names

    resolved = resolve(SETN_LINE, spaces=SpacesTaken(cell_space_names(), "cell-network skeleton"))
    assert resolved.space == "own_ops" and resolved.own_space is not None
    assert "conv_3x1_1x3" in resolved.to_dict()["ops"]
    network = resolved.network(skeleton={"cells_per_stage": 1, "filters": 8})
    assert network["name"] == "own_ops-cifar"
    with pytest.raises(ResolveError, match="space 'own_ops' has no table"):
        resolve(SETN_LINE, spaces=SpacesTaken(("nasbench201",), "table"))


def test_a_named_space_must_hold_the_cell():
    assert resolve(DARTS_V2_LINE, space="darts").space == "darts"
    with pytest.raises(ResolveError) as error:
        resolve(DARTS_V2_LINE, space="nasnet")
    assert _one_line(error) == "space nasnet: the cell does not fit the nasnet space (its ops, node count or inputs)"
    with pytest.raises(ResolveError, match="space darts: the cell holds a cell of the nasbench201 space"):
        resolve(NB201_BEST, space="darts")


@pytest.mark.parametrize("text, message", [
    ("Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1)", "the cell: not a Python expression: '[' was never "
                                                                   "closed at line 1, column 17"),
    (DARTS_V2_LINE.replace("dil_conv_3x3", "dil_conv_4x4"), "the cell: DARTS genotype: normal, node 3: unknown op "
                                                            "'dil_conv_4x4'; DARTS-family ops: none, skip_connect,"),
    ("|nor_conv_3x3~0|+|nor_conv_3x3~0|", "the cell: NB201 string '|nor_conv_3x3~0|+|nor_conv_3x3~0|': expected 3"),
])
def test_a_bad_cell_is_one_line(text, message):
    with pytest.raises(ResolveError) as error:
        resolve(text)
    assert _one_line(error).startswith(message)


def test_only_cells_have_a_cell_text():
    assert resolve("darts_v2").cell_text().startswith("darts_v2 = Genotype(normal=[('sep_conv_3x3', 0), ")
    assert resolve("enas").cell_text(format="darts").startswith("enas = Genotype(normal=[('avg_pool_3x3', 0), ")
    with pytest.raises(ResolveError, match="resnet18 is a zoo network, not a cell"):
        resolve("resnet18").cell_text()
    with pytest.raises(ResolveError, match="darts_v2: a cell of the darts space has no nb201 form"):
        resolve("darts_v2").cell_text("nb201")


def test_seed_points_come_from_any_spelling_of_a_cell():
    from nasbench.networks.resolve import seed_point

    assert seed_point(DARTS_V2_LINE, "darts") == point("darts_v2") == seed_point(point("darts_v2"), "darts")
    assert seed_point(NB201_BEST, "nasbench201") == NB201_BEST
    with pytest.raises(ResolveError) as error:
        seed_point("nasnet_a", "nasnet")
    assert _one_line(error).startswith("nasnet_a: it concatenates {'normal': (0, 2, 3, 4, 5, 6)")
    with pytest.raises(ResolveError, match="seed point: darts point: expected the keys 'normal' and 'reduce'"):
        seed_point({"normal": []}, "darts")


def test_an_nb201_index_names_its_cell():
    best = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"
    resolved = resolve("6111")
    assert (resolved.space, resolved.point, resolved.name) == ("nasbench201", best, "nb201_6111")
    with pytest.raises(ResolveError, match=r"index '15625' is not in .*\(indices 0\.\.15624\)"):
        resolve("15625")
