"""The config edge: a validated search config becomes the objects of a search.

Whatever is wrong with it is one ``nasbench.core.errors.ConfigError`` line.

Every name is looked up here, once, in its kind's registry (``SPACES``, ``STRATEGIES``
or ``ONESHOT_METHODS`` for ``search``, ``EVALUATORS``, ``EXECUTORS``); below this module
code passes objects.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from nasbench.config.schema import typed
from nasbench.core.budget import Budget
from nasbench.core.constraints import RESULT_METRICS, ConstraintError, Constraints, parse_constraints
from nasbench.core.errors import ConfigError, first_line
from nasbench.evaluators import EVALUATORS, EvaluatorContext
from nasbench.executors import EXECUTORS
from nasbench.networks.resolve import ResolveError, seed_point
from nasbench.oneshot import ONESHOT_METHODS, OneShotSearch, make_oneshot
from nasbench.strategies import make_strategy
from nasbench.strategies.base import Strategy
from nasbench.strategies.seeded import SeededStrategy
from nasbench.tables.hardware import DEVICE_METRICS
from search_spaces.errors import NasError
from search_spaces.spaces import make_space
from search_spaces.spaces.base import Space

CURVES = "tensorboard"  # RUN_DIR/tensorboard: the candidates' per-epoch curves


@dataclass
class SearchParts:
    """The objects a search runs with."""

    space: Space
    strategy: Strategy | OneShotSearch  # a one-shot search runs itself (``api.run_parts``)
    evaluator: Any
    executor: Any
    budget: Budget
    skeleton: dict[str, Any]
    pareto_cost: str = "macs"  # the cost a multi-objective search trades accuracy for; the report plots it
    constraints: Constraints = Constraints()  # search.constraints: what the pick must meet
    multi_objective: bool = False  # search.params.objectives names a cost beside val_acc
    description: str = ""  # what ran, in the config's words: summary.md's first line


def describe(cfg: DictConfig, objects: dict[str, Any]) -> str:
    """The search in the config's words: ``search=evolution, +space=nasnet, evaluator=proxy
    on data=digits, executor=local, seed=0, budget 8 trials`` (an object: its class)."""
    def named(group: str, key: str) -> str:
        part = objects.get(key)
        return f"{group}={cfg[group].name if part is None else getattr(part, '__name__', type(part).__name__)}"
    data = f"evaluator.dataset={cfg.evaluator.dataset}" if cfg.evaluator.get("dataset") else f"data={cfg.data.name}"
    budget = " and ".join(f"{value:g} {unit}" for value, unit in ((cfg.budget.trials, "trials"),
                                                                 (cfg.budget.seconds, "seconds")) if value is not None)
    return (f"{named('search', 'strategy')}, +space={cfg.space.name}, {named('evaluator', 'evaluator')} on {data}, "
            f"{named('executor', 'executor')}, seed={cfg.seed}, budget {budget or 'none'}")


def search_constraints(texts: list[Any], evaluator: Any) -> Constraints:
    """``search.constraints`` on what ``evaluator`` measures (an evaluator's ``measured()``;
    else every number of a result), refused with one line when a constraint names another
    metric, or (``metric_range()``: a table's extremes) when no candidate can meet it."""
    measured = getattr(evaluator, "measured", None)
    hints = {metric: f"evaluator=nasbench201 evaluator.device={metric.split('_')[0]}" for metric in DEVICE_METRICS}
    constraints = parse_constraints(texts, measured() if measured is not None else RESULT_METRICS, hints)
    extremes = getattr(evaluator, "metric_range", None)
    for index, constraint in enumerate(constraints.items):
        span = extremes(constraint.metric) if extremes is not None else None
        if span is None:
            continue
        low, high = span
        if constraint.violation(low if constraint.op in ("<=", "<") else high) > 0:
            smallest = constraint.op in ("<=", "<")
            raise ConstraintError(f"search.constraints[{index}]: no cell meets {constraint.text}: the "
                                  f"{'smallest' if smallest else 'largest'} {constraint.metric} in the table is "
                                  f"{low if smallest else high:g}")
    return constraints


def seed_points(sources: list[Any], space: Space) -> list[Any]:
    """The points of ``space`` that ``search.seed_points`` names (each in any form the
    resolver takes); a bad one is a ``ConfigError`` naming its place in the list."""
    points = []
    for index, source in enumerate(sources):
        try:
            points.append(seed_point(source, space.name))
        except ResolveError as exc:
            raise ConfigError(f"search.seed_points[{index}]: {exc}") from None
    return points


def make_parts(cfg: DictConfig, run_dir: Path | None, *, space: Space | None = None,
               strategy: Strategy | None = None, evaluator: Any = None, executor: Any = None) -> SearchParts:
    """The space, strategy, evaluator, executor and budget that ``cfg`` (validated by
    ``nasbench.config.validate``) names; Optuna's journal goes to ``run_dir``. An object
    passed for a part is used instead of the one its config group names."""
    plain: dict[str, Any] = OmegaConf.to_container(cfg, resolve=True)  # type: ignore[assignment]
    given_strategy, given_evaluator, given_executor = strategy, evaluator, executor
    try:
        space = space if space is not None else make_space(cfg.space.name)
        skeleton = dict(plain["space"].get("skeleton") or {})
        space.network(space.sample(random.Random(0)), skeleton=skeleton)  # refuse bad settings now
        if executor is None:
            executor = EXECUTORS.constructor(cfg.executor.name).from_config(typed(cfg.executor))
        if strategy is None and cfg.search.name in ONESHOT_METHODS:
            if cfg.executor.name not in ("local", "ray"):
                raise ConfigError(f"search={cfg.search.name} trains its supernet in this process (executor=local) "
                                  f"or on Ray Train (executor=ray), not executor={cfg.executor.name}")
            if cfg.executor.get("scheduler"):
                raise ConfigError(f"executor.scheduler={cfg.executor.scheduler} stops candidates early; "
                                  f"search={cfg.search.name} has none (it trains one supernet)")
            if cfg.evaluator.name != "proxy":
                raise ConfigError(f"search={cfg.search.name} scores cells with its supernet on data={cfg.data.name}; "
                                  f"evaluator={cfg.evaluator.name} does not apply (leave the evaluator as proxy)")
            strategy = make_oneshot(cfg.search.name, space, skeleton=skeleton, data=plain["data"],
                                    seed=int(cfg.seed), executor=None if cfg.executor.name == "local" else executor,
                                    **(plain["search"]["params"] or {}))
        if strategy is None:
            strategy = make_strategy(cfg.search.name, space, int(cfg.seed), run_dir=run_dir,
                                     **(plain["search"]["params"] or {}))
            seeds = plain["search"].get("seed_points") or []
            if seeds:
                strategy = SeededStrategy(strategy, space, seed_points(seeds, space), seed=int(cfg.seed))
        if evaluator is None:
            context = EvaluatorContext(space, skeleton, plain["data"], plain["trainer"],
                                       curves=None if run_dir is None else Path(run_dir) / CURVES)
            evaluator = EVALUATORS.constructor(cfg.evaluator.name).from_config(typed(cfg.evaluator), context)
        constraints = search_constraints(plain["search"].get("constraints") or [], evaluator)
        if constraints and isinstance(strategy, OneShotSearch):
            raise ConfigError(f"search={cfg.search.name} derives one cell from its supernet; search.constraints "
                              f"need an ask/tell strategy")
        inner = strategy.inner if isinstance(strategy, SeededStrategy) else strategy
        if constraints and hasattr(inner, "use_constraints"):
            inner.use_constraints(constraints)  # an Optuna sampler that takes constraints_func
        check = getattr(executor, "check", None)
        if check is not None:
            check(strategy, evaluator)  # what the executor refuses (a scheduler for a lookup), before the run starts
        budget = Budget(trials=cfg.budget.trials, seconds=cfg.budget.seconds,
                        max_consecutive_failures=cfg.budget.max_consecutive_failures)
    except NasError as exc:  # RegistryError, SpaceError, StrategyError, BudgetError, an evaluator's refusal
        raise ConfigError(first_line(exc)) from None
    objectives = (plain["search"].get("params") or {}).get("objectives") or []
    costs = [str(name) for name in objectives if name != "val_acc"]
    described = describe(cfg, {"strategy": given_strategy, "evaluator": given_evaluator, "executor": given_executor})
    return SearchParts(space, strategy, evaluator, executor, budget, skeleton, costs[0] if costs else "macs",
                       constraints, multi_objective=bool(costs), description=described)
