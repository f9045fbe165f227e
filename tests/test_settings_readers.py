"""One settings reader per package: every ``IRPM_*`` variable is read, and defaulted, in
``engine/settings.py``, ``web/config.py`` or ``scheduler/config.py`` — nowhere else — and
README.md's "设置 · Settings" lists every one of them."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from web import config as web_config

ROOT = Path(__file__).resolve().parents[1]
READERS = {"engine/settings.py", "web/config.py", "scheduler/config.py"}
SOURCES = sorted(p for package in ("engine", "web", "scheduler")
                 for p in (ROOT / package).rglob("*.py"))
VARIABLE = re.compile(r"IRPM_[A-Z0-9_]*[A-Z0-9]")
NAMES = ("environ", "environb", "getenv", "getenvb")


def reads_environment(path: Path) -> list[int]:
    """The lines of ``path`` that touch ``os.environ`` / ``os.getenv`` / ``environ``
    imported from os."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return sorted(node.lineno for node in ast.walk(tree) if _touches(node))


def _touches(node: ast.AST) -> bool:
    if isinstance(node, ast.Attribute):  # os.environ, not a WSGI request's environ
        return node.attr in NAMES and isinstance(node.value, ast.Name) and node.value.id == "os"
    if isinstance(node, ast.ImportFrom):
        return node.module == "os" and any(alias.name in NAMES for alias in node.names)
    return False


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_only_the_settings_modules_read_the_environment(path: Path) -> None:
    relative = str(path.relative_to(ROOT))
    if relative not in READERS:
        assert not reads_environment(path), \
            f"{relative} reads the environment: read it in its package's settings module"


def test_the_checks_see_a_reader(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text("import os\nfrom os import getenv\nx = os.environ.get('IRPM_X')\n"
                     "y = request.environ\n", encoding="utf-8")
    assert reads_environment(probe) == [2, 3]


def _literals(relative: str) -> set[str]:
    tree = ast.parse((ROOT / relative).read_text(encoding="utf-8"))
    return {node.value for node in ast.walk(tree) if isinstance(node, ast.Constant)
            and isinstance(node.value, str) and VARIABLE.fullmatch(node.value)}


def test_the_readme_lists_every_variable() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## 设置 · Settings", 1)[1].split("\n## ", 1)[0]
    listed = {name for row in section.splitlines() if row.startswith("| `")
              for name in VARIABLE.findall(row.split("|")[1])}
    read = (_literals("engine/settings.py") | _literals("engine/mail.py")
            | _literals("scheduler/config.py") | set(web_config.VARIABLES))
    assert read - listed == set()
    assert "IRPM_USER" in listed  # the CLI's --user, through click's envvar


def test_the_web_app_reads_its_variables_in_web_config() -> None:
    found = web_config.from_env({
        "IRPM_EVIDENCE_DIR": "/srv/evidence", "IRPM_MAX_EVIDENCE_BYTES": "1024",
        "IRPM_FEEDBACK_PROCESS": "api_feedback", "IRPM_FEEDBACK_LIMIT": "3",
        "IRPM_FEEDBACK_WINDOW": "60", "IRPM_SMTP_HOST": "smtp.example.cn", "IRPM_SMTP_PORT": "",
        "IRPM_BASE_URL": "https://irpm.example/", "IRPM_UNKNOWN": "x"})
    assert found == {"IRPM_EVIDENCE_DIR": "/srv/evidence", "IRPM_MAX_EVIDENCE_BYTES": 1024,
                     "IRPM_FEEDBACK_PROCESS": "api_feedback", "IRPM_FEEDBACK_LIMIT": 3,
                     "IRPM_FEEDBACK_WINDOW": 60.0, "IRPM_SMTP_HOST": "smtp.example.cn",
                     "IRPM_BASE_URL": "https://irpm.example/"}
    defaults = web_config.defaults()
    assert defaults["IRPM_EVIDENCE_DIR"] == str(web_config.INSTANCE_PATH / "evidence")
    assert [defaults[key] for key in ("IRPM_MAX_EVIDENCE_BYTES", "IRPM_FEEDBACK_PROCESS",
                                      "IRPM_FEEDBACK_LIMIT", "IRPM_FEEDBACK_WINDOW")] == [
        10 * 1024 * 1024, "post_cycle", 5, 3600.0]
    with pytest.raises(ValueError, match="invalid literal"):
        web_config.from_env({"IRPM_FEEDBACK_LIMIT": "many"})
