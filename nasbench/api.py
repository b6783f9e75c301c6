"""The Python API: the command line's twin (``import nasbench``).

``nasbench.search(...)`` runs the search ``python -m nasbench.search`` runs, from the
same configs, into the same run directory (resumable, with the same report);
``nasbench.rebuild(...)`` (``nasbench.networks.rebuild.rebuild``) returns the
``nn.Module`` ``python -m nasbench.rebuild`` describes. Names are looked up in the
registries; objects are accepted where names are (a ``Space``, a ``Strategy``, an
evaluator callable, an executor), as Optuna accepts a sampler instance.

The API layer sits below the commands (``nasbench.cli``) and above the config edge
(``nasbench.config``); ``run_config`` is the one path from a validated config to a
finished run directory, which the command line takes too.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

from hydra.errors import HydraException
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from nasbench.config.compose import compose_overrides
from nasbench.config.parts import SearchParts, make_parts
from nasbench.config.schema import ConfigSchemaError, check_overrides, validate
from nasbench.core.errors import ConfigError, run_directory_error
from nasbench.networks.rebuild import rebuild
from nasbench.oneshot import OneShotSearch, run_oneshot
from nasbench.run.journal import mirrored_store
from nasbench.run.lock import run_lock
from nasbench.run.search_loop import SearchOutcome
from nasbench.run.report import write_report
from nasbench.run.store import CONFIG, MemoryStore, RunStore, Store
from search_spaces.spaces.base import Space

__all__ = ["compose_config", "rebuild", "run_config", "search"]


def compose_config(overrides: Sequence[str] = ()) -> DictConfig:
    """The search config the command line would compose from ``overrides``
    (``["+space=nasnet", "search=tpe"]``), not yet validated."""
    problem = check_overrides(overrides)
    if problem:
        raise ConfigError(problem)
    try:
        return compose_overrides(overrides)
    except (HydraException, OmegaConfBaseException) as exc:
        raise ConfigError(str(exc).strip().splitlines()[0].rstrip(".")) from None


def _object_name(part: Any) -> str:
    return str(getattr(part, "name", None) or type(part).__name__)


def search(space: str | Space = "nasnet", *, strategy: Any = "evolution", evaluator: Any = "proxy",
           executor: Any = "local", data: str | None = None, trials: int | None = None,
           seconds: float | None = None, seed: int = 0, run_dir: str | Path | None = None,
           strategy_params: Mapping[str, Any] | None = None, skeleton: Mapping[str, Any] | None = None,
           overrides: Sequence[str] = (), progress: bool = False) -> SearchOutcome:
    """Search ``space`` with ``strategy``, scoring candidates with ``evaluator``.

    Each part is a registry name (``"nasbench201"``, ``"tpe"``, ``"proxy"``, ``"ray"``) or
    an object. ``trials``/``seconds``: the budget (the config's default when both are
    None). ``run_dir``: the run directory (resumed if it holds a run); ``None`` keeps
    everything in memory. ``strategy_params``, ``skeleton``: the ``search.params`` and
    ``space.skeleton`` settings; ``overrides``: any other config overrides, as on the
    command line (``"trainer.epochs=2"``). Returns the ``SearchOutcome`` (``.best``,
    ``.history``).
    """
    for argument, given in (("strategy_params", strategy_params), ("skeleton", skeleton)):
        if given is not None and not isinstance(given, Mapping):
            raise ConfigError(f"{argument}: a mapping of settings (a dict), not a {type(given).__name__}")
    overrides = [overrides] if isinstance(overrides, str) else list(overrides)  # one override as a string
    names = [f"+space={space}"] if isinstance(space, str) else []
    for group, part in (("search", strategy), ("evaluator", evaluator), ("executor", executor), ("data", data)):
        if isinstance(part, str):
            names.append(f"{group}={part}")
    cfg = compose_config([*names, *overrides])
    OmegaConf.set_struct(cfg, False)
    if not isinstance(space, str):
        cfg.space = {"name": space.name, "skeleton": {}}
    if skeleton is not None:
        cfg.space.skeleton = dict(skeleton)
    if strategy_params is not None:
        cfg.search.params = dict(strategy_params)
    if trials is not None or seconds is not None:
        cfg.budget = {"trials": trials, "seconds": seconds}
    cfg.seed = seed
    cfg.progress = progress
    try:
        cfg = validate(cfg)
    except ConfigSchemaError as exc:
        raise ConfigError(str(exc)) from None
    objects = {"space": None if isinstance(space, str) else space,
               "strategy": None if isinstance(strategy, str) else strategy,
               "evaluator": None if isinstance(evaluator, str) else evaluator,
               "executor": None if isinstance(executor, str) else executor}
    try:
        return run_config(cfg, None if run_dir is None else Path(run_dir), objects)
    except OSError as exc:
        raise run_directory_error(exc, Path(str(run_dir))) from None


def run_config(cfg: DictConfig, run_dir: Path | None, objects: Mapping[str, Any] | None = None) -> SearchOutcome:
    """Run (or resume) the search a validated ``cfg`` describes in ``run_dir`` (None: in
    memory), with ``objects`` (``space``, ``strategy``, ``evaluator``, ``executor``) in
    place of the parts their config groups name. The run directory is locked from its
    first file on; a run there with other settings is refused; ``config.yaml`` records
    the config before the first candidate runs."""
    objects = dict(objects or {})
    progress = bool(cfg.get("progress", False))
    if run_dir is None:
        return run_parts(make_parts(cfg, None, **objects), MemoryStore(), progress=progress)
    store = mirrored_store(run_dir)
    with run_lock(store.run_dir):  # one writer per run directory, from the first file it writes
        recorded = _recorded(cfg, objects)
        check_same_run(store, recorded)
        parts = make_parts(cfg, store.run_dir, **objects)
        store.write_text(CONFIG, OmegaConf.to_yaml(recorded))
        store.mirror.space = parts.space  # the journal's parameters: the point's choices
        return run_parts(parts, store, progress=progress)


RUN_MAY_CHANGE = ("budget", "progress", "resume")  # what continuing a run may set anew


def check_same_run(store: RunStore, recorded: DictConfig) -> None:
    """Refuse to continue the run in ``store`` (its ``config.yaml``) with other settings
    than its own: results of another space, strategy or evaluator would join its history
    and its config would be overwritten. Only the budget and the progress bar may change."""
    path = store.run_dir / CONFIG
    if not path.is_file():
        return
    try:
        saved = OmegaConf.to_container(validate(OmegaConf.load(path)), resolve=True)
    except Exception:  # noqa: BLE001 - unreadable or stale: compared as written
        saved = OmegaConf.to_container(OmegaConf.load(path), resolve=True)
    mine = OmegaConf.to_container(recorded, resolve=True)
    for key in sorted(set(_flat(saved)) | set(_flat(mine)), key=lambda key: (not key.endswith(".name"), key)):
        if key.split(".")[0] in RUN_MAY_CHANGE:
            continue
        before, now = _flat(saved).get(key, "(unset)"), _flat(mine).get(key, "(unset)")
        if before != now:
            raise ConfigError(f"{store.run_dir} holds a run with {key}={before}, not {now}; continue it with "
                              f"resume={store.run_dir} (only budget.* and progress may change) or use another "
                              f"directory")


def _flat(data: Any, prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` as ``{"a.b": 1}`` (lists stay values)."""
    if not isinstance(data, dict):
        return {prefix: data}
    flat: dict[str, Any] = {}
    for key, value in data.items():
        flat.update(_flat(value, f"{prefix}{key}.") if isinstance(value, dict) and value else
                    {f"{prefix}{key}": value})
    return flat


