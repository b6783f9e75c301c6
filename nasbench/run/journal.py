"""The run's Optuna journal: a mirror of ``history.jsonl`` that optuna-dashboard reads.

Every finished candidate of every search (ask/tell strategies local or on Ray, halving and
Hyperband, a one-shot search's epochs) lands in ``history.jsonl`` first; the run store then
adds it to ``RUN_DIR/history.journal`` as one Optuna trial (Akiba et al., "Optuna: A
Next-generation Hyperparameter Optimization Framework", KDD 2019; journal storage):

- the point's choices as parameters (one categorical distribution per decision of the
  space), so the dashboard's parallel-coordinate, slice and importance plots work;
- the objectives as values (``val_acc``, and the costs of a multi-objective search, in the
  order ``search.params.objectives`` gives), so its Pareto-front plot works;
- params, MACs, latency, seconds, test accuracy, the key and the cell's text as user
  attributes, the validation curve as intermediate values;
- the state: complete, failed (any status but ok), pruned (a candidate a scheduler stopped).

The history stays the source of truth: the mirror is rebuilt from it whenever it lags,
is missing or cannot be read, and a mirror that fails to write is given up for the rest of
the process with one warning; it never stops a search.
"""
from __future__ import annotations

import datetime
import json
import logging
import math
import shutil
from pathlib import Path
from typing import Any, Callable, Sequence

import optuna
from omegaconf import OmegaConf
from optuna.distributions import CategoricalDistribution
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend
from optuna.trial import FrozenTrial, TrialState

from nasbench.core.constraints import metric_value
from nasbench.core.errors import first_line
from nasbench.run.store import CONFIG, HistoryRecord, RunStore
from nasbench.strategies.optuna_strategy import quiet_optuna
from search_spaces.formats import FormatError, cell_text
from search_spaces.spaces import SPACES, make_space
from search_spaces.spaces.base import Space

JOURNAL = "history.journal"  # not optuna.journal: that one is an Optuna strategy's own study
DAMAGED = "history.journal.damaged"
MAXIMIZED = ("val_acc", "test_acc")  # every other objective is a cost, minimized
COST_ATTRS = ("params", "macs", "latency_b1_ms", "latency_batch_ms", "train_seconds", "cost_seconds", "test_acc",
              "epochs_run", "peak_memory_bytes")
LOG = logging.getLogger("nasbench.journal")


def study_name(run_dir: Path) -> str:
    """The study a run's journal holds: the run directory's last two parts (``date/time``)."""
    return "/".join(Path(run_dir).resolve().parts[-2:])


def run_objectives(run_dir: Path) -> tuple[str, ...]:
    """The objectives a run's ``config.yaml`` names (``search.params.objectives``), else val_acc."""
    path = Path(run_dir) / CONFIG
    if not path.is_file():
        return ("val_acc",)
    try:
        objectives = OmegaConf.select(OmegaConf.load(path), "search.params.objectives", default=None)
    except Exception:  # noqa: BLE001 - an unreadable config gives the default, the mirror still works
        return ("val_acc",)
    if isinstance(objectives, str):
        return (objectives,)
    names = tuple(str(name) for name in objectives or ())
    return names or ("val_acc",)


def run_space(run_dir: Path) -> Space | None:
    """The registered space a run's ``config.yaml`` names, None if it names none we know."""
    path = Path(run_dir) / CONFIG
    try:
        name = OmegaConf.select(OmegaConf.load(path), "space.name", default=None) if path.is_file() else None
    except Exception:  # noqa: BLE001
        return None
    return make_space(str(name)) if name in SPACES else None


def directions(objectives: Sequence[str]) -> list[str]:
    return ["maximize" if name in MAXIMIZED else "minimize" for name in objectives]


def point_params(space: Space | None, point: Any) -> tuple[dict[str, Any], dict[str, CategoricalDistribution]]:
    """The point's choices, by decision name, with their distributions (none without a space)."""
    if space is None:
        return {}, {}
    try:
        indices = space.encode(point)
    except Exception:  # noqa: BLE001 - a point the space cannot encode keeps its key only
        return {}, {}
    params, distributions = {}, {}
    for decision, index in zip(space.decisions(), indices):
        choices = tuple(choice if isinstance(choice, (str, int, float, bool)) or choice is None else str(choice)
                        for choice in decision.choices)
        params[decision.name] = choices[index]
        distributions[decision.name] = CategoricalDistribution(choices)
    return params, distributions


def point_text(space: Space | None, point: Any) -> str:
    """The cell as the field writes it (DARTS' ``Genotype(...)``, an NB201 string), else JSON."""
    if space is not None:
        try:
            return cell_text(space, point)
        except (FormatError, ValueError, KeyError, TypeError):
            pass
    return point if isinstance(point, str) else json.dumps(point, default=str)


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def trial_of(record: HistoryRecord, space: Space | None, objectives: Sequence[str]) -> FrozenTrial:
    """One history row as an Optuna trial (see the module's docstring)."""
    result = record.result
    params, distributions = point_params(space, record.candidate.point)
    attrs: dict[str, Any] = {"trial": record.candidate.trial, "key": record.candidate.key,
                             "seed": record.candidate.seed, "status": result.status, "device": result.device,
                             "wall_seconds": round(record.finished - record.started, 3),
                             "cell": point_text(space, record.candidate.point)}
    attrs.update({name: getattr(result, name) for name in COST_ATTRS if _finite(getattr(result, name))})
    attrs.update({name: value for name, value in result.hardware.items() if _finite(value)})
    if result.message:
        attrs["message"] = result.message
    for name in ("stopped_by", "val_acc_of", "derived_val_acc", "infeasible"):
        if name in result.settings:
            attrs[name] = result.settings[name]
    curve = {step + 1: float(value) for step, value in enumerate(result.val_curve) if _finite(value)}
    values = [metric_value(result, name) for name in objectives]
    state = TrialState.COMPLETE
    if not result.ok:
        state = TrialState.FAIL
    elif result.settings.get("stopped_by"):
        state = TrialState.PRUNED
    elif not all(_finite(value) for value in values):
        state = TrialState.FAIL
        attrs["message"] = f"no value for {', '.join(n for n, v in zip(objectives, values) if not _finite(v))}"
    trial = optuna.trial.create_trial(
        state=state, values=[float(v) for v in values] if state == TrialState.COMPLETE else None,
        params=params, distributions=distributions, user_attrs=attrs, intermediate_values=curve)
    trial.datetime_start = _datetime(record.started)
    trial.datetime_complete = _datetime(record.finished)
    return trial


