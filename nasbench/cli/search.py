"""`python -m nasbench.search +space=nasnet`: run an architecture search (thin Hydra entry).

Overrides: ``search=``, ``evaluator=``, ``data=``, ``executor=``, ``budget.trials=``,
``budget.seconds=``, ``seed=``, ``resume=RUN_DIR``; ``-m`` sweeps many searches, one run
directory each. Checking the arguments and printing only: ``run_from_config`` hands the
composed config to ``nasbench.api.run_config``, the API's own path to a run directory.
"""
from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Sequence

import difflib
import re

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.errors import HydraException, OverrideParseException
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from nasbench.api import RUN_MAY_CHANGE, run_config
from nasbench.config.compose import compose_overrides
from nasbench.config.schema import CONF_DIR, ConfigSchemaError, check_overrides, group_choices, validate
from nasbench.core.errors import first_line, run_directory_error
from nasbench.core.paths import runs_dir, shown
from nasbench.run.lock import LOCK
from nasbench.run.search_loop import SearchOutcome
from nasbench.run.store import CONFIG
from search_spaces.errors import NasError


HELP_FLAGS = ("--help", "-h", "--hydra-help")


class SearchUsageError(NasError, ValueError):
    """A search cannot start: no space, a bad override, an unreadable run to resume."""


def spelled_for_hydra(argument: str) -> str:
    """An override as Hydra's grammar reads it, for two spellings a shell leaves as typed:
    a home-relative path (``data.root=~/my_images``; the shell expands ``~`` only at a word's
    start) is expanded, and constraints (``search.constraints=[edgegpu_latency<=5.0]``;
    ``<`` and ``>`` are not in Hydra's unquoted values) have each item quoted, so that the
    constraint's own parser names what is wrong with one."""
    key, equals, value = argument.partition("=")
    if not equals or argument.startswith("-"):
        return argument
    if value == "~" or value.startswith("~/"):
        return f"{key}={Path(value).expanduser()}"
    if key.lstrip("+~") == "search.constraints":
        items = value.strip()
        items = items[1:-1] if items.startswith("[") and items.endswith("]") else items
        quoted = [item.strip() if item.strip()[:1] in "'\"" else f'"{item.strip()}"'
                  for item in items.split(",") if item.strip()]
        return f"{key}=[{','.join(quoted)}]"
    return argument


def _first_of_sweep(override: str) -> str:
    """``key=a,b,c`` -> ``key=a`` (a sweep's first job); lists and other forms unchanged."""
    key, _, value = override.partition("=")
    if "," in value and not any(bracket in value for bracket in "[]{}()'\""):
        value = value.split(",")[0]
    return f"{key}={value}"


def precheck(arguments: Sequence[str], conf_dir: Path = CONF_DIR) -> str | None:
    """Compose and validate the config once before Hydra runs, so that a bad override
    is one line and exit code 2 rather than Hydra's error report."""
    problem = check_overrides(arguments, conf_dir)
    if problem:
        return problem
    for argument in arguments:
        key, _, value = argument.partition("=")
        if key in ("hydra.run.dir", "hydra.sweep.dir") and Path(value).expanduser().is_file():
            return f"{argument}: a file is there; give a directory for the run"
    overrides = [_first_of_sweep(a) for a in arguments
                 if "=" in a and not a.startswith("-") and not a.lstrip("+~").startswith("hydra")]
    try:
        cfg = compose_overrides(overrides, conf_dir)
    except OverrideParseException as exc:  # Hydra's grammar: | ~ + [ ] , = and spaces are its own
        return (f"{str(exc).strip().splitlines()[0]}: cannot parse the override; quote a value holding | ~ + , "
                f"or spaces, e.g. 'search.seed_points=[\"|nor_conv_3x3~0|+...\"]'")
    except (HydraException, OmegaConfBaseException) as exc:
        message = str(exc).strip().splitlines()[0].rstrip(".")
        if exc.__cause__ is not None and str(exc.__cause__).strip():
            message += ": " + str(exc.__cause__).strip().splitlines()[0]
        return message + _closest_key(message, overrides, conf_dir)
    if cfg.get("resume"):
        return _resume_problem(str(cfg.resume), overrides)
    if cfg.get("space") is None:
        return "no search space chosen: add +space=NAME, one of " + ", ".join(group_choices("space", conf_dir))
    try:
        validate(cfg)
    except ConfigSchemaError as exc:
        return str(exc)
    return None


