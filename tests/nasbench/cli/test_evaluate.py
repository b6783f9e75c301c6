"""`python -m nasbench.evaluate`: a small ResNet proxy learns digits; bad names exit 2."""
import json
import os
import subprocess
import sys

import pytest

from nasbench.cli.evaluate import main


def test_small_resnet_proxy_learns_digits(capsys):
    assert main(["resnet20_cifar", "--epochs", "8", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["status"] == "ok" and result["val_acc"] > 0.9
    assert result["params"] == 269_434 and len(result["val_curve"]) == 8


def test_published_cell_in_the_small_skeleton(capsys):
    assert main(["darts_v2", "--epochs", "1", "--filters", "8", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "ok"


def test_unknown_network_is_one_line_and_exit_2(capsys):
    assert main(["resnet35"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("evaluate: unknown network 'resnet35'") and "resnet34" in err and "\n" not in err


@pytest.mark.slow  # 20-60 s on 2 cores: python -m pytest -m slow
def test_same_seed_same_metrics_across_processes():
    """Initial weights come from the seed, not from whatever the global RNG holds."""
    command = [sys.executable, "-m", "nasbench.evaluate", "resnet20_cifar", "--epochs", "1", "--json"]
    runs = [subprocess.run(command, capture_output=True, text=True, timeout=300,
                           env={**os.environ, "OMP_NUM_THREADS": "1"}) for _ in range(2)]
    first, second = (json.loads(run.stdout)["val_curve"] for run in runs)
    assert first == second


@pytest.mark.parametrize("name", ["lenet5", "vgg11"])
def test_a_network_too_deep_for_8px_digits_says_to_give_it_larger_images(name, capsys):
    assert main([name, "--epochs", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith(f"evaluate: {name} on digits: the network cannot take 8x8 inputs")
    assert "--resolution 32" in err


def test_lenet5_on_digits_at_32px_trains(capsys):
    assert main(["lenet5", "--epochs", "1", "--resolution", "32", "--json"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["status"] == "ok"
