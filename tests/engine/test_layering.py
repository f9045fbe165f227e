"""The dependency arrows point one way.

engine/ is plain Python: it never imports web/, scheduler/ or Flask, so jobs and the CLI use
it without an app context. Inside it, the generic BPM runtime never imports the integrity
programme (``engine.programme``): the programme plugs into the runtime through the runtime's
extension points (resolver, directory, lane roles, task columns, operators, listeners),
assembled in ``engine.programme.composition``."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ENGINE = Path(__file__).resolve().parents[2] / "engine"
PROGRAMME = ENGINE / "programme"
OUTER = ("web", "scheduler", "flask", "flask_login", "flask_wtf", "apscheduler")
RUNTIME_MODULES = sorted(p for p in ENGINE.rglob("*.py") if PROGRAMME not in p.parents)

def _module_of(path: Path) -> str:
    parts = list(path.relative_to(ENGINE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, module: str | None = None) -> set[str]:
    """Every module ``path`` imports, as absolute dotted names (relative imports resolved
    from ``module``, by default the file's own dotted name)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = (module or _module_of(path)).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            names.add(module)
            names |= {f"{module}.{alias.name}" for alias in node.names}
    return names


def _top(names: set[str]) -> set[str]:
    return {name.split(".")[0] for name in names}


@pytest.mark.parametrize("path", sorted(ENGINE.rglob("*.py")),
                         ids=lambda p: str(p.relative_to(ENGINE)))
def test_engine_module_imports_no_outer_layer(path: Path) -> None:
    assert not _top(imports(path)) & set(OUTER), path


@pytest.mark.parametrize("path", RUNTIME_MODULES, ids=lambda p: str(p.relative_to(ENGINE)))
def test_the_runtime_never_imports_the_programme(path: Path) -> None:
    leaks = sorted(n for n in imports(path) if n == "engine.programme"
                   or n.startswith("engine.programme."))
    assert not leaks, (f"{path.relative_to(ENGINE)} imports {leaks}: the programme plugs in "
                       "through the runtime's extension points (engine.programme.composition)")


def test_the_checks_see_forbidden_imports(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text("from web.cli import main\nimport flask\n"
                     "from ..programme.services import register\n"
                     "from engine.programme import composition\n", encoding="utf-8")
    found = imports(probe, "engine.services.probe")
    assert _top(found) & set(OUTER) == {"web", "flask"}
    assert {"engine.programme.services", "engine.programme.services.register",
            "engine.programme", "engine.programme.composition"} <= found
