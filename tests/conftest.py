"""Shared fixtures: a migrated database per test, on SQLite or on the PostgreSQL server that
``make test`` starts (IRPM_TEST_DATABASE_URL)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

import engine.programme.models  # noqa: F401  (the whole schema: the programme's tables too)
from engine.actors import Actor
from engine.db import make_engine
from engine.migrate import upgrade
from engine.models import Base
from engine.parsing import Source, read_sources
from engine.runtime import Runtime
from engine.services import deployment
from engine.settings import PROJECT_ROOT, Settings

PG_URL = os.environ.get("IRPM_TEST_DATABASE_URL", "")
BPMN_DIR = PROJECT_ROOT / "bpmn"
FIXTURES = Path(__file__).parent / "fixtures"


def pytest_report_header() -> str:
    if PG_URL:
        return f"database: PostgreSQL ({PG_URL.rsplit('@', 1)[-1]})"
    return "database: SQLite (a migrated file per test)"


@pytest.fixture(autouse=True)
def _no_embedded_scheduler(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test starts a scheduler by accident (``irpm serve``, ``web.wsgi``): the scheduler
    tests start theirs explicitly."""
    monkeypatch.setenv("IRPM_SCHEDULER", "off")


@pytest.fixture(scope="session")
def _template(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Migrate once per session: a template SQLite file, or the PostgreSQL test database."""
    if PG_URL:
        engine = make_engine(PG_URL)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        upgrade(engine)
        engine.dispose()
        return PG_URL
    path = tmp_path_factory.mktemp("template") / "irpm.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return str(path)


@pytest.fixture
def database_url(_template: str, tmp_path: Path) -> Iterator[str]:
    if PG_URL:
        engine = make_engine(PG_URL)
        tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
        with engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        engine.dispose()
        yield PG_URL
        return
    target = tmp_path / "irpm.db"
    shutil.copyfile(_template, target)
    yield f"sqlite:///{target}"


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url)


@pytest.fixture
def rt(settings: Settings) -> Iterator[Runtime]:
    runtime = Runtime(settings)
    yield runtime
    runtime.close()


@pytest.fixture
def deployed(rt: Runtime) -> Runtime:
    """A runtime with everything in bpmn/ deployed."""
    with rt.uow() as uow:
        deployment.deploy(uow, read_sources([BPMN_DIR]), deployed_by="tests")
    return rt


def deploy_text(rt: Runtime, filename: str, xml: str) -> list[deployment.DeployedProcess]:
    with rt.uow() as uow:
        return deployment.deploy(uow, [Source(filename, xml.encode())], deployed_by="tests")


POST_HOLDER = Actor("zhangsan", frozenset({"post_holder"}))
DEPARTMENT_HEAD = Actor("lisi", frozenset({"department_head"}))
DISCIPLINE_OFFICER = Actor("wangwu", frozenset({"discipline_officer"}))
OUTSIDER = Actor("zhaoliu", frozenset({"staff"}))
ADMIN = Actor("admin", frozenset(), is_admin=True)
