"""Write a rebuilt network out: its genotype (``.json``), a TorchScript module (``.pt``), or
a standalone PyTorch source file (``.py``) that imports torch alone; or, for a network
built around a cell, the cell as text (``.txt``: DARTS' ``Genotype(...)`` for a two-input
cell, an NB201 string for a NAS-Bench-201 cell; ``search_spaces.formats``).

The ``.py`` file embeds the error root (``search_spaces/errors.py``), the op catalog
(``search_spaces/ops.py``) and the builder (``search_spaces/build.py``) verbatim, all of
which import torch and the standard library only, then the genotype as a literal;
``build()`` in it returns a network with the same module tree, hence the same parameter
names, as ``search_spaces.build.build_network``, so a state_dict saved from either loads
into the other with ``strict=True``.

TorchScript: ``torch.jit.script`` cannot compile the builder's ``Cell.forward`` (it takes
``*inputs``), so the network is traced in eval mode (no auxiliary heads, no drop-path) and
the trace is checked against the eager network on a batch of another size. torch.jit is
deprecated in recent PyTorch; ``.pt2`` writes the same eval-mode network with
``torch.export`` instead (batch size dynamic), checked the same way.
"""
from __future__ import annotations

import ast
import inspect
import json
import pprint
import sys
import warnings
from pathlib import Path
from types import ModuleType
from typing import Any, Mapping, Sequence

import torch
import torch.nn as nn

from search_spaces import build as build_module
from search_spaces import errors as errors_module
from search_spaces import ops as ops_module

EMBEDDED = (errors_module, ops_module, build_module)  # in dependency order

from nasbench.core.errors import ExportError, first_line

FORMATS = {".json": "genotype JSON", ".pt": "TorchScript, traced in eval mode", ".py": "standalone PyTorch source",
           ".pt2": "torch.export program, eval mode, any batch size",
           ".txt": "the cell: DARTS Genotype(...) or NB201 string"}