def _closest_key(message: str, overrides: Sequence[str], conf_dir: Path) -> str:
    """``; did you mean budget.trials?`` for an override of a key the config lacks
    (Hydra's "Could not override 'budget.trails' ... not in struct"), or ``""``."""
    found = re.match(r"Could not override '([^']+)'", message)
    if not found or "not in struct" not in message:
        return ""
    key = found.group(1)
    others = [override for override in overrides if override.split("=", 1)[0].lstrip("+~") != key]
    try:
        cfg = compose_overrides(others, conf_dir)
    except Exception:  # noqa: BLE001 - the hint is a courtesy; the message stands without it
        return ""
    parent, _, leaf = key.rpartition(".")
    node = OmegaConf.select(cfg, parent) if parent else cfg
    if not isinstance(node, DictConfig):
        return ""
    close = difflib.get_close_matches(leaf, [str(name) for name in node.keys()], n=1, cutoff=0.6)
    return f"; did you mean {parent + '.' if parent else ''}{close[0]}?" if close else ""


def _resume_problem(resume: str, overrides: Sequence[str]) -> str | None:
    """Why ``resume=RUN`` with these overrides cannot run: not a run directory, or an
    override it would ignore (the run keeps its saved config; only the budget and the
    progress bar may change)."""
    run_dir = Path(resume).expanduser()
    if not (run_dir / CONFIG).is_file():
        return f"resume={run_dir}: no {CONFIG} there; is it a nasbench run directory?"
    ignored = [override for override in overrides
               if override.split("=", 1)[0].lstrip("+~").split(".")[0] not in RUN_MAY_CHANGE]
    if ignored:
        return (f"resume={run_dir} continues the run with its saved config; it would ignore {', '.join(ignored)} "
                f"(only budget.* and progress may change)")
    return None


def _resume_config(cfg: DictConfig, command_line: Sequence[str]) -> DictConfig:
    """On resume the run's own saved config is used; only budget and progress overrides
    from this command line apply (so a search can be given more budget)."""
    run_dir = Path(str(cfg.resume)).expanduser()
    problem = _resume_problem(str(run_dir), [a for a in command_line if not a.lstrip("+~").startswith("hydra")])
    if problem:
        raise SearchUsageError(problem)
    saved = run_dir / CONFIG
    previous = OmegaConf.load(saved)
    for override in command_line:
        key = override.split("=", 1)[0].lstrip("+")
        if key.startswith("budget") or key == "progress":
            OmegaConf.update(previous, key, OmegaConf.select(cfg, key), force_add=True)
    previous.resume = str(run_dir)
    return previous


def run_from_config(cfg: DictConfig, run_dir: Path, command_line: Sequence[str] = ()) -> SearchOutcome:
    """Run (or resume) the search that ``cfg`` describes, in ``run_dir``."""
    if cfg.get("resume"):
        cfg = _resume_config(cfg, command_line)
        run_dir = Path(str(cfg.resume)).expanduser()
    if cfg.get("space") is None:
        raise SearchUsageError("no search space chosen: add +space=NAME, one of "
                               + ", ".join(group_choices("space")))
    return run_config(validate(cfg), run_dir)


