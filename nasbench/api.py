"""The Python API: the command line's twin (``import nasbench``).

``nasbench.search(...)`` runs the search ``python -m nasbench.search`` runs, from the
same configs, into the same run directory (resumable, with the same report);
``nasbench.rebuild(...)`` returns the ``nn.Module`` ``python -m nasbench.rebuild``
describes. Names are looked up in the registries; objects are accepted where names are
(a ``Space``, a ``Strategy``, an evaluator callable, an executor), as Optuna accepts a
sampler instance.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

import torch.nn as nn
from omegaconf import DictConfig, OmegaConf

from nasbench.config import CONF_DIR, ConfigSchemaError, check_overrides, validate
from nasbench.driver import SearchOutcome
from nasbench.errors import ConfigError, run_directory_error
from nasbench.factories import SearchParts, make_parts
from nasbench.oneshot import OneShotSearch
from nasbench.report import write_report
from nasbench.run_lock import run_lock
from nasbench.run_store import CONFIG, MemoryStore, RunStore, Store
from search_spaces.spaces.base import Space


def compose_config(overrides: Sequence[str] = ()) -> DictConfig:
    """The search config the command line would compose from ``overrides``
    (``["+space=nasnet", "search=tpe"]``), not yet validated."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    problem = check_overrides(overrides)
    if problem:
        raise ConfigError(problem)
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(version_base="1.3", config_dir=str(CONF_DIR)):
            return compose(config_name="config", overrides=list(overrides))
    except (HydraException, OmegaConfBaseException) as exc:
        raise ConfigError(str(exc).strip().splitlines()[0].rstrip(".")) from None
    finally:
        GlobalHydra.instance().clear()


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
    if run_dir is None:
        return run_parts(make_parts(cfg, None, **objects), MemoryStore(), progress=progress)
    try:
        store = RunStore(run_dir)
        with run_lock(store.run_dir):  # one writer per run directory, from the first file it writes
            recorded = _recorded(cfg, objects)
            check_same_run(store, recorded)
            parts = make_parts(cfg, store.run_dir, **objects)
            store.write_text(CONFIG, OmegaConf.to_yaml(recorded))
            return run_parts(parts, store, progress=progress)
    except OSError as exc:
        raise run_directory_error(exc, Path(run_dir)) from None


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
    its supernet in-process and writes its own report."""
    if isinstance(parts.strategy, OneShotSearch):
        return parts.strategy.run(parts.budget, store, progress=progress)
    outcome = parts.executor.run(parts.strategy, parts.evaluator, parts.budget, store, progress=progress)
    if isinstance(store, RunStore):
        inputs = getattr(parts.evaluator, "network_inputs", dict)()  # what the evaluator fed the networks
        report = getattr(parts.strategy, "report", dict)()  # optional: what a strategy says of itself
        write_report(store, outcome.history, parts.space, parts.skeleton, inputs, cost=parts.pareto_cost,
                     strategy_report=report)
    return outcome


def _recorded(cfg: DictConfig, objects: Mapping[str, Any]) -> DictConfig:
    """The config as written to ``config.yaml``: a part given as an object is named by
    its class (``resume=`` from the command line then needs the same names registered)."""
    recorded = OmegaConf.to_container(cfg, resolve=True)
    groups = {"space": "space", "strategy": "search", "evaluator": "evaluator", "executor": "executor"}
    for key, part in objects.items():
        if part is not None and key != "space":
            recorded[groups[key]] = {"name": f"object:{_object_name(part)}"}
    return OmegaConf.create(recorded)


def rebuild(name: str, *, variant: str | None = None, num_classes: int | None = None,
            input_size: int | tuple[int, int] | None = None, weights: str | Path | Mapping[str, Any] | None = None,
            seed: int | None = None) -> nn.Module:
    """The network ``name`` stands for (a zoo entry or its torchvision/timm name, a
    genotype file, a published cell, a run directory) as an ``nn.Module``; with
    ``weights`` a state_dict (file or mapping) loaded into it."""
    from nasbench.rebuild import build_target, target_for

    size = (input_size, input_size) if isinstance(input_size, int) else input_size
    target = target_for(name, variant=variant, input_size=size, num_classes=num_classes)
    return build_target(target, weights=weights, seed=seed)

