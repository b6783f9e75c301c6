"""Optuna samplers as strategies, through Optuna's ask-and-tell interface.

Akiba et al., "Optuna: A Next-generation Hyperparameter Optimization Framework",
KDD 2019, https://arxiv.org/abs/1907.10902. TPE: Bergstra et al., "Algorithms for
Hyper-Parameter Optimization", NeurIPS 2011. NSGA-II: Deb et al., "A Fast and Elitist
Multiobjective Genetic Algorithm: NSGA-II", IEEE TEC 2002.

Every decision of the space becomes one ``suggest_categorical``; the trial's choices
decode to the point.
"""
from __future__ import annotations

import contextlib
import os
import types
import warnings
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import optuna
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend
from optuna.trial import TrialState

from nasbench.core.result import EvalResult
from nasbench.core.candidate import Candidate, candidate_seed, derive_seed
from nasbench.core.constraints import Constraints, is_infeasible, metric_value
from nasbench.tables.hardware import DEVICE_METRICS
from nasbench.strategies.base import StateLostError, StrategyError, check_state, pop_pending
from search_spaces.spaces.base import Space

NAME = "optuna"
# objective -> Optuna direction; every name but val_acc is an EvalResult cost field.
OBJECTIVES: types.MappingProxyType[str, str] = types.MappingProxyType({
    "val_acc": "maximize",
    "macs": "minimize",
    "params": "minimize",
    "cost_seconds": "minimize",
    "train_seconds": "minimize",
    "latency_b1_ms": "minimize",
    "latency_batch_ms": "minimize",
    **{metric: "minimize" for metric in DEVICE_METRICS},  # HW-NAS-Bench's costs (evaluator.device)
})
# Samplers that take Optuna's constraints_func (c-TPE-style feasibility split in TPE,
# Deb's constrained domination in NSGA-II/III, a feasibility model in GP); the others are
# told an infeasible candidate as a failure (the death penalty).
CONSTRAINED_SAMPLERS: tuple[str, ...] = ("tpe", "nsga2", "nsga3", "gp")
SAMPLERS: tuple[str, ...] = ("tpe", "random", "nsga2", "nsga3", "qmc", "gp")
PRIMITIVES = (str, int, float, bool, type(None))


@contextlib.contextmanager
def quiet_optuna() -> Iterator[None]:
    """Optuna without its INFO lines ("A new study created in Journal ...", one per study
    and sweep job) and its experimental-API warnings: not news to a nasbench user."""
    level = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(max(level, optuna.logging.WARNING))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            yield
    finally:
        optuna.logging.set_verbosity(level)


def make_sampler(name: str, seed: int, options: dict[str, Any] | None = None) -> optuna.samplers.BaseSampler:
    """The Optuna sampler called ``name``, seeded, with extra constructor ``options``."""
    options = dict(options or {})
    builders: dict[str, Callable[..., optuna.samplers.BaseSampler]] = {
        # constant_liar: in-flight trials count as bad, so parallel asks spread out.
        "tpe": lambda: optuna.samplers.TPESampler(seed=seed, **{"constant_liar": True, **options}),
        "random": lambda: optuna.samplers.RandomSampler(seed=seed, **options),
        "nsga2": lambda: optuna.samplers.NSGAIISampler(seed=seed, **options),
        "nsga3": lambda: optuna.samplers.NSGAIIISampler(seed=seed, **options),
        "qmc": lambda: optuna.samplers.QMCSampler(seed=seed, **options),
        "gp": lambda: optuna.samplers.GPSampler(seed=seed, **options),
    }
    if name not in builders:
        raise StrategyError(f"sampler: {name!r} is not one of {', '.join(SAMPLERS)}")
    return builders[name]()


