"""The dashboard served: a 20-trial NB201 search seen through optuna-dashboard's HTTP API
and in headless Chromium (20 trials listed, the best value best.json's, a screenshot
saved), a second search seen live while it is written, loopback only unless told, and the
command's one-line errors.

Skipped where optuna-dashboard (``pip install '.[dashboard]'``) or Chromium (Debian's
``chromium``) is absent; ``.ci/run`` installs both. ``NASBENCH_DASHBOARD_SCREENSHOT=PATH``
keeps the screenshot there too (the README's is made so).
"""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

import nasbench
from nasbench.core.result import EvalResult
from nasbench.view.cells import CellArtifacts
from nasbench.view.runs import RunsView
from nasbench.view.server import DashboardServer

pytest.importorskip("optuna_dashboard")
ROOT = Path(__file__).resolve().parents[3]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.read()


def api(server: DashboardServer, path: str) -> dict:
    return json.loads(get(server.url.replace("/dashboard/", "/api/") + path))


def study_id(server: DashboardServer, name: str) -> int:
    return next(s["study_id"] for s in api(server, "studies")["study_summaries"] if s["study_name"] == name)


def until(condition, seconds: float = 30.0):
    """``condition()``'s first truthy value, asked until ``seconds`` pass (the dashboard
    caches a study's trials for 2 s; the poller reads every 0.2 s here)."""
    deadline = time.monotonic() + seconds
    while True:
        value = condition()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


def browser(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                           "--window-size=1400,1000", "--virtual-time-budget=10000", *arguments],
                          capture_output=True, text=True, timeout=120, check=False)


