"""The proxy throughput benchmark's tiny run: the trainer and the plain loop side by side,
both measured, their ratio reported."""
from __future__ import annotations

import json

import pytest

from benchmarks.proxy_throughput import main


@pytest.mark.parametrize("net", ["resnet", "nasnet_a"])
def test_a_tiny_run_measures_both_loops(net, capsys):
    main(["--net", net, "--steps", "2", "--repeats", "1", "--batch-size", "8", "--width-scale", "0.25",
          "--device", "cpu", "--json"])
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["net"] == net and report["device"] == "cpu" and report["steps"] == 2
    assert report["trainer_images_per_s"] > 0 and report["plain_images_per_s"] > 0
    assert report["ratio"] == pytest.approx(report["trainer_images_per_s"] / report["plain_images_per_s"], rel=1e-3)
