"""The report records the network a search evaluated: ``best.json`` holds its space,
skeleton and data inputs, ``best_network.json`` is that network, and ``rebuild`` of the
run or of its ``best.json`` builds the same one."""
from __future__ import annotations

import json

import nasbench
from nasbench.rebuild import main as rebuild_main
from nasbench.resolve import resolve
from search_spaces.build import build_network
from search_spaces.genotype import NetworkGenotype


def test_best_network_is_the_evaluated_one_and_rebuild_builds_it(tmp_path, capsys):
    nasbench.search(space="nasbench201", evaluator="nasbench201", strategy="random", trials=3, run_dir=tmp_path,
                    skeleton={"name": "nasbench201", "cells_per_stage": 1, "filters": 8},
                    overrides=["evaluator.dataset=imagenet16"])
    best = json.loads((tmp_path / "best.json").read_text())
    assert best["space"] == "nasbench201" and best["inputs"] == {"num_classes": 120, "input_size": 16,
                                                                 "input_channels": 3}
    network = NetworkGenotype.load(tmp_path / "best_network.json")
    assert network.num_classes == 120 and list(network.input_size) == [16, 16]
    for source in (tmp_path, tmp_path / "best.json"):
        assert NetworkGenotype.from_dict(resolve(str(source)).network()) == network, source
    assert rebuild_main([str(tmp_path / "best.json"), "--json"]) == 0
    rebuilt = json.loads(capsys.readouterr().out)
    assert rebuilt["params"] == sum(p.numel() for p in build_network(network.to_dict()).parameters())
