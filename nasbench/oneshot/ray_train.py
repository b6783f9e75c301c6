"""A one-shot search on Ray: the supernet data-parallel on Ray Train, SPOS' evolution on
Ray Tune (``executor=ray``).

The epochs
    One Ray Train job (``TorchTrainer``, as ``nasbench.train`` runs a full training) of
    ``executor.train_workers`` workers (default: ``max_concurrent_trials``), each with
    ``cpus_per_trial`` CPUs and ``gpus_per_trial`` GPUs; gloo on CPUs, NCCL on GPUs. Every
    worker builds the same search from its recipe and loads the data itself; each takes
    its slice of every global batch (``search.params.batch_size``) and the gradients are
    averaged before every step (``nasbench.oneshot.collective``). Rank 0 closes each
    epoch (ENAS' controller, the derived cell, the validation accuracy), writes the
    checkpoint, the history row and ``best.json`` as a local search does, and hands its
    state to the other ranks.

The last epoch of SPOS
    Its closing phase, the evolution, runs in the driver: rank 0 hands the epoch's steps
    over in ``oneshot_final.pt`` and the Train job ends; the driver loads the checkpoint
    and the hand-over and runs the evolution as a Ray Tune search (the ray executor,
    ``executor.max_concurrent_trials`` trials at once) whose evaluator reads the
    supernet's weights from Ray's object store (``SharedInheritedWeights``). Its
    candidates land in ``RUN_DIR/spos_evolution/epoch-E/history.jsonl`` as they finish.

Resume and failures
    ``resume=`` starts the Train job from the checkpoint (a SIGKILL loses at most the
    epoch it was in); a hand-over left by a killed driver is dropped and its epoch run
    again, and so is that epoch's evolution. Ctrl-C stops the job (the driver's Ray
    session is shut down) and says how to resume. A worker Ray restarts (``executor.max_failures``)
    resumes from the checkpoint too. On a cluster the run directory must be on a file
    system every node shares.

NOTE: ``budget.seconds`` counts the epochs' own time, not the Train job's start (some
seconds on a CPU), and the evolution's budget is the sum of its trials' times, not the
wall time they overlap in.
"""
from __future__ import annotations

import dataclasses
import io
import shutil
import threading
import time
import warnings
from pathlib import Path
from typing import Any

import torch

from nasbench.core.ray_cluster import ensure_ray, worker_room
from nasbench.run.journal import mirrored_store
from nasbench.run.search_loop import SearchOutcome
from nasbench.executors.ray_executor import RayExecutor
from nasbench.oneshot.collective import TorchDistributed
from nasbench.oneshot.loop import EpochSteps, OneShotSearch, say_epoch
from nasbench.oneshot.methods import OneShotError
from nasbench.core.files import atomic_write_bytes
from nasbench.run.store import MemoryStore, RunStore, StateFileError, Store
from nasbench.core.budget import Budget
from nasbench.core.errors import first_line
from nasbench.train.runtime import to_cpu

HANDOFF = "oneshot_final.pt"  # the last epoch's steps, from rank 0 to the driver
HANDOFF_FORMAT = "nasbench.oneshot_final"
EVOLUTION_DIR = "spos_evolution"  # SPOS' evolution on Ray Tune: its own history


def run_on_ray(search: OneShotSearch, budget: Budget, store: Store, progress: bool = False) -> SearchOutcome:
    """Run (or resume) ``search`` on Ray (module docstring); the driver's side."""
    if not isinstance(store, RunStore):
        raise OneShotError("executor=ray: a one-shot search on Ray writes its checkpoint to a run directory; "
                           "give it one")
    if search.recipe is None:
        raise OneShotError("executor=ray: this one-shot search has no recipe to rebuild it on the Ray workers "
                           "(build it with nasbench.oneshot.make_oneshot)")
    handoff = store.run_dir / HANDOFF
    handoff.unlink(missing_ok=True)
    interrupted = False
    try:
        _train(search, budget, store, progress)
        records, _ = search.restore(store)
        if handoff.exists():
            steps, generator, state = _load_handoff(handoff)
            if steps.epoch == len(records):
                search.method.load_state_dict(state)
                _evolve_on_tune(search, store, steps.epoch, progress)
                records.append(search.close_epoch(steps, budget, generator))
                search.save(store, records)
                if progress:
                    say_epoch(records[-1])
            handoff.unlink()
    except KeyboardInterrupt:
        interrupted = True
        records, _ = search.restore(store)
    return search.finish(store, records, interrupted)


def check_workers(search: OneShotSearch, start_ray: bool = False) -> int:
    """The Ray Train workers of ``search``; refuses a global batch they cannot split evenly
    and (``start_ray``: Ray started or joined first) more workers than the cluster holds."""
    config = search.executor.config
    workers = int(config.train_workers or config.max_concurrent_trials)
    if search.method.batch_size % workers:
        raise OneShotError(f"search.params.batch_size: {search.method.batch_size} is not divisible by the "
                           f"{workers} Ray Train workers (executor.train_workers)")
    if start_ray:
        ensure_ray(config.address, config.num_cpus)
        check_room(config, workers)
    return workers


def check_room(config: Any, workers: int) -> None:
    """Refuse, before the job is queued, workers the Ray cluster cannot hold all at once
    (Ray Train would wait for them for ever)."""
    cpus, gpus = float(config.cpus_per_trial), float(config.gpus_per_trial)
    room = worker_room(cpus, gpus)
    if room < workers:
        raise OneShotError(f"executor.train_workers={workers}: the Ray cluster has room for {room} workers of "
                           f"{cpus:g} CPUs{f' and {gpus:g} GPUs' if gpus > 0 else ''} each "
                           f"(executor.cpus_per_trial, gpus_per_trial)")