def _task(cfg: DictConfig) -> None:
    hydra_cfg = HydraConfig.get()
    run_dir = Path(hydra_cfg.runtime.output_dir)
    try:
        outcome = run_from_config(cfg, run_dir, list(hydra_cfg.overrides.task))
    except NasError as exc:  # what the user asked cannot run: one line (nasbench.cli.command)
        print(f"search: {first_line(exc)}", file=sys.stderr)
        remove_if_only_hydra(run_dir)
        raise SystemExit(2) from None
    except OSError as exc:  # disk full, read-only, vanished, no permission: what finished is on disk
        store_dir = Path(str(cfg.resume)).expanduser() if cfg.get("resume") else run_dir
        print(f"search: {run_directory_error(exc, store_dir)}", file=sys.stderr)
        raise SystemExit(2) from None
    store_dir = shown(Path(str(cfg.resume)) if cfg.get("resume") else run_dir)
    best = outcome.best
    line = f"run: {store_dir}  ({len(outcome.history)} candidates"
    if best is None:
        finished = sum(record.result.ok for record in outcome.history)
        line += ", none finished)" if not finished else f", none of the {finished} finished meets search.constraints)"
    elif outcome.answer:
        line += f", answer: trial {best.candidate.trial}, {outcome.answer}, val_acc {best.result.val_acc:.4f}"
        if best.result.settings.get("val_acc_of") == "supernet":
            line += f" of the supernet, every op mixed; the cell alone {best.result.settings['derived_val_acc']:.4f}"
        line += ")"
    else:
        line += f", best val_acc {best.result.val_acc:.4f} at trial {best.candidate.trial})"
    print(line)
    if outcome.stopped:
        print(f"search: stopped: {outcome.stopped}", file=sys.stderr)
        raise SystemExit(1)
    if outcome.all_failed:
        print(f"search: every candidate failed; the last: {outcome.history[-1].result.message}", file=sys.stderr)
        raise SystemExit(1)
    if outcome.interrupted:  # exit 130 as after SIGINT, so that scripts see the run stopped
        print(f"interrupted; continue with: python -m nasbench.search resume={store_dir}")
        raise SystemExit(130)


def remove_if_only_hydra(run_dir: Path) -> None:
    """Remove a run directory that holds nothing but what Hydra wrote (and our lock) before the search
    was refused (``.hydra/`` and an empty log); in the default layout (``./runs/DATE/TIME``) also
    the date folder and ``runs/`` when that leaves them empty."""
    if not run_dir.is_dir() or (run_dir / CONFIG).exists():
        return
    leftovers = {path.name for path in run_dir.iterdir()}
    if not leftovers <= {".hydra", "search.log", LOCK}:
        return
    if (run_dir / "search.log").is_file() and (run_dir / "search.log").stat().st_size:
        return
    shutil.rmtree(run_dir, ignore_errors=True)
    if run_dir.resolve().parent.parent != runs_dir().resolve():
        return  # a directory the user named: its parents are theirs
    for folder in (run_dir.parent, run_dir.parent.parent):
        if not folder.is_dir() or any(folder.iterdir()):
            break
        folder.rmdir()


def _resume_in_place(arguments: Sequence[str]) -> list[str]:
    """For ``resume=RUN``: Hydra's output (the log) goes to RUN itself, so a resume leaves
    no new run directory behind and ``search.log`` continues."""
    resume = [a.split("=", 1)[1] for a in arguments if a.lstrip("+").startswith("resume=")]
    if not resume or "-m" in arguments or "--multirun" in arguments or any(
            a.startswith("hydra.run.dir=") for a in arguments):
        return []
    return [f"hydra.run.dir={resume[-1]}", "hydra.output_subdir=null"]


def main(argv: Sequence[str] | None = None) -> int:
    arguments = [spelled_for_hydra(argument) for argument in (sys.argv[1:] if argv is None else argv)]
    asks_for_help = any(argument in HELP_FLAGS for argument in arguments)
    problem = None if asks_for_help else precheck(arguments)
    if problem:
        print(f"search: {problem}", file=sys.stderr)
        return 2
    sys.argv = [sys.argv[0], *arguments, *_resume_in_place(arguments)]
    hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="config")(_task)()
    return 0