def run_parts(parts: SearchParts, store: Store, progress: bool = True) -> SearchOutcome:
    """Run (or resume) a search of these objects in ``store``; a run directory gets its
    report (``summary.md``, plots, drawings of the best cells). A one-shot search trains
    its supernet (in this process or on Ray) and writes its own report."""
    if isinstance(parts.strategy, OneShotSearch):
        return run_oneshot(parts.strategy, parts.budget, store, progress=progress)
    table_network = getattr(parts.evaluator, "network_skeleton", None)  # a table scored its own network
    skeleton = table_network() if table_network is not None else parts.skeleton
    store.about = {"space": parts.space.name, "skeleton": dict(skeleton)}  # recorded with the best
    outcome = parts.executor.run(parts.strategy, parts.evaluator, parts.budget, store, progress=progress,
                                 constraints=parts.constraints)
    if isinstance(store, RunStore):
        store.about["inputs"] = dict(getattr(parts.evaluator, "network_inputs", dict)())  # what it fed the networks
        report = getattr(parts.strategy, "report", dict)()  # optional: what a strategy says of itself
        front = parts.pareto_cost if parts.multi_objective else None
        every_cell = getattr(parts.evaluator, "every_cell", None)  # a table knows the true front
        write_report(store, outcome.history, parts.space, cost=parts.pareto_cost, strategy_report=report,
                     constraints=parts.constraints, front=front,
                     every_cell=every_cell(front) if front and every_cell is not None else None,
                     description=parts.description)
    return outcome


def _recorded(cfg: DictConfig, objects: Mapping[str, Any]) -> DictConfig:
    """The config as written to ``config.yaml``: a part given as an object is named by
    its class (``resume=`` from the command line then needs the same names registered)."""
    recorded = OmegaConf.to_container(cfg, resolve=True)
    groups = {"space": "space", "strategy": "search", "evaluator": "evaluator", "executor": "executor"}
    for key, part in objects.items():
        if part is not None and key != "space":  # a space object is recorded by its name
            recorded[groups[key]] = {"name": f"object:{_object_name(part)}"}
    return OmegaConf.create(recorded)
