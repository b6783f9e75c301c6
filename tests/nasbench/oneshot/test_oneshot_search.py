"""search=darts and search=gdas through the search entry point: a run directory like any
search's (history per epoch, best.json, report), the derived cell's inherited weights load
into its standalone network, transfer takes the run, a SIGKILL loses at most an epoch,
and on Ray (executor=ray) the same run directory comes out."""
from __future__ import annotations

import json

import pytest
import torch

from nasbench.core.errors import ConfigError
from nasbench.networks.rebuild import load_network
from nasbench.cli.search import run_from_config
from nasbench.cli.transfer import main as transfer_main
from search_spaces.spaces import make_space
from search_spaces.supernet import Paths, Supernet
from tests.nasbench.oneshot.search_runs import QUICK, composed, history



@pytest.mark.parametrize("method", ["darts", "gdas"])
def test_a_nasbench201_search_leaves_a_run_directory(tmp_path, method):
    outcome = run_from_config(composed(["+space=nasbench201", f"search={method}", "budget.trials=2", *QUICK]),
                              tmp_path)
    rows = history(tmp_path)
    assert [row["trial"] for row in rows] == [0, 1] and len(outcome.history) == 2
    settings = rows[-1]["result"]["settings"]
    assert {"train_acc", "entropy", "skip_connections", "steps", "lr"} <= set(settings)
    assert ("tau" in settings) == (method == "gdas")
    # DARTS scores the supernet with every op mixed, and the derived cell alone beside it
    assert settings["val_acc_of"] == ("supernet" if method == "darts" else "derived cell")
    assert ("derived_val_acc" in settings) == (method == "darts")
    best = json.loads((tmp_path / "best.json").read_text())
    assert best["point"] == rows[-1]["point"] and make_space("nasbench201").contains(best["point"])
    assert best["space"] == "nasbench201" and best["inputs"] == {"num_classes": 10, "input_size": 8,
                                                                  "input_channels": 1}
    for name in ("oneshot.png", "summary.md", "best_network.json", "best_weights.pt", "oneshot_state.pt"):
        assert (tmp_path / name).is_file(), name
    summary = (tmp_path / "summary.md").read_text()
    assert f"answer (`best.json`): trial 1, `{rows[-1]['key']}`" in summary
    assert f"{method} answers with its last epoch's derived cell" in summary
    network = load_network(str(tmp_path / "best_network.json"), tmp_path / "best_weights.pt").network
    assert network(torch.zeros(2, 1, 8, 8)).shape == (2, 10)


@pytest.mark.parametrize("space", ["nasbench201", "darts"])
def test_inherited_weights_load_through_rebuild_and_compute_the_same(tmp_path, space):
    supernet = Supernet(make_space(space), {"cells_per_stage": 1, "filters": 4}, num_classes=5, input_size=8,
                        input_channels=1, seed=3)
    probabilities = {kind: torch.softmax(torch.randn(supernet.arch_shape(kind)), -1) for kind in supernet.kinds}
    point = supernet.derive(probabilities)
    (tmp_path / "net.json").write_text(supernet.subnet_genotype(point).to_json())
    torch.save(supernet.subnet_state_dict(point), tmp_path / "weights.pt")
    network = load_network(str(tmp_path / "net.json"), tmp_path / "weights.pt").network
    images = torch.randn(3, 1, 8, 8)
    supernet.eval(), network.eval()
    assert torch.equal(network(images), supernet(images, Paths(active=supernet.paths_of(point))))