class OptunaStrategy:
    """A strategy backed by an Optuna study (TPE by default; NSGA-II for a Pareto front).

    ``objectives`` are ``EvalResult`` fields: ``val_acc`` is maximized, the costs
    (``macs``, ``params``, ``cost_seconds``, ...) minimized. A failed result is told as
    ``TrialState.FAIL``; a successful one lacking an objective is a configuration error.

    Determinism: before each ask the study gets a fresh sampler seeded from the search
    seed and the trial number (QMC keeps the search seed: its sequence is study-wide),
    so a resumed study proposes what an uninterrupted one would. NOTE: the fresh sampler
    drops Optuna's search-space cache, which costs TPE about twice the time per ask
    (some 50 ms at 100 trials); exact resumption is worth it.

    Storage: the study is never pickled (a state is data, not code). With a path, the
    study is an Optuna journal file (JournalStorage with a JournalFileBackend) that
    persists by itself, and ``state_dict`` carries only the mapping of trials to Optuna
    trial numbers. Journal trials the state does not know (asked after the snapshot by a
    process killed before the next save, or every trial when a fresh strategy opens the
    run's journal because the state file was lost) are handed out again by the next
    asks, in order, so a driver that replays its history sees the same points and the
    journal gets no duplicates; a result for one already finished there is not told
    twice. A trial cut short while its choices were suggested is marked failed and
    sampled again (TPE and NSGA-II learn from complete trials only). With
    ``storage=None`` the study lives in memory: ``state_dict`` carries the log of asks
    and tells, and ``load_state_dict`` replays it into a new study (exact, since every
    ask's sampler is seeded by the trial number).

    A damaged journal never ends a search: a tail torn by a kill mid-write is cut back to
    its last whole line; a journal Optuna cannot read is moved to ``*.damaged`` and a
    fresh one started, and ``load_state_dict`` then raises ``StateLostError`` (as it does
    when the journal lacks trials the state maps), so the driver rebuilds the study by
    replaying the run's history.

    CMA-ES is not offered: Optuna's CmaEsSampler has no categorical support and would
    fall back to random sampling. QMC samples categoricals with its independent random
    sampler too; it is offered for completeness.
    """

    def __init__(
        self,
        space: Space,
        seed: int = 0,
        sampler: str = "tpe",
        objectives: Sequence[str] = ("val_acc",),
        storage: str | Path | None = None,
        study_name: str = "nasbench",
        sampler_options: dict[str, Any] | None = None,
    ) -> None:
        unknown = [name for name in objectives if name not in OBJECTIVES]
        if unknown or not objectives:
            raise StrategyError(f"objectives: {list(objectives)!r} must be names from {', '.join(OBJECTIVES)}")
        self.space = space
        self.seed = seed
        self.sampler_name = sampler
        self.sampler_options = dict(sampler_options or {})
        self.objectives = tuple(objectives)
        self.storage_path = None if storage is None else Path(storage)
        self.study_name = study_name
        self._decisions = list(space.decisions())
        # Optuna stores primitive choices; anything else is suggested by index.
        self._by_index = [not all(isinstance(c, PRIMITIVES) for c in d.choices) for d in self._decisions]
        self.journal_damage: str | None = None  # why a journal was set aside, if one was
        self._constraints = Constraints()
        self._violations: dict[int, list[float]] = {}  # Optuna trial number -> its constraint violations
        self.study = self._create_study()
        self._next_trial = 0
        self._numbers: dict[int, int] = {}  # our trial -> Optuna trial number
        self._pending: dict[int, int] = {}
        self._orphans: list[int] = []  # journal trials not in the state, to hand out again
        self._events: list[list[Any]] | None = [] if self.storage_path is None else None  # in memory: asks, tells
        if self.storage_path is not None:
            self._adopt_journal()

    def _create_study(self) -> optuna.Study:
        if self.storage_path is None:
            return self._open_study(None)
        self.storage_path.parent.mkdir(parents=True, exist_ok=True)
        cut_torn_tail(self.storage_path)
        try:
            return self._open_study(JournalStorage(JournalFileBackend(str(self.storage_path))))
        except (ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:  # Optuna replaying bad lines
            aside = self.storage_path.with_name(self.storage_path.name + ".damaged")
            os.replace(self.storage_path, aside)
            self.journal_damage = (f"{self.storage_path.name} is unreadable ({type(exc).__name__}: "
                                   f"{str(exc).splitlines()[0] if str(exc) else 'no message'}); kept as {aside.name}")
            return self._open_study(JournalStorage(JournalFileBackend(str(self.storage_path))))

    def _open_study(self, storage: JournalStorage | None) -> optuna.Study:
        with quiet_optuna():
            return optuna.create_study(
                storage=storage,
                study_name=self.study_name,
                directions=[OBJECTIVES[name] for name in self.objectives],
                sampler=make_sampler(self.sampler_name, self.seed, self.sampler_options),
                load_if_exists=storage is not None,
            )

    def _suggest(self, trial: optuna.Trial) -> list[int]:
        indices = []
        for decision, by_index in zip(self._decisions, self._by_index):
            if by_index:
                indices.append(trial.suggest_categorical(decision.name, list(range(decision.size))))
            else:
                indices.append(decision.choices.index(trial.suggest_categorical(decision.name, list(decision.choices))))
        return indices

    def _point(self, params: dict[str, Any]) -> Any:
        return self.space.decode(
            [
                params[d.name] if by_index else d.choices.index(params[d.name])
                for d, by_index in zip(self._decisions, self._by_index)
            ]
        )

    def _adopt_journal(self) -> None:
        """Queue the journal's trials that the state does not map (see the class docstring)."""
        known = set(self._numbers.values())
        names = {decision.name for decision in self._decisions}
        self._orphans = []
        for trial in self.study.get_trials(deepcopy=False):
            if trial.number in known:
                continue
            if not names <= set(trial.params):  # killed mid-suggest: not a proposal
                if trial.state == TrialState.RUNNING:
                    self.study.tell(trial.number, state=TrialState.FAIL, skip_if_finished=True)
                continue
            self._orphans.append(trial.number)

    def ask(self) -> Candidate:
        trial = self._next_trial
        if self._orphans:
            number = self._orphans.pop(0)
            point = self._point(self.study.trials[number].params)
        else:
            sampler_seed = self.seed if self.sampler_name == "qmc" else derive_seed(self.seed, NAME, trial)
            options = dict(self.sampler_options)
            if self._constraints and self.sampler_name in CONSTRAINED_SAMPLERS:
                options["constraints_func"] = self._constraint_values
            with warnings.catch_warnings():  # Optuna 5 deprecates constraints_func (removal: v7) for
                # Trial.set_constraint, which needs the live Trial a resumed study no longer has
                warnings.simplefilter("ignore", FutureWarning)
                self.study.sampler = make_sampler(self.sampler_name, sampler_seed, options)
            optuna_trial = self.study.ask()
            number = optuna_trial.number
            point = self.space.decode(self._suggest(optuna_trial))
        self._numbers[trial] = number
        self._pending[trial] = number
        self._next_trial += 1
        if self._events is not None:
            self._events.append(["ask", trial])
        return Candidate(trial=trial, point=point, key=self.space.key(point), seed=candidate_seed(self.seed, trial))

    def use_constraints(self, constraints: Constraints) -> None:
        """Search under ``constraints`` (before the first ask): the search loop writes each
        result's violations into it, and the sampler is given them (``CONSTRAINED_SAMPLERS``)
        or an infeasible result is told as a failure."""
        self._constraints = constraints

    def _constraint_values(self, trial: optuna.trial.FrozenTrial) -> list[float]:
        return self._violations.get(trial.number, [0.0] * len(self._constraints))

    def tell(self, candidate: Candidate, result: EvalResult) -> None:
        number = pop_pending(self._pending, candidate)
        if not result.ok or (is_infeasible(result) and self.sampler_name not in CONSTRAINED_SAMPLERS):
            self._finish(candidate.trial, number, None)
            return
        if self._constraints:
            violations = result.settings.get("violations") or {}
            self._violations[number] = [float(v) for v in violations.values()] or [0.0] * len(self._constraints)
        values = [metric_value(result, name) for name in self.objectives]
        missing = [name for name, value in zip(self.objectives, values) if value is None]
        if missing:
            self._finish(candidate.trial, number, None)
            raise StrategyError(f"result of trial {candidate.trial} has no {', '.join(missing)} to optimize")
        self._finish(candidate.trial, number, [float(value) for value in values])

    def _finish(self, trial: int, number: int, values: list[float] | None) -> None:
        """Tell Optuna trial ``number`` its ``values`` (None: failed)."""
        if values is None:
            self.study.tell(number, state=TrialState.FAIL, skip_if_finished=True)
        else:
            self.study.tell(number, values, skip_if_finished=True)
        if self._events is not None:
            self._events.append(["tell", trial, values])

    def pareto_front(self) -> list[tuple[Any, tuple[float, ...]]]:
        """The non-dominated ``(point, objective values)`` (the best trial for one objective)."""
        if not self.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
            return []
        return [(self._point(t.params), tuple(t.values)) for t in self.study.best_trials]

    def state_dict(self) -> dict[str, Any]:
        state: dict[str, Any] = {
            "strategy": NAME,
            "seed": self.seed,
            "sampler": self.sampler_name,
            "objectives": list(self.objectives),
            "next_trial": self._next_trial,
            "numbers": dict(self._numbers),
            "pending": dict(self._pending),
        }
        if self._events is not None:
            state["events"] = [list(event) for event in self._events]
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        check_state(state, NAME, self.seed)
        for name, mine in (("sampler", self.sampler_name), ("objectives", list(self.objectives))):
            if state[name] != mine:
                raise StrategyError(f"state has {name}={state[name]!r}, this strategy {mine!r}")
        if ("events" in state) != (self.storage_path is None):
            raise StrategyError("state and strategy disagree on storage: one is in memory, the other a journal")
        if self.storage_path is None:
            self._replay(state)
            return
        numbers = {int(t): int(n) for t, n in state["numbers"].items()}
        self.study = self._create_study()
        in_journal = {trial.number for trial in self.study.get_trials(deepcopy=False)}
        lost = sorted(set(numbers.values()) - in_journal)
        if lost:
            reason = self.journal_damage or f"{self.storage_path.name} lacks {len(lost)} of the state's trials"
            raise StateLostError(reason)
        self._next_trial = int(state["next_trial"])
        self._numbers = numbers
        self._pending = {int(t): int(n) for t, n in state["pending"].items()}
        self._adopt_journal()

    def _replay(self, state: dict[str, Any]) -> None:
        """Rebuild an in-memory study from the asks and tells of ``state``."""
        self.study = self._create_study()
        self._next_trial, self._numbers, self._pending, self._orphans, self._events = 0, {}, {}, [], []
        for event in state["events"]:
            if event[0] == "ask":
                self.ask()
            else:
                trial = int(event[1])
                self._finish(trial, self._pending.pop(trial), None if event[2] is None else list(event[2]))
        replayed = (self._next_trial, self._numbers, self._pending)
        saved = (int(state["next_trial"]), {int(t): int(n) for t, n in state["numbers"].items()},
                 {int(t): int(n) for t, n in state["pending"].items()})
        if replayed != saved:
            raise StrategyError("state's log of asks and tells does not replay to its trials")


def cut_torn_tail(path: Path) -> None:
    """Cut a journal back to its last whole line: a process killed while appending leaves
    a partial one, which would corrupt the next line appended after it."""
    if not path.is_file():
        return
    with path.open("rb+") as journal:
        size = journal.seek(0, os.SEEK_END)
        if size == 0:
            return
        journal.seek(size - 1)
        if journal.read(1) == b"\n":
            return
        journal.seek(0)
        data = journal.read()
        journal.truncate(data.rfind(b"\n") + 1)
