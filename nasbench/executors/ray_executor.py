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
    every ask and every tell, ``{"strategy": state_dict, "told": n, "pending": {trial:
    Candidate}, "executor": "ray"}``, a superset of the local driver's ``{"strategy",
    "told"}``: the strategy has seen exactly the first ``told`` history rows (rows are
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

Multi-fidelity (``executor.scheduler=asha``)
    The evaluator reports validation accuracy after every epoch but the last
    (``tune.report`` from the trainer's progress callback); Tune's ASHA (Li et al., "A
    System for Massively Parallel Hyperparameter Tuning", MLSys 2020,
    https://arxiv.org/abs/1810.05934) stops weak trials at rungs of 1, 3, 9, ... epochs.
    A stopped trial's last report is its result: status ``ok``, ``epochs_run`` below
    ``trainer.epochs``, ``settings["stopped_by"] = "asha"``; ``params``, ``macs`` and the
    latencies are measured only by a finished run, so they are None there.

Budget
    ``budget.trials`` counts finished candidates (in flight ones included when deciding
    to ask more); ``budget.seconds`` sums their ``cost_seconds``. Once spent the searcher
    returns ``Searcher.FINISHED``; trials in flight finish and are recorded.

Clusters
    Every node needs this package (``pip install -e .``) and the data at the same paths
    as the driver. With ``address=ray://...`` (Ray Client) Tune runs the controller on
    the head node, so ``RUN_DIR`` must be a path the head node can write and the caller
    can read (a shared file system); ``address=auto`` from a cluster node has no such
    limit.
"""
from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any, Callable, Mapping

from nasbench.driver import SearchOutcome, _replay
from nasbench.result import EvalResult
from nasbench.run_store import HistoryRecord, RunStore, RunStoreError
from nasbench.strategies.base import Candidate, Strategy
from nasbench.strategies.budget import Budget

SCHEDULERS: tuple[str, ...] = ("asha",)
EXPERIMENTS = "ray"  # Tune's files, inside the run directory
ASHA_REDUCTION_FACTOR = 3
ASHA_GRACE_PERIOD = 1
ASHA_OBJECTIVES: tuple[str, ...] = ("val_acc", "cost_seconds")  # what a per-epoch report measures

Evaluate = Callable[..., EvalResult]


class ExecutorError(ValueError):
    """An executor setting that cannot work (a bad number, ASHA without epochs)."""


def ensure_ray(executor: Mapping[str, Any]) -> None:
    """Start Ray, or join the cluster at ``executor.address``, unless this process has.

    ``num_cpus`` applies only to a Ray started here; a cluster has its own resources.
    """
    import ray

    if ray.is_initialized():
        return
    address = executor.get("address")
    if address:
        ray.init(address=str(address))
        return
    options: dict[str, Any] = {"include_dashboard": False}
    if executor.get("num_cpus") is not None:
        options["num_cpus"] = int(executor["num_cpus"])
    ray.init(**options)


def accepts_progress(evaluate: Evaluate) -> bool:
    """Whether ``evaluate(candidate, progress=...)`` reports per-epoch results."""
    try:
        parameters = inspect.signature(evaluate).parameters
    except (TypeError, ValueError):
        return False
    return "progress" in parameters or any(p.kind is p.VAR_KEYWORD for p in parameters.values())


class ProxyEvaluation:
    """The proxy evaluator as ``evaluate(candidate, progress=None)`` (picklable)."""

    def __init__(self, cfg: Mapping[str, Any], repo_root: Path) -> None:
        from nasbench.evaluators.proxy import ProxyEvaluator

        space = cfg["space"]
        self.proxy = ProxyEvaluator(space["name"], dict(space.get("skeleton", {})), dict(cfg["data"]),
                                    dict(cfg["trainer"]), repo_root)

    def __call__(self, candidate: Candidate, progress: Callable[..., Any] | None = None) -> EvalResult:
        return self.proxy.evaluate(candidate.point, seed=candidate.seed, progress=progress)


def restore_run(strategy: Strategy, store: RunStore) -> tuple[list[HistoryRecord], list[Candidate]]:
    """The history and the candidates to dispatch again, with the strategy brought up to
    date (see the module docstring); a fresh run gives ``([], [])``."""
    store.repair_history()
    history = store.history()
    saved = store.load_state()
    if saved is None:
        if history:
            raise RunStoreError(f"resume: {store.history_path} has {len(history)} rows but there is no strategy state")
        return [], []
    strategy.load_state_dict(saved["strategy"])
    told = int(saved["told"])
    if told > len(history):
        raise RunStoreError(f"resume: the saved state has seen {told} results but history.jsonl holds {len(history)}")
    if saved.get("pending") is None:  # a state written by the local driver: one ask per tell, in order
        _replay(strategy, history, told)
        pending: dict[int, Candidate] = {}
    else:
        pending = dict(saved["pending"])
        for record in history[told:]:
            candidate = pending.pop(record.candidate.trial, None)
            if candidate is None or candidate.key != record.candidate.key:
                raise RunStoreError(f"resume: trial {record.candidate.trial} of history.jsonl ({record.candidate.key}) "
                                    f"is not a candidate the saved strategy state was waiting for")
            strategy.tell(candidate, record.result)
    store.save_state({"strategy": strategy.state_dict(), "told": len(history), "pending": pending, "executor": "ray"})
    return history, sorted(pending.values(), key=lambda c: c.trial)


def _check(executor: Mapping[str, Any]) -> None:
    if int(executor["max_concurrent_trials"]) < 1:
        raise ExecutorError(f"executor.max_concurrent_trials: {executor['max_concurrent_trials']} must be >= 1")
    if not float(executor["cpus_per_trial"]) > 0:
        raise ExecutorError(f"executor.cpus_per_trial: {executor['cpus_per_trial']} must be > 0")
    if float(executor["gpus_per_trial"]) < 0:
        raise ExecutorError(f"executor.gpus_per_trial: {executor['gpus_per_trial']} must be >= 0")
    if int(executor["max_failures"]) < 0:
        raise ExecutorError(f"executor.max_failures: {executor['max_failures']} must be >= 0 (-1 is not allowed: "
                            f"a candidate that always kills its worker would never end the search)")
    scheduler = executor.get("scheduler")
    if scheduler is not None and scheduler not in SCHEDULERS:
        raise ExecutorError(f"executor.scheduler: {scheduler!r} is not null or one of {', '.join(SCHEDULERS)}")


def _asha_evaluation(cfg: Mapping[str, Any], evaluate: Evaluate, repo_root: Path) -> tuple[Evaluate, int]:
    """The per-epoch evaluator and the epoch count for ASHA."""
    objectives = (cfg["search"].get("params") or {}).get("objectives") or ["val_acc"]
    unmeasured = [name for name in objectives if name not in ASHA_OBJECTIVES]
    if unmeasured:
        raise ExecutorError(f"executor.scheduler=asha: a trial stopped early has no {', '.join(unmeasured)} "
                            f"(measured by a finished run only); search objectives must be among "
                            f"{', '.join(ASHA_OBJECTIVES)}")
    if not accepts_progress(evaluate):
        if cfg["evaluator"]["name"] != "proxy":
            raise ExecutorError(f"executor.scheduler=asha stops trials between epochs: it needs evaluator=proxy, "
                                f"not {cfg['evaluator']['name']}")
        evaluate = ProxyEvaluation(cfg, repo_root)
    from nasbench.train.trainer import TrainerConfig

    return evaluate, int(cfg.get("trainer", {}).get("epochs", TrainerConfig.epochs))


def _asha(max_epochs: int, stopped: set[str]) -> Any:
    from ray.tune.schedulers import ASHAScheduler, TrialScheduler

    from nasbench.executors.trial import FINAL_KEY, TIME_ATTR

    class RecordingASHA(ASHAScheduler):
        """ASHA that notes which trials it stopped, so that the searcher can tell an
        early stop (a result) from an experiment stopped mid-trial (not one)."""

        def on_trial_result(self, tune_controller: Any, trial: Any, result: dict) -> str:
            decision = super().on_trial_result(tune_controller, trial, result)
            if decision == TrialScheduler.STOP and not result.get(FINAL_KEY, False):
                stopped.add(trial.trial_id)
            return decision

    return RecordingASHA(time_attr=TIME_ATTR, max_t=max_epochs, grace_period=ASHA_GRACE_PERIOD,
                         reduction_factor=ASHA_REDUCTION_FACTOR)


def _trial_name(trial: Any) -> str:
    from nasbench.executors.trial import CANDIDATE_KEY

    return f"candidate_{int(trial.config[CANDIDATE_KEY]['trial']):05d}_{trial.trial_id}"


def _experiment_name(storage: Path) -> str:
    """``tune-K``: one folder per start (or resume) of the run."""
    starts = [p for p in storage.glob("tune-*") if p.is_dir()] if storage.is_dir() else []
    return f"tune-{len(starts)}"


def run_on_ray(cfg: Mapping[str, Any], strategy: Strategy, evaluate: Evaluate, budget: Budget, store: RunStore,
               repo_root: Path | None = None,
               on_record: Callable[[HistoryRecord], None] | None = None) -> SearchOutcome:
    """Search until the budget is spent with one Tune trial per candidate, resuming from
    ``store`` if it holds a run. ``cfg`` is the plain (resolved) search config."""
    from ray import tune

    from nasbench.executors.searcher import StrategySearcher, TrialRegistry
    from nasbench.executors.trial import METRIC, make_trainable

    executor = cfg["executor"]
    _check(executor)
    repo_root = repo_root if repo_root is not None else Path(__file__).resolve().parents[2]
    report_until: int | None = None
    stopped: set[str] = set()
    scheduler = None
    if executor.get("scheduler") == "asha":
        evaluate, report_until = _asha_evaluation(cfg, evaluate, repo_root)
        scheduler = _asha(report_until, stopped)
    history, requeue = restore_run(strategy, store)
    ensure_ray(executor)
    registry = TrialRegistry()
    searcher = StrategySearcher(
        strategy, budget, store, history, requeue, max_concurrent=int(executor["max_concurrent_trials"]),
        registry=registry, max_failures=int(executor["max_failures"]), scheduler_stopped=stopped,
        max_epochs=report_until, progress=bool(cfg.get("progress", False)), on_record=on_record)
    resources = {"cpu": float(executor["cpus_per_trial"]), "gpu": float(executor["gpus_per_trial"])}
    storage = store.run_dir / EXPERIMENTS
    tuner = tune.Tuner(
        tune.with_resources(make_trainable(evaluate, report_until), resources),
        tune_config=tune.TuneConfig(
            search_alg=searcher, scheduler=scheduler, metric=METRIC, mode="max", num_samples=-1,
            max_concurrent_trials=int(executor["max_concurrent_trials"]),
            reuse_actors=bool(executor["reuse_actors"]), trial_name_creator=_trial_name,
            trial_dirname_creator=_trial_name),
        run_config=tune.RunConfig(
            name=_experiment_name(storage), storage_path=str(storage), verbose=0, callbacks=[registry],
            failure_config=tune.FailureConfig(max_failures=int(executor["max_failures"]))),
    )
    interrupted = False
    try:
        tuner.fit()
    except KeyboardInterrupt:
        interrupted = True
    finally:
        searcher.close()
    if searcher.fatal is not None:
        raise searcher.fatal
    interrupted = interrupted or not searcher.budget_spent() or bool(searcher.unfinished())
    return SearchOutcome(searcher.history, searcher.best, interrupted)