@pytest.mark.slow
def test_transfer_takes_a_darts_run_directory(tmp_path, capsys):
    run_from_config(composed(["+space=darts", "search=darts", "budget.trials=1", *QUICK]), tmp_path / "run")
    assert make_space("darts").contains(json.loads((tmp_path / "run" / "best.json").read_text())["point"])
    assert transfer_main([str(tmp_path / "run"), "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["params"] > 0


def test_a_one_shot_search_with_an_early_stopping_scheduler_is_refused_in_one_line(tmp_path):
    with pytest.raises(ConfigError, match="executor.scheduler=halving stops candidates early; search=darts has none"):
        run_from_config(composed(["+space=nasbench201", "search=darts", "executor.scheduler=halving", *QUICK]),
                        tmp_path)
    assert not (tmp_path / "history.jsonl").exists()


# executor=ray: the supernet trained data-parallel by a Ray Train job of two workers, SPOS'
# evolution as Ray Tune trials on the weights shared through the object store.
RAY = ["executor=ray", "executor.train_workers=2", "executor.max_concurrent_trials=2"]


@pytest.mark.slow  # 25-40 s (Ray Train's two workers, then Tune): python -m pytest -m slow
def test_spos_trains_on_ray_train_and_evolves_on_ray_tune(ray_session, tmp_path):
    outcome = run_from_config(composed(["+space=nasbench201", "search=spos", "budget.trials=2",
                                        "search.params.evolution_samples=4", *RAY, *QUICK]), tmp_path)
    rows = history(tmp_path)
    assert [row["trial"] for row in rows] == [0, 1] and len(outcome.history) == 2
    assert (tmp_path / "ray" / "oneshot-0").is_dir()  # the Train job's files
    assert [row["result"]["settings"]["phase"] for row in rows] == ["training", "evolution"]
    assert rows[0]["result"]["settings"]["steps"] == 3  # 3 global batches of 16, 8 per worker
    evolved = history(tmp_path / "spos_evolution" / "epoch-1")
    assert len(evolved) == 4 and (tmp_path / "spos_evolution" / "epoch-1" / "ray").is_dir()  # Tune trials, recorded
    assert all(row["result"]["settings"]["scored_by"] == "inherited weights" for row in evolved)
    best_score = max(row["result"]["val_acc"] for row in evolved)
    assert rows[-1]["result"]["settings"]["best_recalibrated_acc"] == best_score
    first_best = next(row for row in evolved if row["result"]["val_acc"] == best_score)
    best = json.loads((tmp_path / "best.json").read_text())
    assert best["point"] == rows[-1]["point"] == first_best["point"]
    assert make_space("nasbench201").contains(best["point"]) and not (tmp_path / "oneshot_final.pt").exists()
    assert outcome.answer == "the last derived cell"
    network = load_network(str(tmp_path / "best_network.json"), tmp_path / "best_weights.pt").network
    assert network(torch.zeros(2, 1, 8, 8)).shape == (2, 10)


@pytest.mark.slow
def test_a_darts_search_on_ray_resumed_ends_as_an_uninterrupted_one(ray_session, tmp_path):
    settings = ["+space=nasbench201", "search=darts", *RAY, *QUICK]
    run_from_config(composed([*settings, "budget.trials=2"]), tmp_path / "whole")
    run_from_config(composed([*settings, "budget.trials=1"]), tmp_path / "parts")
    run_from_config(composed([*settings, "budget.trials=2"]), tmp_path / "parts")
    assert (tmp_path / "parts" / "ray" / "oneshot-1").is_dir()  # two Train jobs, the second from the checkpoint
    whole, parts = history(tmp_path / "whole"), history(tmp_path / "parts")
    assert [r["point"] for r in parts] == [r["point"] for r in whole]
    assert [r["result"]["val_acc"] for r in parts] == [r["result"]["val_acc"] for r in whole]


def test_more_ray_train_workers_than_the_cluster_holds_are_refused_in_one_line(ray_session, tmp_path):
    with pytest.raises(ConfigError, match=r"train_workers=4: the Ray cluster has room for 2 workers of 1 CPUs"):
        run_from_config(composed(["+space=nasbench201", "search=darts", "executor=ray", "executor.train_workers=4",
                                  *QUICK]), tmp_path)
    assert not (tmp_path / "config.yaml").exists()


def test_a_batch_the_ray_train_workers_cannot_split_is_refused_before_ray_starts(tmp_path):
    with pytest.raises(ConfigError, match="batch_size: 16 is not divisible by the 3 Ray Train workers"):
        run_from_config(composed(["+space=nasbench201", "search=darts", "executor=ray", "executor.train_workers=3",
                                  *QUICK]), tmp_path)
    assert not (tmp_path / "history.jsonl").exists()


def test_a_one_shot_epoch_shows_its_steps_as_they_run(tmp_path, capsys):
    """One epoch of a supernet on a CPU takes minutes: a step bar with its time left."""
    run_from_config(composed(["+space=nasbench201", "search=darts", "budget.trials=1",
                              "data.train_fraction=0.05", "search.params.batch_size=16", "progress=true"]), tmp_path)
    err = capsys.readouterr().err
    assert "epoch 1/" in err and "/3 [" in err and ("step/s" in err or "s/step" in err)  # steps, rate and time left