def export_network(path: str | Path, genotype: Mapping[str, Any], network: nn.Module | None = None,
                   cell_text: str | None = None) -> str:
    """Write ``genotype`` (and, for ``.pt``, the built ``network`` with its weights; for
    ``.txt``, ``cell_text``, the cell the network is built around) to ``path`` in the
    format its extension names; returns that format's description."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ExportError(f"--export: {path.name!r} has no known extension; use one of {', '.join(FORMATS)}")
    if suffix == ".txt":
        if cell_text is None:
            raise ExportError(f"--export .txt writes a cell (DARTS Genotype or NB201 string); "
                              f"{genotype.get('name') or 'this network'} is not built around one")
        write_export(path, cell_text + "\n")
    elif suffix == ".json":
        write_export(path, json.dumps(dict(genotype), indent=2) + "\n")
    elif suffix == ".py":
        write_export(path, standalone_source(genotype, path.name))
    else:
        if network is None:
            raise ExportError(f"--export {suffix} needs the built network")
        if suffix == ".pt":
            export_torchscript(network, path)
        else:
            export_program(network, path)
    return FORMATS[suffix]


def write_export(path: Path, text: str) -> None:
    """Write an ``--export`` text file; a failure is one ``ExportError`` line."""
    try:
        path.write_text(text)
    except OSError as exc:
        raise ExportError(f"--export: cannot write {path} ({exc.strerror})") from exc


# --- TorchScript --------------------------------------------------------------------------

def export_torchscript(network: nn.Module, path: str | Path, input_shape: Sequence[int] | None = None,
                       tolerance: float = 1e-4) -> None:
    """Trace ``network`` in eval mode on a batch of 1, check the trace on a batch of 2, and
    save it (``torch.jit.load`` reads it back)."""
    input_shape, device, was_training = _to_eval(network, input_shape)
    try:
        with torch.no_grad(), warnings.catch_warnings():
            # torch.jit is deprecated in favour of torch.export, but TorchScript is still
            # what a bare `torch.jit.load` can run; the trace is checked below instead.
            warnings.filterwarnings("ignore", message=r".*torch\.jit\..* is deprecated")
            warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
            traced = torch.jit.trace(network, torch.zeros(1, *input_shape, device=device), check_trace=False)
            probe = torch.randn(2, *input_shape, generator=torch.Generator().manual_seed(0)).to(device)
            expected, got = network(probe), traced(probe)
    except (RuntimeError, TypeError) as exc:
        raise ExportError(f"--export .pt: tracing failed: {first_line(exc)}") from exc
    finally:
        network.train(was_training)
    _compare(expected, got, tolerance, ".pt")
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=r".*torch\.jit\..* is deprecated")
            torch.jit.save(traced, str(path))
    except (OSError, RuntimeError) as exc:
        raise ExportError(f"--export: cannot write {path} ({first_line(exc)})") from exc


def export_program(network: nn.Module, path: str | Path, input_shape: Sequence[int] | None = None,
                   tolerance: float = 1e-4) -> None:
    """Export ``network`` in eval mode with ``torch.export`` (the batch dimension left
    dynamic), check the program on a batch of 3, and save it (``torch.export.load(path)
    .module()`` runs it)."""
    input_shape, device, was_training = _to_eval(network, input_shape)
    try:
        example = torch.zeros(2, *input_shape, device=device)
        program = torch.export.export(network, (example,), dynamic_shapes=({0: torch.export.Dim("batch")},))
        probe = torch.randn(3, *input_shape, generator=torch.Generator().manual_seed(0)).to(device)
        with torch.no_grad():
            expected, got = network(probe), program.module()(probe)
    except (RuntimeError, TypeError, ValueError) as exc:
        raise ExportError(f"--export .pt2: torch.export failed: {first_line(exc)}") from exc
    finally:
        network.train(was_training)
    _compare(expected, got, tolerance, ".pt2")
    try:
        torch.export.save(program, str(path))
    except (OSError, RuntimeError) as exc:
        raise ExportError(f"--export: cannot write {path} ({first_line(exc)})") from exc


def _to_eval(network: nn.Module, input_shape: Sequence[int] | None
             ) -> tuple[Sequence[int], torch.device, bool]:
    """``network`` put in eval mode; the input shape (default: the network's own), the
    device of its weights and whether it was training (to restore after)."""
    if input_shape is None:
        input_shape = (int(network.input_channels), *network.input_size)
    device = next((p.device for p in network.parameters()), torch.device("cpu"))
    was_training = network.training
    network.eval()
    return input_shape, device, was_training


def _compare(expected: torch.Tensor, got: torch.Tensor, tolerance: float, suffix: str) -> None:
    scale = max(1.0, float(expected.abs().max()))
    difference = float((expected - got).abs().max())
    if difference > tolerance * scale:
        raise ExportError(f"--export {suffix}: the exported network disagrees with the built one by {difference:.3g}")


# --- standalone source ----------------------------------------------------------------------

HEADER = '''"""{name}: a standalone PyTorch definition, written by `python -m nasbench.rebuild`.

It needs torch alone. Below are nasbench's error root (search_spaces/errors.py), op
catalog (search_spaces/ops.py) and builder (search_spaces/build.py), copied verbatim, then
the network's genotype. `build()` returns the network with the parameter names nasbench
gives it, so a state_dict saved from a network nasbench built loads here with strict=True.
`python {file}` prints a summary.
"""
from __future__ import annotations
'''

FOOTER = '''

# ---- the network ---------------------------------------------------------------------

GENOTYPE = {literal}


def build(num_classes: int | None = None) -> Network:
    """The network of ``GENOTYPE``; ``num_classes`` overrides its classifier width."""
    return build_network(GENOTYPE, num_classes=num_classes)


MODEL = build()


def summary() -> str:
    """One line: parameters, and the output shape of a forward pass in eval mode."""
    size = GENOTYPE.get("input_size", [224, 224])
    x = torch.zeros(1, GENOTYPE.get("input_channels", 3), *size)
    was_training = MODEL.training
    MODEL.eval()
    with torch.no_grad():
        y = MODEL(x)
    MODEL.train(was_training)
    params = sum(p.numel() for p in MODEL.parameters())
    return f"{{GENOTYPE.get('name') or 'network'}}: {{params:,}} parameters, input {{tuple(x.shape)}} -> output {{tuple(y.shape)}}"


if __name__ == "__main__":
    print(summary())
'''


def standalone_source(genotype: Mapping[str, Any], file_name: str = "this_file.py") -> str:
    """Python source that imports torch alone and defines ``GENOTYPE``, ``build()`` and
    ``MODEL`` (see the module docstring)."""
    embedded = {module.__name__.rpartition(".")[2]: _top_level_names(inspect.getsource(module)) for module in EMBEDDED}
    # A name is text for a docstring: non-printable characters (a NUL would stop compile) become spaces.
    name = "".join(ch if ch.isprintable() else " " for ch in str(genotype.get("name") or "network"))
    title = " ".join(name.replace("\\", "/").replace('"', "'").split())
    parts = [HEADER.format(name=title, file=file_name)]
    for module in EMBEDDED:
        relative = f"search_spaces/{Path(inspect.getsourcefile(module) or module.__name__).name}"
        parts.append(f"\n# ---- {relative} " + "-" * max(4, 84 - len(relative)) + "\n")
        parts.append(_embeddable(module, embedded))
    literal = pprint.pformat(dict(genotype), width=100, sort_dicts=False)
    if ast.literal_eval(literal) != dict(genotype):
        raise ExportError("--export .py: the genotype does not survive as a Python literal")
    parts.append(FOOTER.format(literal=literal))
    source = "".join(parts)
    compile(source, file_name, "exec")  # a syntax error here is a bug of this module
    return source


def _embeddable(module: ModuleType, embedded: Mapping[str, set[str]]) -> str:
    """A module's source without its ``__future__`` import and its imports from the
    ``search_spaces`` package, which the standalone file defines itself (only imports of
    names that an ``embedded`` module defines can be dropped; anything else cannot be
    embedded)."""
    source = inspect.getsource(module)
    drop: set[int] = set()
    for statement in ast.parse(source).body:
        if isinstance(statement, ast.ImportFrom) and (statement.module == "__future__" or statement.level > 0):
            if statement.level > 0:
                missing = [alias.name for alias in statement.names
                           if alias.name not in embedded.get(statement.module or "", set())]
                if missing:
                    raise ExportError(f"--export .py: {module.__name__} imports {', '.join(missing)} from "
                                      f"'.{statement.module}', which the standalone file does not embed")
            drop.update(range(statement.lineno, (statement.end_lineno or statement.lineno) + 1))
        elif isinstance(statement, (ast.Import, ast.ImportFrom)):
            roots = [alias.name.split(".")[0] for alias in statement.names] if isinstance(statement, ast.Import) \
                else [(statement.module or "").split(".")[0]]
            for root in roots:
                if root != "torch" and root not in sys.stdlib_module_names:
                    raise ExportError(f"--export .py: {module.__name__} imports {root}; the standalone file "
                                      "may import torch and the standard library only")
    lines = source.splitlines()
    return "\n".join(line for number, line in enumerate(lines, start=1) if number not in drop).strip("\n") + "\n"


def _top_level_names(source: str) -> set[str]:
    names: set[str] = set()
    for statement in ast.parse(source).body:
        if isinstance(statement, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)):
            names.add(statement.name)
        elif isinstance(statement, (ast.Assign, ast.AnnAssign)):
            targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            names.update(t.id for t in targets if isinstance(t, ast.Name))
    return names
