"""The report records the network a search evaluated: ``best.json`` holds its space,
skeleton and data inputs, ``best_network.json`` is that network, and ``rebuild`` of the
run or of its ``best.json`` builds the same one."""
from __future__ import annotations

import json
import re

import nasbench
from nasbench.cli.rebuild import main as rebuild_main
from nasbench.networks.resolve import resolve
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


def test_the_summary_says_how_many_epochs_each_row_trained_and_which_rows_it_leaves_out():
    from nasbench.run.report import summary_markdown
    from nasbench.core.result import EvalResult
    from nasbench.run.store import HistoryRecord
    from nasbench.core.candidate import Candidate

    history = [HistoryRecord(Candidate(trial, f"p{trial}", f"k{trial}", 0),
                             EvalResult(status="ok", val_acc=trial / 20, epochs_run=1 + trial % 3), 0.0, 1.0)
               for trial in range(12)]
    summary = summary_markdown(history)
    assert "The 10 best of the 12 finished, by val_acc:" in summary
    assert "| 1 | 11 | `k11` | 0.5500 | 3 |" in summary and "`k1`" not in summary
    assert "best of" not in summary_markdown(history[:10])


def test_a_key_with_pipes_stays_in_its_table_cell():
    """NAS-Bench-201 keys are spelt with ``|``, which would split a Markdown table's row."""
    from nasbench.run.report import summary_markdown
    from nasbench.core.result import EvalResult
    from nasbench.run.store import HistoryRecord
    from nasbench.core.candidate import Candidate

    key = "|nor_conv_3x3~0|+|none~0|skip_connect~1|+|none~0|none~1|avg_pool_3x3~2|"
    summary = summary_markdown([HistoryRecord(Candidate(0, key, key, 0), EvalResult(status="ok", val_acc=0.5),
                                              0.0, 1.0)])
    row = next(line for line in summary.splitlines() if line.startswith("| 1 |"))
    cells = re.split(r"(?<!\\)\|", row)[1:-1]
    assert len(cells) == 9 and cells[2].strip().replace("\\|", "|") == f"`{key}`"
