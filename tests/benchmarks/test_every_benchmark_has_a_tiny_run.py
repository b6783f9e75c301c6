"""Benchmarks cannot rot unseen: every script in ``benchmarks/`` has a test module here that
runs it at a tiny size in the default suite (not marked slow)."""
from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_every_benchmark_script_has_a_tiny_run_in_the_default_suite():
    missing = []
    for script in sorted((REPO / "benchmarks").glob("*.py")):
        test = REPO / "tests" / "benchmarks" / f"test_{script.stem}.py"
        if not test.is_file():
            missing.append(f"{script.name}: no {test.relative_to(REPO)}")
            continue
        tree = ast.parse(test.read_text(encoding="utf-8"))
        default_runs = [node.name for node in tree.body if isinstance(node, ast.FunctionDef)
                        and node.name.startswith("test_") and ("main" in ast.unparse(node) or "run" in node.name)
                        and "pytest.mark.slow" not in map(ast.unparse, node.decorator_list)]
        if not default_runs:
            missing.append(f"{script.name}: {test.name} runs it only in slow tests, or not at all")
    assert missing == []
