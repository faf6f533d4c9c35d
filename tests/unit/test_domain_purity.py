"""The domain reads no clock and no environment (import-linter checks imports in CI)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

DOMAIN = Path(__file__).resolve().parents[2] / "src" / "rebalancer" / "domain"
FORBIDDEN_CALLS = {"now", "utcnow", "today", "time", "monotonic", "getenv", "perf_counter"}


@pytest.mark.parametrize("module", sorted(p.name for p in DOMAIN.glob("*.py")))
def test_domain_module_reads_no_clock_or_environment(module: str) -> None:
    tree = ast.parse((DOMAIN / module).read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            assert node.func.attr not in FORBIDDEN_CALLS, f"{module}:{node.lineno}"
        if isinstance(node, ast.Attribute):
            assert node.attr != "environ", f"{module}:{node.lineno}"