def _train(search: OneShotSearch, budget: Budget, store: RunStore, progress: bool) -> None:
    """The epochs as one Ray Train job. It runs in a thread of its own, so that Ray Train
    does not take over Ctrl-C: a Ctrl-C here shuts the job down (Ray's workers and
    controller go with this driver's Ray session) and raises ``KeyboardInterrupt``; the
    checkpoint of the last finished epoch is on disk."""
    from ray.train import FailureConfig, RunConfig, ScalingConfig
    from ray.train.torch import TorchConfig, TorchTrainer

    config = search.executor.config
    workers = check_workers(search, start_ray=True)
    use_gpu = float(config.gpus_per_trial) > 0
    resources = {"CPU": float(config.cpus_per_trial), **({"GPU": float(config.gpus_per_trial)} if use_gpu else {})}
    storage = store.run_dir / "ray"
    starts = len([p for p in storage.glob("oneshot-*") if p.is_dir()]) if storage.is_dir() else 0
    del progress  # the workers log each epoch (see _worker)
    payload = {"recipe": search.recipe, "budget": budget, "run_dir": str(store.run_dir), "submitted": time.time(),
               "defer_final": hasattr(search.method, "evolution_runner")}
    trainer = TorchTrainer(
        _worker, train_loop_config=payload,
        scaling_config=ScalingConfig(num_workers=workers, use_gpu=use_gpu, resources_per_worker=resources),
        torch_config=TorchConfig(backend="nccl" if use_gpu else "gloo"),
        run_config=RunConfig(name=f"oneshot-{starts}", storage_path=str(storage),
                             failure_config=FailureConfig(max_failures=int(config.max_failures),
                                                          controller_failure_limit=int(config.max_failures))))
    failure: list[BaseException] = []

    def fit() -> None:
        try:
            trainer.fit()
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread
            failure.append(exc)

    thread = threading.Thread(target=fit, name="nasbench-ray-train", daemon=True)
    thread.start()
    try:
        while thread.is_alive():
            thread.join(0.5)
    except KeyboardInterrupt:
        import ray

        ray.shutdown()  # the job's actors are this driver's: they stop with its session
        raise
    if failure:
        raise OneShotError(f"the Ray Train job of the supernet failed: {first_line(failure[0])}") from failure[0]


def _worker(payload: dict[str, Any]) -> None:
    """One Ray Train worker: the same search, its rank's slice of every batch."""
    import ray.train.torch

    device = ray.train.torch.get_device()
    # The clock starts when the driver submitted the job: Ray Train's start-up counts against budget.seconds.
    search: OneShotSearch = payload["recipe"].build(device=str(device), began=payload["submitted"])
    search.distribute(TorchDistributed(device))
    rank = search.collective.rank
    store: Store = mirrored_store(payload["run_dir"], search.space) if rank == 0 else MemoryStore()
    records = search.share(search.restore(store)[0] if rank == 0 else [])
    seconds_used = sum(r.result.cost_seconds for r in records)
    # No progress print here: Ray copies a worker's stdout more than once; the epoch's log line shows.
    deferred = search.run_epochs(records, seconds_used, payload["budget"], store, progress=False,
                                 defer_final=payload["defer_final"])
    if deferred is not None and rank == 0:
        steps, generator = deferred
        _save_handoff(Path(payload["run_dir"]) / HANDOFF, steps, generator, search.method.state_dict())


def _save_handoff(path: Path, steps: EpochSteps, generator: torch.Generator, state: dict[str, Any]) -> None:
    buffer = io.BytesIO()
    torch.save({"format": HANDOFF_FORMAT, "steps": dataclasses.asdict(steps), "generator": generator.get_state(),
                "state": to_cpu(state)}, buffer)
    atomic_write_bytes(path, buffer.getvalue())


def _load_handoff(path: Path) -> tuple[EpochSteps, torch.Generator, dict[str, Any]]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            data = torch.load(io.BytesIO(path.read_bytes()), map_location="cpu", weights_only=True)
        steps = EpochSteps(**data["steps"])
        generator = torch.Generator()
        generator.set_state(data["generator"])
    except Exception as exc:  # noqa: BLE001 - a damaged file, whatever torch raises
        raise StateFileError(f"{path.name} unreadable ({type(exc).__name__}: {first_line(exc)[:160]})") from None
    if data.get("format") != HANDOFF_FORMAT:
        raise StateFileError(f"{path.name} is not a nasbench one-shot hand-over")
    return steps, generator, data["state"]


def _evolve_on_tune(search: OneShotSearch, store: RunStore, epoch: int, progress: bool) -> None:
    """Give the method (SPOS) an evolution runner that runs on Ray Tune."""
    executor = RayExecutor(dataclasses.replace(search.executor.config, scheduler=None))
    folder = store.run_dir / EVOLUTION_DIR / f"epoch-{epoch}"
    data = search.recipe.data

    def on_tune(evolution: Any, evaluator: Any, budget: Budget) -> SearchOutcome:
        shutil.rmtree(folder, ignore_errors=True)  # the epoch is run again on resume: so is its evolution
        if progress:
            print(f"epoch {epoch}: SPOS evolution, {budget.trials} subnets on the supernet's weights (Ray Tune)",
                  flush=True)
        return executor.run(evolution, evaluator.shared(data), budget, RunStore(folder), progress=progress)

    search.method.evolution_runner = on_tune
