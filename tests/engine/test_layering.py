"""engine/ is plain Python: it never imports web/, scheduler/ or Flask, so jobs and the CLI
use it without an app context and the dependency arrow points one way."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ENGINE = Path(__file__).resolve().parents[2] / "engine"
FORBIDDEN = ("web", "scheduler", "flask", "flask_login", "flask_wtf", "apscheduler")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("path", sorted(ENGINE.rglob("*.py")), ids=lambda p: str(p.name))
def test_engine_module_imports_no_outer_layer(path: Path) -> None:
    assert not _imports(path) & set(FORBIDDEN), path


def test_the_check_sees_a_forbidden_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("from web.cli import main\nimport flask\n", encoding="utf-8")
    assert _imports(bad) & set(FORBIDDEN) == {"web", "flask"}
