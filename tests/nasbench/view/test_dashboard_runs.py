"""What the dashboard shows, without a server: the runs the paths name (a folder: every run
under it, and later ones), one study each read from its history as it grows (a torn last
line waits for its end), and each trial's cell drawn only when asked for."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from optuna.artifacts.exceptions import ArtifactNotFound
from optuna.trial import TrialState

import nasbench
from nasbench.view.cells import CellArtifacts
from nasbench.view.runs import RunsError, RunsView, find_runs
from search_spaces.formats import cell_text
from search_spaces.spaces import make_space

TABLE = dict(space="nasbench201", evaluator="nasbench201")


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("runs")
    nasbench.search(**TABLE, strategy="random", trials=4, run_dir=root / "2026-12-07" / "10-00-00")
    nasbench.search(**TABLE, strategy="nsga2", trials=4, run_dir=root / "2026-12-07" / "11-00-00",
                    strategy_params={"objectives": ["val_acc", "macs"]})
    (root / "2026-12-07" / "notes").mkdir()  # not a run: ignored
    return root


def test_a_folder_stands_for_every_run_under_it_and_a_run_for_itself(runs):
    day = runs / "2026-12-07"
    assert find_runs([runs]) == [(day / "10-00-00", "2026-12-07/10-00-00"), (day / "11-00-00", "2026-12-07/11-00-00")]
    assert find_runs([day / "11-00-00", runs]) == [(day / "11-00-00", "2026-12-07/11-00-00"),
                                                   (day / "10-00-00", "2026-12-07/10-00-00")]


@pytest.mark.parametrize("make, message", [
    (lambda root: root / "absent", "absent: no such directory"),
    (lambda root: root / "2026-12-07" / "notes", "notes: holds no run (no history.jsonl or config.yaml in it"),
])
def test_a_path_without_runs_is_named(runs, make, message):
    with pytest.raises(RunsError, match=re.escape(message)):
        RunsView([make(runs)])


def test_each_run_is_a_study_with_its_objectives(runs):
    view = RunsView([runs])
    assert [len(trials) for trials in (run.poll() for run in view.runs)] == [4, 4]
    first, second = (run.study for run in view.runs)
    assert [d.name for d in first.directions] == ["MAXIMIZE"] and second.metric_names == ["val_acc", "macs"]
    assert [d.name for d in second.directions] == ["MAXIMIZE", "MINIMIZE"]
    assert view.poll() == []  # nothing new


def test_a_growing_history_shows_its_new_rows_and_waits_for_a_torn_line(runs, tmp_path):
    source = (runs / "2026-12-07" / "10-00-00" / "history.jsonl").read_text().splitlines(keepends=True)
    run = tmp_path / "live"
    run.mkdir()
    (run / "config.yaml").write_bytes((runs / "2026-12-07" / "10-00-00" / "config.yaml").read_bytes())
    view = RunsView([run])
    assert view.poll() == []
    with open(run / "history.jsonl", "w") as stream:
        stream.write(source[0] + source[1][:20])  # a row, and half of the next
    assert [t.user_attrs["trial"] for _, t in view.poll()] == [0]
    with open(run / "history.jsonl", "a") as stream:
        stream.write(source[1][20:] + source[2])
    assert [t.user_attrs["trial"] for _, t in view.poll()] == [1, 2]
    assert all(t.state == TrialState.COMPLETE for t in view.runs[0].study.trials)


def test_a_run_begun_later_under_a_folder_joins_the_view(runs, tmp_path):
    root = tmp_path / "runs"
    nasbench.search(**TABLE, strategy="random", trials=2, run_dir=root / "a")
    view = RunsView([root])
    nasbench.search(**TABLE, strategy="random", trials=3, run_dir=root / "b")
    assert [run.name for run in view.discover()] == ["b"] and view.discover() == []
    assert sorted(len(trials) for trials in (run.poll() for run in view.runs)) == [2, 3]


def test_a_trials_cell_is_drawn_when_first_read(runs, tmp_path):
    artifacts = CellArtifacts(tmp_path / "cells")
    view = RunsView([runs / "2026-12-07" / "10-00-00"], artifacts)
    (_, trial), *_ = view.poll()
    metas = {json.loads(v)["filename"]: json.loads(v) for k, v in trial.system_attrs.items()
             if k.startswith("artifacts:")}
    assert set(metas) == {"cell.png", "cell.txt"} and metas["cell.png"]["mimetype"] == "image/png"
    assert not any((tmp_path / "cells").iterdir())  # nothing drawn up front
    with artifacts.open_reader(metas["cell.png"]["artifact_id"]) as stream:
        assert stream.read(8) == b"\x89PNG\r\n\x1a\n"
    point = json.loads((runs / "2026-12-07" / "10-00-00" / "history.jsonl").read_text().splitlines()[0])["point"]
    with artifacts.open_reader(metas["cell.txt"]["artifact_id"]) as stream:
        assert stream.read().decode().strip() == cell_text(make_space("nasbench201"), point)
    with pytest.raises(ArtifactNotFound):
        artifacts.open_reader("00000000-0000-0000-0000-000000000000")


def test_without_optuna_dashboard_the_command_says_the_install_line(runs, monkeypatch, capsys):
    import sys

    from nasbench.cli.dashboard import main

    monkeypatch.setitem(sys.modules, "optuna_dashboard", None)  # its import fails, as where it is not installed
    assert main([str(runs)]) == 2
    assert capsys.readouterr().err.strip() == ("dashboard: optuna-dashboard is not installed; "
                                               "install it with: pip install 'nasbench[dashboard]' "
                                               "(from a checkout: pip install '.[dashboard]')")


def test_a_run_this_user_cannot_write_is_shown_unmirrored(runs, monkeypatch):
    from nasbench.view import runs as runs_module

    def refused(run_dir):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(runs_module, "run_lock", refused)
    view = RunsView([runs])
    assert set(view.rebuild_mirrors().values()) == {"journal not checked: Permission denied"}
    assert [len(run.poll()) for run in view.runs] == [4, 4]
