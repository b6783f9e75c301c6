"""Search strategies: ask/tell objects with a resumable state (see ``base.Strategy``).

``STRATEGIES`` is the one registry of strategies: a name maps to a constructor
``(space, seed=..., run_dir=None, **params)``; ``run_dir`` is where a strategy that keeps
files of its own (an Optuna journal) keeps them. Adding a strategy is one module here,
one line below and one YAML file in ``nasbench/conf/search/``. The package may import core,
the tables' metric names (``nasbench.tables.hardware``: objectives a strategy may take) and
``search_spaces`` (a strategy knows spaces, candidates and results, nothing that runs
or scores them).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from nasbench.core.candidate import Candidate, derive_seed
from nasbench.strategies.base import Strategy, StrategyError
from nasbench.core.budget import Budget, BudgetError
from search_spaces.registry import Registry, RegistryError
from search_spaces.spaces.base import Space
from search_spaces.value_kinds import parameter_problems

OPTUNA_JOURNAL = "optuna.journal"


def _random(space: Space, seed: int = 0, run_dir: Path | None = None, **params: Any) -> Strategy:
    from nasbench.strategies.random_search import RandomSearch
    return RandomSearch(space, seed=seed, **checked_params(RandomSearch, params))


def _evolution(space: Space, seed: int = 0, run_dir: Path | None = None, **params: Any) -> Strategy:
    from nasbench.strategies.evolution import RegularizedEvolution
    return RegularizedEvolution(space, seed=seed, **checked_params(RegularizedEvolution, params))


def _reinforce(space: Space, seed: int = 0, run_dir: Path | None = None, **params: Any) -> Strategy:
    from nasbench.strategies.reinforce import Reinforce
    return Reinforce(space, seed=seed, **checked_params(Reinforce, params))


def _local(space: Space, seed: int = 0, run_dir: Path | None = None, **params: Any) -> Strategy:
    """Local search; with two or more ``objectives``, Pareto local search."""
    objectives = params.pop("objectives", ("val_acc",))
    objectives = (objectives,) if isinstance(objectives, str) else tuple(objectives)
    if len(objectives) > 1:
        return _pareto_local(space, seed, run_dir, objectives=objectives, **params)
    if objectives != ("val_acc",):
        raise StrategyError(f"search.params.objectives: {list(objectives)!r}: local search of one objective "
                            f"climbs val_acc; give two or more for Pareto local search")
    from nasbench.strategies.local_search import LocalSearch
    return LocalSearch(space, seed=seed, **checked_params(LocalSearch, params))


def _pareto_local(space: Space, seed: int = 0, run_dir: Path | None = None, **params: Any) -> Strategy:
    from nasbench.strategies.pareto_local import ParetoLocalSearch

    objectives = params.get("objectives", ("val_acc", "params"))
    params["objectives"] = (objectives,) if isinstance(objectives, str) else tuple(objectives)
    return ParetoLocalSearch(space, seed=seed, **checked_params(ParetoLocalSearch, params))


def _bananas(space: Space, seed: int = 0, run_dir: Path | None = None, **params: Any) -> Strategy:
    """BANANAS; with two or more ``objectives``, ParEGO-scalarised (``strategies.bananas``)."""
    from nasbench.strategies.bananas import Bananas
    if "objectives" in params:  # one objective may be given as its name
        objectives = params["objectives"]
        params["objectives"] = (objectives,) if isinstance(objectives, str) else tuple(objectives)
    return Bananas(space, seed=seed, **checked_params(Bananas, params))


def _optuna(default_sampler: str) -> Any:
    def construct(space: Space, seed: int = 0, run_dir: Path | None = None, **params: Any) -> Strategy:
        """An Optuna study; in a run directory its journal is ``RUN_DIR/optuna.journal``."""
        from nasbench.strategies.optuna_strategy import OptunaStrategy

        params.setdefault("sampler", default_sampler)
        if run_dir is not None:
            params.setdefault("storage", str(Path(run_dir) / OPTUNA_JOURNAL))
            params["storage"] = str(_inside(Path(params["storage"]), Path(run_dir)))
        if "objectives" in params:  # one objective may be given as its name
            objectives = params["objectives"]
            params["objectives"] = (objectives,) if isinstance(objectives, str) else tuple(objectives)
        return OptunaStrategy(space, seed=seed, **checked_params(OptunaStrategy, params))
    return construct


def checked_params(strategy: type, params: dict[str, Any]) -> dict[str, Any]:
    """``params`` for ``strategy``'s constructor, refused (``StrategyError``) when one is
    not of the plain kind its annotation asks for (``population_size=abc``)."""
    problem = parameter_problems(strategy, params)
    if problem:
        raise StrategyError(f"search.params.{problem[0]}: {problem[1]}")
    return params


def _inside(path: Path, run_dir: Path) -> Path:
    """``path`` (relative ones to ``run_dir``), which must lie inside ``run_dir``: a run
    directory is self-contained, and a received ``config.yaml`` must not make ``resume=``
    create files elsewhere."""
    target = (run_dir / path).resolve() if not path.is_absolute() else path.resolve()
    if not target.is_relative_to(run_dir.resolve()):
        raise StrategyError(f"search.params.storage: {path} is outside the run directory {run_dir}; a run keeps "
                            f"its Optuna journal inside it ({OPTUNA_JOURNAL})")
    return target


STRATEGIES: Registry[Strategy] = Registry("search", [
    ("random", _random),
    ("evolution", _evolution),
    ("reinforce", _reinforce),
    ("tpe", _optuna("tpe")),
    ("nsga2", _optuna("nsga2")),
    ("optuna", _optuna("tpe")),
    ("local", _local),
    ("pareto_local", _pareto_local),
    ("bananas", _bananas),
])


def make_strategy(name: str, space: Space, seed: int = 0, run_dir: str | Path | None = None,
                  **params: Any) -> Strategy:
    """The strategy registered as ``name`` over ``space``. A bad name or parameter is a
    ``StrategyError`` with one line naming it."""
    try:
        constructor = STRATEGIES.constructor(name)
    except RegistryError as exc:
        raise StrategyError(str(exc)) from None
    try:
        return constructor(space, seed=seed, run_dir=None if run_dir is None else Path(run_dir), **params)
    except TypeError as exc:
        raise StrategyError(f"search.params: {exc}") from None


__all__ = ["STRATEGIES", "Budget", "BudgetError", "Candidate", "Strategy", "StrategyError", "derive_seed",
           "make_strategy"]
