"""The Ray Tune executor: one Tune trial per candidate, on a laptop or a cluster.

``executor=ray`` runs a search as a Tune experiment whose search algorithm is the
strategy itself, adapted by ``StrategySearcher`` (``suggest`` asks, ``on_trial_complete``
records and tells); the strategies are not rewritten for Ray, and distribution,
placement, resources, retries and early stopping are Tune's.

Where things run
    The Tune controller, and with it the searcher, runs in the driver process (the one
    that ran ``python -m nasbench.search``): it alone writes the run directory. Each
    trial runs the evaluation (the proxy trainer or a table lookup) in a Tune actor with
    ``executor.cpus_per_trial`` CPUs and ``executor.gpus_per_trial`` GPUs (fractions
    share a GPU), at most ``executor.max_concurrent_trials`` at once. With
    ``reuse_actors`` an actor runs trial after trial, so its evaluator keeps what it has
    loaded (the data set, the table) and no new Python process imports torch per trial.
    Ray is started once per process (``ray.init(num_cpus=...)`` locally, or
    ``ray.init(address=...)`` to join a cluster) and reused, so a Hydra ``-m`` sweep runs
    its searches one after another, each spread over the whole cluster. Tune's own
    experiment files go to ``RUN_DIR/ray/tune-K/`` (K counts the starts of the run).

The run directory (the same as the local driver's, so no other tool knows which ran)
    ``history.jsonl``: one line per finished candidate, in the order results arrived,
    appended (and synced) before the strategy is told. ``strategy_state.pt``: saved after
    every ask and every tell by the search loop's ``SearchRecorder`` (the same as a local
    search: ``{"strategy": state_dict, "told": n, "pending": {trial: Candidate}}``): the strategy has seen exactly the first ``told`` history rows (rows are
    appended in tell order), and ``pending`` holds every candidate it asked and was not
    told. ``best.json`` follows the best result.

Resume (``resume=RUN_DIR`` after the driver was killed, even by SIGKILL)
    Load the state; tell the strategy the history rows after the first ``told`` (each
    must be a pending candidate: a candidate is saved as pending before Tune can start
    it, so every row is); save. The pending candidates left were dispatched but never
    finished, so they are dispatched again, first, before anything new is asked: no
    finished candidate is lost, none is evaluated twice, and the strategy's state is the
    one the uninterrupted run had after the same tells. An ask that was not yet saved
    when the driver died was never dispatched; the strategy, whose randomness derives
    from the trial number, asks the same trial again. Tune's ``Tuner.restore`` is not
    used: ``history.jsonl`` is the source of truth.

Failures
    An evaluation that raises is caught in the trial and recorded as ``status="error"``
    with its reason, as by the local driver; the search goes on. A trial whose worker
    dies (killed, out of memory, a lost node) is restarted from scratch by Tune up to
    ``executor.max_failures`` times (``FailureConfig``), then recorded as an error whose
    message is Tune's last error. Trials have no checkpoints: a restart re-trains.

Multi-fidelity (``executor.scheduler=asha|halving|hyperband``)
    The evaluator reports validation accuracy after every epoch but the last
    (``tune.report`` from the trainer's progress callback); Tune's ASHA (Li et al., "A
    System for Massively Parallel Hyperparameter Tuning", MLSys 2020,
    https://arxiv.org/abs/1810.05934) stops weak trials at rungs of ``min_epochs``,
    ``min_epochs * eta``, ... epochs. ``asha`` and ``halving`` are its one bracket
    (asynchronous successive halving); ``hyperband`` is its asynchronous Hyperband
    (the paper's Sec. 3.3): one bracket for each first rung the local Hyperband starts
    at, each trial put in one of them by Tune. A stopped trial's last report is its
    result: status ``ok``, ``epochs_run`` below ``trainer.epochs``,
    ``settings["stopped_by"]`` the scheduler's name; ``params``, ``macs`` and the
    latencies are measured only by a finished run, so they are None there.

Budget
    ``budget.trials`` counts finished candidates (in flight ones included when deciding
    to ask more); ``budget.seconds`` sums their ``cost_seconds``. Once spent the searcher
    returns ``Searcher.FINISHED``; trials in flight finish and are recorded.

Clusters
    Every node needs this package (``pip install .``) and the data at the same paths
    as the driver. With ``address=ray://...`` (Ray Client) Tune runs the controller on
    the head node, so ``RUN_DIR`` must be a path the head node can write and the caller
    can read (a shared file system); ``address=auto`` from a cluster node has no such
    limit.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

from nasbench.core.constraints import Constraints
from nasbench.core.ray_cluster import ensure_ray
from nasbench.run.search_loop import SearchOutcome, SearchRecorder
from nasbench.evaluators.base import full_run_epochs, takes_keyword
from nasbench.executors.brackets import KINDS, check_rung_settings, rungs_above_min
from nasbench.executors.trial import CANDIDATE_KEY, FINAL_KEY, METRIC, TIME_ATTR, make_trainable
from nasbench.core.result import EvalResult
from nasbench.run.store import HistoryRecord, Store
from nasbench.strategies.base import Strategy
from nasbench.core.budget import Budget
from search_spaces.errors import NasError

SCHEDULERS: tuple[str, ...] = ("asha", *KINDS)  # asha and halving: the same asynchronous halving
EXPERIMENTS = "ray"  # Tune's files, inside the run directory
ASHA_OBJECTIVES: tuple[str, ...] = ("val_acc", "cost_seconds")  # what a per-epoch report measures

Evaluate = Callable[..., EvalResult]


@dataclass
class RayExecutorConfig:
    """``executor=ray`` (``nasbench/conf/executor/ray.yaml`` says what each setting does)."""

    name: str = "ray"
    address: Optional[str] = None
    num_cpus: Optional[int] = None
    cpus_per_trial: float = 1.0
    gpus_per_trial: float = 0.0
    max_concurrent_trials: int = 2
    max_failures: int = 2
    reuse_actors: bool = False
    scheduler: Optional[str] = None
    eta: int = 3
    min_epochs: int = 1
    train_workers: Optional[int] = None  # a one-shot search's Ray Train workers (None: max_concurrent_trials)


class ExecutorError(NasError, ValueError):
    """An executor setting that cannot work (a bad number, ASHA without epochs)."""


def _check(executor: RayExecutorConfig) -> None:
    if int(executor.max_concurrent_trials) < 1:
        raise ExecutorError(f"executor.max_concurrent_trials: {executor.max_concurrent_trials} must be >= 1")
    if not float(executor.cpus_per_trial) > 0:
        raise ExecutorError(f"executor.cpus_per_trial: {executor.cpus_per_trial} must be > 0")
    if float(executor.gpus_per_trial) < 0:
        raise ExecutorError(f"executor.gpus_per_trial: {executor.gpus_per_trial} must be >= 0")
    if int(executor.max_failures) < 0:
        raise ExecutorError(f"executor.max_failures: {executor.max_failures} must be >= 0 (-1 is not allowed: "
                            f"a candidate that always kills its worker would never end the search)")
    if executor.train_workers is not None and (isinstance(executor.train_workers, bool)
                                               or int(executor.train_workers) < 1):
        raise ExecutorError(f"executor.train_workers: {executor.train_workers} must be >= 1 (or null)")
    if executor.scheduler is not None and executor.scheduler not in SCHEDULERS:
        raise ExecutorError(f"executor.scheduler: {executor.scheduler!r} is not null or one of {', '.join(SCHEDULERS)}")
    problem = check_rung_settings(executor.eta, executor.min_epochs)
    if problem:
        raise ExecutorError(problem)


def check_resources(executor: RayExecutorConfig) -> None:
    """Refuse, before any trial is queued, a per-trial request that no node of the Ray
    cluster can meet (Tune would wait for it for ever)."""
    import ray

    nodes = [node.get("Resources", {}) for node in ray.nodes() if node.get("Alive")]
    for resource, wanted in (("CPU", float(executor.cpus_per_trial)), ("GPU", float(executor.gpus_per_trial))):
        if wanted > 0 and not any(node.get(resource, 0.0) >= wanted for node in nodes):
            most = max((node.get(resource, 0.0) for node in nodes), default=0.0)
            raise ExecutorError(f"executor.{resource.lower()}s_per_trial={wanted:g}: no node of the Ray cluster has "
                                f"that many {resource}s (the most on one node: {most:g})")


def _asha_epochs(strategy: Strategy, evaluate: Evaluate, executor: RayExecutorConfig) -> int:
    """The epoch count ASHA stops trials within; refuses what it cannot stop early."""
    name = executor.scheduler
    objectives = tuple(getattr(strategy, "objectives", ("val_acc",)))
    unmeasured = [objective for objective in objectives if objective not in ASHA_OBJECTIVES]
    if unmeasured:
        raise ExecutorError(f"executor.scheduler={name}: a trial stopped early has no {', '.join(unmeasured)} "
                            f"(measured by a finished run only); search objectives must be among "
                            f"{', '.join(ASHA_OBJECTIVES)}")
    if not takes_keyword(evaluate, "progress"):
        raise ExecutorError(f"executor.scheduler={name} stops trials between epochs: it needs an evaluator that "
                            f"reports each epoch (evaluator=proxy)")
    epochs = full_run_epochs(evaluate)
    if executor.min_epochs > epochs:
        raise ExecutorError(f"executor.min_epochs: {executor.min_epochs} is more than the {epochs} epochs of a "
                            f"full run")
    return epochs


def _asha(max_epochs: int, executor: RayExecutorConfig, stopped: set[str]) -> Any:
    """Tune's ASHA for ``executor.scheduler``: one bracket (asha, halving) or, for
    hyperband, one per first rung of the local Hyperband (``brackets.rungs_above_min``)."""
    from ray.tune.schedulers import ASHAScheduler, TrialScheduler

    class RecordingASHA(ASHAScheduler):
        """ASHA that notes which trials it stopped, so that the searcher can tell an
        early stop (a result) from an experiment stopped mid-trial (not one)."""

        def on_trial_result(self, tune_controller: Any, trial: Any, result: dict) -> str:
            decision = super().on_trial_result(tune_controller, trial, result)
            if decision == TrialScheduler.STOP and not result.get(FINAL_KEY, False):
                stopped.add(trial.trial_id)
            return decision

    eta, min_epochs = int(executor.eta), int(executor.min_epochs)
    brackets = rungs_above_min(min_epochs, max_epochs, eta) + 1 if executor.scheduler == "hyperband" else 1
    return RecordingASHA(time_attr=TIME_ATTR, max_t=max_epochs, grace_period=min_epochs, reduction_factor=eta,
                         brackets=brackets)


def _trial_name(trial: Any) -> str:
    return f"candidate_{int(trial.config[CANDIDATE_KEY]['trial']):05d}_{trial.trial_id}"


def _experiment_name(storage: Path) -> str:
    """``tune-K``: one folder per start (or resume) of the run."""
    starts = [p for p in storage.glob("tune-*") if p.is_dir()] if storage.is_dir() else []
    return f"tune-{len(starts)}"


class RayExecutor:
    """Runs a search as a Tune experiment, one trial per candidate (module docstring)."""

    Config = RayExecutorConfig

    def __init__(self, config: RayExecutorConfig | None = None) -> None:
        self.config = config or RayExecutorConfig()
        _check(self.config)

    @classmethod
    def from_config(cls, settings: RayExecutorConfig) -> "RayExecutor":
        return cls(settings)

    def check(self, strategy: Strategy, evaluate: Evaluate) -> None:
        """Refuse a scheduler this strategy's objectives or this evaluator cannot serve
        (``ExecutorError``), before Ray starts."""
        if self.config.scheduler is not None:
            _asha_epochs(strategy, evaluate, self.config)

    def run(self, strategy: Strategy, evaluate: Evaluate, budget: Budget, store: Store, progress: bool = False,
            on_record: Callable[[HistoryRecord], None] | None = None,
            constraints: Constraints | None = None) -> SearchOutcome:
        """Search until the budget is spent, resuming from ``store`` if it holds a run."""
        from ray import tune

        from nasbench.executors.searcher import StrategySearcher, TrialRegistry

        executor = self.config
        run_dir = getattr(store, "run_dir", None)
        if run_dir is None:
            raise ExecutorError("executor=ray keeps Tune's files in the run directory: give it a RunStore")
        report_until: int | None = None
        stopped: set[str] = set()
        scheduler = None
        if executor.scheduler is not None:
            report_until = _asha_epochs(strategy, evaluate, executor)
            scheduler = _asha(report_until, executor, stopped)
        ensure_ray(executor.address, executor.num_cpus)
        check_resources(executor)
        recorder = SearchRecorder(strategy, budget, store, progress, on_record, label="search (ray)",
                                  constraints=constraints)
        registry = TrialRegistry()
        searcher = StrategySearcher(recorder, max_concurrent=int(executor.max_concurrent_trials), registry=registry,
                                    max_failures=int(executor.max_failures), scheduler_stopped=stopped,
                                    max_epochs=report_until, scheduler_name=executor.scheduler)
        resources = {"cpu": float(executor.cpus_per_trial), "gpu": float(executor.gpus_per_trial)}
        storage = Path(run_dir) / EXPERIMENTS
        tuner = tune.Tuner(
            tune.with_resources(make_trainable(evaluate, report_until), resources),
            tune_config=tune.TuneConfig(
                search_alg=searcher, scheduler=scheduler, metric=METRIC, mode="max", num_samples=-1,
                max_concurrent_trials=int(executor.max_concurrent_trials),
                reuse_actors=bool(executor.reuse_actors), trial_name_creator=_trial_name,
                trial_dirname_creator=_trial_name),
            run_config=tune.RunConfig(
                name=_experiment_name(storage), storage_path=str(storage), verbose=0, callbacks=[registry],
                failure_config=tune.FailureConfig(max_failures=int(executor.max_failures))),
        )
        interrupted = False
        try:
            tuner.fit()
        except KeyboardInterrupt:
            interrupted = True
        finally:
            recorder.close()
        if searcher.fatal is not None:
            raise searcher.fatal
        return recorder.outcome(interrupted or not recorder.spent() or bool(recorder.unfinished()))
