"""The folder tree is the map: imports run one way, from the commands down to the networks.

Every module's imports are read with ``ast`` (those inside functions and under
``TYPE_CHECKING`` included: an import that only runs later still ties the two modules
together), each resolved to the module of the project it names, and the graph is checked:
no import cycle, and no import from a lower layer up to a higher one. ``LAYERS`` below is
the one place the order lives; a package's docstring says what it holds and may import.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("nasbench", "search_spaces")

# Top to bottom. A module belongs to the first layer with a prefix of its name; it may
# import its own layer (with no cycle) and every layer below. ``__main__`` modules and the
# package roots are entry points, above everything.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("entry points", ("nasbench", "nasbench.search", "nasbench.rebuild", "nasbench.evaluate",
                      "nasbench.transfer", "nasbench.finetune", "nasbench.dashboard", "*.__main__")),
    ("commands", ("nasbench.cli",)),
    ("API", ("nasbench.api",)),
    ("view", ("nasbench.view",)),
    ("config edge", ("nasbench.config",)),
    ("one-shot", ("nasbench.oneshot",)),
    ("executors", ("nasbench.executors",)),
    ("run", ("nasbench.run",)),
    ("evaluators", ("nasbench.evaluators",)),
    ("training", ("nasbench.train",)),
    ("networks", ("nasbench.networks",)),
    ("strategies", ("nasbench.strategies",)),
    ("tables", ("nasbench.tables",)),
    ("data", ("nasbench.data",)),
    ("core", ("nasbench.core",)),
    ("search_spaces: formats, supernet, published cells", ("search_spaces.formats", "search_spaces.supernet",
                                                           "search_spaces.published")),
    ("search_spaces: spaces", ("search_spaces.spaces",)),
    ("search_spaces: zoo, skeletons, blocks", ("search_spaces.zoo", "search_spaces.skeletons", "search_spaces.blocks")),
    ("search_spaces: genotype, builder", ("search_spaces.build", "search_spaces.genotype")),
    ("search_spaces: errors, ops, the DSL, registry, kinds", ("search_spaces.errors", "search_spaces.ops",
                                                              "search_spaces.dsl", "search_spaces.registry",
                                                              "search_spaces.value_kinds", "search_spaces")),
)


def project_modules(root: Path = ROOT) -> dict[str, Path]:
    """Every module of the project's packages: dotted name -> file."""
    modules = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


def _owner(name: str, modules: dict[str, Path]) -> str | None:
    """The project module an imported name lives in (``a.b.c`` -> ``a.b`` if ``c`` is a name)."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def imports_of(module: str, path: Path, modules: dict[str, Path]) -> dict[str, int]:
    """The project modules ``module`` imports, each with the line of its first import."""
    found: dict[str, int] = {}
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([node.module] if node.module else []))
            names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", None)) == "import_module":
            if node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
                names = [node.args[0].value]
        for name in names:
            owner = _owner(name, modules)
            if owner is not None and owner != module:
                found.setdefault(owner, node.lineno)
    return found


def import_graph(root: Path = ROOT) -> dict[str, dict[str, int]]:
    modules = project_modules(root)
    return {module: imports_of(module, path, modules) for module, path in modules.items()}


def layer_of(module: str) -> int | None:
    """The index of ``module``'s layer in ``LAYERS`` (0 is the top); None: it has none."""
    if module.endswith(".__main__"):
        return 0
    best = None
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            exact = module == prefix
            if exact or (module.startswith(prefix + ".") and prefix not in PACKAGES):
                if exact or best is None or len(prefix) > best[1]:
                    best = (index, len(prefix) + (1000 if exact else 0))
    return None if best is None else best[0]


def cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """The import cycles: each strongly connected component of more than one module (or a
    module importing itself), by Tarjan's algorithm, sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for target in graph.get(module, {}):
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in on_stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return sorted(found)


def upward_imports(graph: dict[str, dict[str, int]]) -> list[str]:
    """Each import from a module of a lower layer up to a module of a higher one."""
    found = []
    for module, targets in sorted(graph.items()):
        for target, line in sorted(targets.items()):
            below, above = layer_of(module), layer_of(target)
            if below is not None and above is not None and above < below:
                found.append(f"{module} (line {line}, layer {LAYERS[layer_of(module)][0]!r}) imports {target} "
                             f"(layer {LAYERS[layer_of(target)][0]!r})")
    return found


@pytest.fixture(scope="module")
def graph() -> dict[str, dict[str, int]]:
    return import_graph()


def test_every_module_has_a_layer(graph):
    assert [module for module in graph if layer_of(module) is None] == []


def test_no_import_cycles(graph):
    assert cycles(graph) == []


def test_no_import_runs_up_the_layers(graph):
    assert upward_imports(graph) == []


def test_search_spaces_imports_nothing_of_nasbench(graph):
    assert [f"{m} imports {t}" for m, ts in graph.items() if m.startswith("search_spaces") for t in ts
            if t.startswith("nasbench")] == []


def test_every_package_says_what_it_holds_and_may_import():
    for module, path in project_modules().items():
        if path.name == "__init__.py" and module != "search_spaces":
            docstring = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
            assert "import" in docstring and len(docstring.split()) >= 25, f"{module}: say what it holds and imports"


def test_the_checks_catch_a_cycle_and_an_upward_import(tmp_path):
    """On a made-up tree: the checks are not blind."""
    for name, text in {"nasbench/__init__.py": "", "nasbench/core/__init__.py": "",
                       "nasbench/core/a.py": "def f():\n    from nasbench.run import b\n",
                       "nasbench/run/__init__.py": "", "nasbench/run/b.py": "import nasbench.core.a\n",
                       "search_spaces/__init__.py": ""}.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    made_up = import_graph(tmp_path)
    assert cycles(made_up) == [["nasbench.core.a", "nasbench.run.b"]]
    assert upward_imports(made_up) == ["nasbench.core.a (line 2, layer 'core') imports nasbench.run.b (layer 'run')"]