def page_text(url: str) -> str:
    """What the page shows once its scripts have run: the DOM's text."""
    dom = browser("--dump-dom", url).stdout
    dom = re.sub(r"<(style|script)[^>]*>.*?</\1>", " ", dom, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", dom))


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("runs")
    nasbench.search(space="nasbench201", evaluator="nasbench201", strategy="evolution", trials=20,
                    run_dir=root / "first")
    nasbench.search(space="nasbench201", evaluator="nasbench201", strategy="nsga2", trials=16,
                    run_dir=root / "pareto", strategy_params={"objectives": ["val_acc", "params"]})
    return root


@pytest.fixture(scope="module")
def server(runs, tmp_path_factory):
    view = RunsView([runs], CellArtifacts(tmp_path_factory.mktemp("cells")))
    joined: list[str] = []  # the runs the server saw begin while it served
    with DashboardServer(view, interval=0.2, on_new_run=lambda run: joined.append(run.name)) as serving:
        serving.joined = joined
        serving.poll()
        yield serving


def test_the_api_lists_the_runs_20_trials_and_best_jsons_value(server, runs):
    best = json.loads((runs / "first" / "best.json").read_text())["result"]["val_acc"]
    studies = {s["study_name"]: s for s in api(server, "studies")["study_summaries"]}
    assert sorted(studies) == ["first", "pareto"] and studies["first"]["directions"] == ["maximize"]
    detail = api(server, f"studies/{studies['first']['study_id']}")
    assert len(detail["trials"]) == 20 and {t["state"] for t in detail["trials"]} == {"Complete"}
    assert [t["values"] for t in detail["best_trials"]] == [[best]]
    assert {p["name"] for p in detail["trials"][0]["params"]} == {f"edge_{i}_{j}" for j in range(1, 4) for i in range(j)}
    trial = detail["trials"][0]
    drawn = {a["filename"]: a for a in trial["artifacts"]}
    png = get(server.url.replace("/dashboard/", f"/artifacts/{studies['first']['study_id']}/{trial['trial_id']}/"
                                 f"{drawn['cell.png']['artifact_id']}"))
    assert png.startswith(b"\x89PNG\r\n\x1a\n")


def test_a_multi_objective_run_has_its_pareto_front(server, runs):
    detail = api(server, f"studies/{study_id(server, 'pareto')}")
    assert detail["directions"] == ["maximize", "minimize"] and detail["objective_names"] == ["val_acc", "params"]
    rows = [json.loads(line)["result"] for line in (runs / "pareto" / "history.jsonl").read_text().splitlines()]
    points = [(r["val_acc"], r["params"]) for r in rows]
    front = {p for p in points if not any(o[0] >= p[0] and o[1] <= p[1] and o != p for o in points)}
    assert {tuple(t["values"]) for t in detail["best_trials"]} == front
    if CHROMIUM is not None:
        assert "Pareto Front" in page_text(server.url + f"studies/{study_id(server, 'pareto')}")


def test_it_listens_on_loopback_unless_told(server):
    assert server.server.server_address[0] == "127.0.0.1" and server.url.startswith("http://127.0.0.1:")


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium (apt-get install chromium)")
def test_chromium_shows_20_trials_and_the_best_value(server, runs, tmp_path):
    best = json.loads((runs / "first" / "best.json").read_text())
    first = study_id(server, "first")
    trials = page_text(server.url + f"studies/{first}/trials")
    assert "20 Trials" in trials and re.findall(r"Trial (\d+) Complete", trials) == [str(n) for n in range(20)]
    study = page_text(server.url + f"studies/{first}")
    assert f"Best Trial (number={best['trial']}) {best['result']['val_acc']!r}" in study
    screenshot = tmp_path / "dashboard.png"
    browser(f"--screenshot={screenshot}", server.url + f"studies/{first}")
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and screenshot.stat().st_size > 20_000
    keep = os.environ.get("NASBENCH_DASHBOARD_SCREENSHOT")
    if keep:
        shutil.copyfile(screenshot, keep)


def test_a_search_written_while_the_dashboard_runs_shows_its_new_trials(server, runs):
    """The second search's evaluator waits for the test at each candidate, so the run is
    still being written whenever the dashboard is asked."""
    gates = [threading.Event() for _ in range(6)]
    told: list[int] = []

    def evaluate(candidate):
        gates[candidate.trial].wait(60)
        told.append(candidate.trial)
        return EvalResult(status="ok", val_acc=0.5 + candidate.trial / 100, params=100, macs=100)

    search = threading.Thread(target=nasbench.search, kwargs=dict(
        space="nasbench201", strategy="random", evaluator=evaluate, trials=6, run_dir=runs / "second"))
    search.start()
    try:
        second = until(lambda: next((s for s in api(server, "studies")["study_summaries"]
                                     if s["study_name"] == "second"), None))
        assert second is not None and until(lambda: server.joined == ["second"])  # said just after it joins
        for done in (2, 5):
            for gate in gates[:done]:
                gate.set()
            shown = until(lambda done=done: len(api(server, f"studies/{second['study_id']}")["trials"]) == done and done)
            assert shown == done and search.is_alive()  # new trials on reload, the run still going
        if CHROMIUM is not None:
            text = page_text(server.url + f"studies/{second['study_id']}/trials")
            assert "5 Trials" in text
    finally:
        for gate in gates:
            gate.set()
        search.join(60)
    assert until(lambda: len(api(server, f"studies/{second['study_id']}")["trials"]) == 6)


def test_the_command_rebuilds_a_deleted_mirror_serves_and_stops_on_ctrl_c(runs, tmp_path):
    run = tmp_path / "copy"
    shutil.copytree(runs / "first", run)
    (run / "history.journal").unlink()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen([sys.executable, "-m", "nasbench.dashboard", str(run), "--interval", "0.5"],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lines = [process.stdout.readline() for _ in range(2)]
        assert "journal rebuilt, 20 trials added" in lines[0] and (run / "history.journal").exists()
        url = re.search(r"http://127\.0\.0\.1:\d+/dashboard/", lines[1]).group(0)
        assert len(json.loads(get(url.replace("/dashboard/", "/api/studies/0")))["trials"]) == 20
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(30) == 0


def test_the_commands_errors_are_one_line(runs, capsys):
    import socket

    from nasbench.cli.dashboard import main

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        for arguments, message in ((["absent"], "absent: no such directory"),
                                   ([str(runs / "first"), "--port", str(port)],
                                    f"cannot listen on 127.0.0.1:{port} (Address already in use)"),
                                   ([str(runs / "first"), "--port", "70000"], "cannot listen on 127.0.0.1:70000")):
            assert main([str(runs / a) if a == "absent" else a for a in arguments]) == 2
            printed = capsys.readouterr()
            err = printed.err.strip()
            assert message in err and len(err.splitlines()) == 1 and printed.out == "", printed
