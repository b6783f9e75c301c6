"""The wheel carries the configs and the NAS-Bench-201 table, and an installed copy runs
a search from an empty directory, outside the checkout."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q",
                            "-w", str(out), str(REPO)], capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stderr[-2000:]
    return next(out.glob("nasbench-*.whl"))


def test_wheel_holds_configs_table_and_commands(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for group in ("space", "search", "evaluator", "data", "trainer", "executor"):
        assert any(n.startswith(f"nasbench/conf/{group}/") and n.endswith(".yaml") for n in names), group
    assert "nasbench/conf/config.yaml" in names and "nasbench/tables/data/nb201.csv.gz" in names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    for command in ("nasbench-search", "nasbench-rebuild", "nasbench-evaluate", "nasbench-transfer",
                    "nasbench-train", "nasbench-finetune"):
        assert command in text, command


def test_installed_copy_searches_from_an_empty_directory(wheel, tmp_path):
    """The wheel unpacked into its own folder (dependencies from this environment), run
    from an empty directory with the checkout nowhere on the path."""
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)],
                   check=True, capture_output=True, timeout=300)
    work = tmp_path / "empty"
    work.mkdir()
    env = {**os.environ, "PYTHONPATH": str(target), "PYTHONSAFEPATH": "1"}
    where = subprocess.run([sys.executable, "-c", "import nasbench; print(nasbench.__file__)"], cwd=work, env=env,
                           capture_output=True, text=True, timeout=120)
    assert where.stdout.strip().startswith(str(target)), where.stdout + where.stderr
    search = subprocess.run([sys.executable, "-m", "nasbench.search", "+space=nasbench201", "evaluator=nasbench201",
                             "budget.trials=5", "progress=false"], cwd=work, env=env, capture_output=True, text=True,
                            timeout=300)
    assert search.returncode == 0, search.stderr[-2000:]
    runs = list((work / "runs").glob("*/*/history.jsonl"))
    assert len(runs) == 1 and len(runs[0].read_text().splitlines()) == 5
    assert json.loads((runs[0].parent / "best.json").read_text())["result"]["test_acc"] > 0
