"""`python -m nasbench.dashboard RUN_DIR [RUN_DIR ...]`: watch searches in the browser.

Serves optuna-dashboard (``pip install 'nasbench[dashboard]'``) on 127.0.0.1 at a free
port and prints its URL. Each run is one study, so several runs sit side by side; a folder
that is not a run (``runs/``) stands for every run under it. A run still being written
shows its new trials on reload. Each trial's parameters are the point's choices, its values
the run's objectives (a multi-objective run shows its Pareto front), a candidate a
scheduler stopped is pruned, and its cell's drawing and text are its artifacts.

Before serving, each idle run's Optuna journal mirror (``RUN_DIR/history.journal``, which
plain ``optuna-dashboard`` and Optuna read) is brought up to its ``history.jsonl``, and
rebuilt from it if deleted or damaged. Ctrl-C stops. Exit code 2 for usage errors.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import threading
from typing import Sequence

from nasbench.cli.command import run_command
from nasbench.view.cells import CellArtifacts
from nasbench.view.runs import RunsView
from nasbench.view.server import LOOPBACK, DashboardServer, dashboard_app

PROG = "dashboard"  # as every command's errors are prefixed (search:, rebuild:, ...)


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m nasbench.dashboard", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", metavar="RUN_DIR", help="a run directory, or a folder of runs (runs/)")
    parser.add_argument("--host", default=LOOPBACK,
                        help="address to listen on (default 127.0.0.1: this machine only)")
    parser.add_argument("--port", type=int, default=0, help="port (default 0: a free one)")
    parser.add_argument("--interval", type=float, default=2.0, help="seconds between reads of the runs' histories")
    return parser


def main(argv: Sequence[str] | None = None, stop: threading.Event | None = None) -> int:
    """The command; ``stop`` (for tests) ends serving as Ctrl-C does."""
    args = make_parser().parse_args(argv)
    if args.interval <= 0:
        make_parser().error(f"--interval must be positive, not {args.interval}")
    return run_command(PROG, lambda: _serve(args, stop or threading.Event()))


def _serve(args: argparse.Namespace, stop: threading.Event) -> int:
    with tempfile.TemporaryDirectory(prefix="nasbench-cells-") as drawings:
        view = RunsView(args.runs, CellArtifacts(drawings))
        dashboard_app(view)  # optuna-dashboard missing: the install line, before any work
        server = DashboardServer(view, args.host, args.port, args.interval,  # a port taken: one line, now
                                 on_new_run=lambda run: print(f"new run: {run.name}: {run.run_dir}", flush=True))
        for run, added in zip(view.runs, view.rebuild_mirrors().values()):
            mirror = added if isinstance(added, str) else \
                f"journal {'up to date' if added == 0 else f'rebuilt, {added} trials added'}"
            print(f"{run.name}: {run.run_dir} ({mirror})", flush=True)
        trials = server.poll()
        with server:
            print(f"{len(view.runs)} run(s), {trials} trial(s); dashboard at {server.url} (Ctrl-C stops)", flush=True)
            if args.host != LOOPBACK:
                print(f"warning: listening on {args.host}: whoever can reach this machine can see these runs",
                      file=sys.stderr, flush=True)
            try:
                stop.wait()
            except KeyboardInterrupt:
                pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
