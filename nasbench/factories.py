"""Build the parts of a search from its config: space, strategy, evaluator.

Each table maps a config name to a small constructor; a new part is a new entry here and
a new file under ``conf/``, never an edit of the others.
"""
from __future__ import annotations

from pathlib import Path
from types import MappingProxyType
from typing import Any, Callable, Mapping

from search_spaces.spaces.base import Space
from nasbench.strategies.base import Candidate, Strategy
from nasbench.result import EvalResult


class ConfigError(ValueError):
    """A config names something that does not exist or has a bad value."""


def _nasnet() -> Space:
    from search_spaces.spaces.cell_spaces import nasnet_space
    return nasnet_space()


def _amoeba() -> Space:
    from search_spaces.spaces.cell_spaces import amoeba_space
    return amoeba_space()


def _darts() -> Space:
    from search_spaces.spaces.cell_spaces import darts_space
    return darts_space()


def _nasbench201() -> Space:
    from search_spaces.spaces.nasbench201 import NasBench201Space
    return NasBench201Space()


def _blocks() -> Space:
    from search_spaces.spaces.blocks_space import BlocksSpace
    return BlocksSpace()


SPACES: Mapping[str, Callable[[], Space]] = MappingProxyType({
    "nasnet": _nasnet, "amoeba": _amoeba, "darts": _darts, "nasbench201": _nasbench201, "blocks": _blocks,
})


def make_space(name: str) -> Space:
    if name not in SPACES:
        raise ConfigError(f"space: {name!r} is not one of {', '.join(SPACES)}")
    return SPACES[name]()


def make_strategy(name: str, space: Space, seed: int, params: Mapping[str, Any], run_dir: Path) -> Strategy:
    """A strategy by config name; Optuna studies live in the run directory."""
    params = dict(params)
    if name == "random":
        from nasbench.strategies.random_search import RandomSearch
        constructor: Callable[..., Strategy] = RandomSearch
    elif name == "evolution":
        from nasbench.strategies.evolution import RegularizedEvolution
        constructor = RegularizedEvolution
    elif name == "reinforce":
        from nasbench.strategies.reinforce import Reinforce
        constructor = Reinforce
    elif name in ("tpe", "nsga2", "optuna"):
        from nasbench.strategies.optuna_strategy import OptunaStrategy
        constructor = OptunaStrategy
        params.setdefault("sampler", "tpe" if name == "optuna" else name)
        if "objectives" in params:
            params["objectives"] = tuple(params["objectives"])
        params.setdefault("storage", str(run_dir / "optuna.journal"))
    else:
        raise ConfigError(f"search: {name!r} is not one of random, evolution, reinforce, tpe, nsga2, optuna")
    try:
        return constructor(space, seed=seed, **params)
    except TypeError as exc:
        raise ConfigError(f"search.params: {exc}") from exc


def make_evaluator(cfg: Mapping[str, Any], space_name: str, space_cfg: Mapping[str, Any],
                   repo_root: Path) -> Callable[[Candidate], EvalResult]:
    """The evaluation function of a search: the proxy trainer or the NAS-Bench-201 table."""
    evaluator = cfg["evaluator"]
    name = evaluator["name"]
    if name == "nasbench201":
        if space_name != "nasbench201":
            raise ConfigError(f"evaluator=nasbench201 looks up NAS-Bench-201 cells; use +space=nasbench201, "
                              f"not {space_name}")
        from nasbench.evaluators.nasbench201 import NasBench201Table
        table = NasBench201Table(path=evaluator.get("path"), dataset=evaluator.get("dataset", "cifar10"))
        return lambda candidate: table.evaluate(candidate.point, seed=candidate.seed)
    if name == "proxy":
        from nasbench.evaluators.proxy import ProxyEvaluator
        proxy = ProxyEvaluator(space_name, dict(space_cfg.get("skeleton", {})), dict(cfg["data"]),
                               dict(cfg["trainer"]), repo_root)
        return lambda candidate: proxy.evaluate(candidate.point, seed=candidate.seed)
    raise ConfigError(f"evaluator: {name!r} is not one of proxy, nasbench201")
