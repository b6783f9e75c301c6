"""What the live view costs a search, and what the dashboard pays to read a run, in one run.

The same search (random search over the NAS-Bench-201 cell space, every evaluation a hash
of the key, so that nothing but the driver's own work is timed) runs with the plain run
store and with the store that mirrors each row into ``history.journal``, alternating, and
the per-trial wall times are compared: the mirror's cost per trial is the difference, and
the ratio is mirrored over plain. Then the dashboard's side: reading the whole history into
its in-memory study (``RunView.poll``) and rebuilding the journal from scratch
(``rebuild_mirror``, what ``python -m nasbench.dashboard`` does for a deleted mirror).

Run from the repository root (with the package installed, or ``PYTHONPATH=.``):

    python benchmarks/journal_mirror.py                 # 300 trials, 2 rounds
    python benchmarks/journal_mirror.py --trials 1000 --rounds 3 --json
"""
from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from nasbench.core.budget import Budget
from nasbench.core.candidate import Candidate
from nasbench.core.result import EvalResult
from nasbench.run.journal import JOURNAL, mirrored_store
from nasbench.run.search_loop import run_search
from nasbench.run.store import RunStore
from nasbench.strategies.random_search import RandomSearch
from nasbench.view.runs import RunsView, rebuild_mirror
from search_spaces.spaces.nasbench201 import NasBench201Space


def hashed(candidate: Candidate) -> EvalResult:
    """A score from the key's hash: an evaluation that costs (almost) nothing."""
    score = int(hashlib.sha256(candidate.key.encode()).hexdigest()[:6], 16) / 16**6
    return EvalResult(status="ok", val_acc=score, params=1000, macs=1000, cost_seconds=0.0, seed=candidate.seed,
                      epochs_run=1)


def timed_search(run_dir: Path, trials: int, mirrored: bool) -> float:
    space = NasBench201Space()
    store = mirrored_store(run_dir, space) if mirrored else RunStore(run_dir)
    (run_dir / "config.yaml").write_text("space:\n  name: nasbench201\n")
    started = time.perf_counter()
    outcome = run_search(RandomSearch(space, seed=0), hashed, Budget(trials=trials), store, progress=False)
    seconds = time.perf_counter() - started
    if len(outcome.history) != trials:
        raise RuntimeError(f"the search finished {len(outcome.history)} of {trials} trials")
    return seconds


def measure(trials: int, rounds: int) -> dict[str, Any]:
    plain, mirrored = [], []
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        for round_ in range(rounds):  # alternate, so that drift in the machine hits both alike
            plain.append(timed_search(root / f"plain{round_}", trials, mirrored=False))
            mirrored.append(timed_search(root / f"mirrored{round_}", trials, mirrored=True))
        run = root / "mirrored0"
        started = time.perf_counter()
        view = RunsView([run])
        shown = sum(len(r.poll()) for r in view.runs)
        read = time.perf_counter() - started
        (run / JOURNAL).unlink()
        started = time.perf_counter()
        rebuilt = rebuild_mirror(run)
        rebuild = time.perf_counter() - started
    if shown != trials or rebuilt != trials:
        raise RuntimeError(f"the dashboard read {shown} and rebuilt {rebuilt} of {trials} trials")
    per_plain, per_mirrored = statistics.median(plain) / trials, statistics.median(mirrored) / trials
    return {"trials": trials, "rounds": rounds,
            "plain_ms_per_trial": round(per_plain * 1e3, 3), "mirrored_ms_per_trial": round(per_mirrored * 1e3, 3),
            "mirror_ms_per_trial": round((per_mirrored - per_plain) * 1e3, 3),
            "ratio_mirrored_to_plain": round(per_mirrored / per_plain, 3),
            "dashboard_read_s": round(read, 3), "rebuild_s": round(rebuild, 3)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    args = parser.parse_args(argv)
    if args.trials < 1 or args.rounds < 1:
        print("journal_mirror: --trials and --rounds must be at least 1", file=sys.stderr)
        return 2
    figures = measure(args.trials, args.rounds)
    if args.json:
        print(json.dumps(figures))
    else:
        width = max(map(len, figures))
        for name, value in figures.items():
            print(f"{name:<{width}}  {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