def _datetime(stamp: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(stamp)


def open_study(storage: Any, name: str, objectives: Sequence[str]) -> optuna.Study:
    """The study ``name`` in ``storage``, created with the objectives' directions if new
    (quietly: Optuna's log line per study is not news)."""
    with quiet_optuna():
        study = optuna.create_study(storage=storage, study_name=name, directions=directions(objectives),
                                    load_if_exists=True)
        if len(study.directions) == len(objectives) and study.metric_names != list(objectives):
            study.set_metric_names(list(objectives))
    return study


def add_records(study: optuna.Study, records: Sequence[HistoryRecord], space: Space | None,
                objectives: Sequence[str]) -> None:
    """Add ``records`` to ``study`` as trials, in order."""
    study.add_trials([trial_of(record, space, objectives) for record in records])


class JournalMirror:
    """Keeps ``RUN_DIR/history.journal`` equal to the run's history, one trial per row.

    ``history``: reads the run's rows (the store's ``history``). The journal is opened at
    the first ``add`` and brought up to the history then (a resumed or killed run, a
    deleted journal); each later ``add`` appends one trial. ``space`` (settable before the
    first add; default the registered space ``config.yaml`` names) gives the parameters.
    """

    def __init__(self, run_dir: Path, history: Callable[[], list[HistoryRecord]], space: Space | None = None,
                 objectives: Sequence[str] | None = None):
        self.run_dir = Path(run_dir)
        self.history = history
        self.space = space
        self.objectives = tuple(objectives) if objectives else None
        self._study: optuna.Study | None = None
        self._broken = False

    @property
    def path(self) -> Path:
        return self.run_dir / JOURNAL

    def add(self, record: HistoryRecord) -> None:
        """Mirror one new history row; a failure is logged once and ends the mirroring."""
        if self._broken:
            return
        try:
            if self._study is None:
                self.sync()  # the row is in the history already: sync adds it
            else:
                add_records(self._study, [record], self.space, self.objectives or ("val_acc",))
        except Exception as exc:  # noqa: BLE001 - the mirror never stops a search
            self._broken = True
            LOG.warning("the Optuna journal mirror stopped (%s: %s); history.jsonl is complete, and "
                        "`python -m nasbench.dashboard %s` rebuilds the mirror from it",
                        type(exc).__name__, first_line(exc), self.run_dir)

    def sync(self) -> int:
        """Bring the journal up to the history (rebuilt from it when unreadable or ahead);
        the number of trials added."""
        if self.space is None:
            self.space = run_space(self.run_dir)
        if self.objectives is None:
            self.objectives = run_objectives(self.run_dir)
        history = self.history()
        # The run's one writer holds the run lock (nasbench.run.lock): a journal lock file
        # now is one a killed process left, and Optuna would wait 30 s for it.
        (self.run_dir / (JOURNAL + ".lock")).unlink(missing_ok=True)
        try:
            study = self._open()
            trials = study.get_trials(deepcopy=False)
        except Exception:  # noqa: BLE001 - a damaged journal is set aside and rebuilt from the history
            study, trials = None, []
        if study is None or not _mirrors(trials, history) or len(study.directions) != len(self.objectives):
            self._set_aside()
            study, trials = self._open(), []
        known = len(trials)
        add_records(study, history[known:], self.space, self.objectives)
        self._study = study
        return len(history) - known

    def _open(self) -> optuna.Study:
        """The journal's one study (named when it was created: a run directory moved since
        keeps it), or a new one named after the run directory."""
        storage = JournalStorage(JournalFileBackend(str(self.path)))
        names = optuna.get_all_study_names(storage)
        if len(names) > 1:
            raise ValueError(f"{self.path} holds {len(names)} studies, not one run's")
        return open_study(storage, names[0] if names else study_name(self.run_dir), self.objectives or ("val_acc",))

    def _set_aside(self) -> None:
        if self.path.exists():
            shutil.move(str(self.path), str(self.run_dir / DAMAGED))
        lock = self.run_dir / (JOURNAL + ".lock")
        if lock.exists():
            lock.unlink()


def _mirrors(trials: Sequence[FrozenTrial], history: Sequence[HistoryRecord]) -> bool:
    """Whether ``trials`` are the first rows of ``history`` (the last one's trial and key
    agree: a journal of another run, or ahead of its history, is not)."""
    if len(trials) > len(history):
        return False
    if not trials:
        return True
    last, row = trials[-1].user_attrs, history[len(trials) - 1].candidate
    return last.get("trial") == row.trial and last.get("key") == row.key


def mirrored_store(run_dir: str | Path, space: Space | None = None) -> RunStore:
    """The run store of ``run_dir`` with its journal mirror attached."""
    store = RunStore(run_dir)
    store.mirror = JournalMirror(store.run_dir, store.history, space)
    return store
