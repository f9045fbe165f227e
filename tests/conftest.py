"""Shared fixtures: a database per test, on SQLite or on the PostgreSQL server that ``make
test`` starts (IRPM_TEST_DATABASE_URL), copied from a template built once per session
(tests/databases.py): the migrated empty database, or a seeded world."""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

import engine.programme.models  # noqa: F401  (the whole schema: the programme's tables too)
from engine.actors import Actor
from engine.parsing import Source, read_sources
from engine.runtime import Runtime
from engine.services import deployment
from engine.settings import PROJECT_ROOT, Settings
from tests.databases import Template, TestDatabases, migrate, worker_database_url, world_of
from tests.routing import SharedBuilderRule
from tests.worlds import (  # noqa: F401  (fixtures)
    demo_city_world,
    inbox_org_world,
    programme_town_world,
    rehearsal_town_world,
    rehearsed_town_world,
)

#: This process's PostgreSQL test database: IRPM_TEST_DATABASE_URL's, or under pytest-xdist
#: (``-n 2``) one database per worker beside it (tests/databases.py makes it).
PG_URL = worker_database_url(os.environ.get("IRPM_TEST_DATABASE_URL", ""),
                             os.environ.get("PYTEST_XDIST_WORKER", ""))
BPMN_DIR = PROJECT_ROOT / "bpmn"
FIXTURES = Path(__file__).parent / "fixtures"


def pytest_report_header() -> str:
    if PG_URL:
        return (f"database: PostgreSQL ({PG_URL.rsplit('@', 1)[-1]}, restored from its "
                "template for each test)")
    return "database: SQLite (a file per test, copied from its template)"


def pytest_collection_finish(session: pytest.Session) -> None:
    """Everything imported and collected so far lives as long as the session: moved out of
    the garbage collector's sight (``gc.freeze``), so that each full collection during the
    tests — a few dozen per hundred tests — no longer walks the hundreds of thousands of
    objects of SQLAlchemy, SpiffWorkflow, Flask and the test modules (a fifth of a web
    test's CPU time went to the collector; a third of that is saved). What the tests create
    is collected as before."""
    gc.collect()
    gc.freeze()


@pytest.fixture(autouse=True)
def _no_embedded_scheduler(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test starts a scheduler by accident (``irpm serve``, ``web.wsgi``): the scheduler
    tests start theirs explicitly."""
    monkeypatch.setenv("IRPM_SCHEDULER", "off")


@pytest.fixture(autouse=True, scope="session")
def _shared_url_builders() -> Iterator[None]:
    """Every app the session builds shares its rules' compiled URL builders with the apps
    built before it (tests/routing.py): each web test builds an app of its own."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Flask, "url_rule_class", SharedBuilderRule)
        yield


@pytest.fixture(scope="session")
def test_databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestDatabases]:
    """Where this session's templates live: files under a session directory (SQLite), or
    schemas of the PostgreSQL test database (dropped at the end)."""
    databases = TestDatabases.for_url(PG_URL, tmp_path_factory.mktemp("templates"))
    yield databases
    databases.close()


@pytest.fixture(scope="session")
def migrated_template(test_databases: TestDatabases) -> Template:
    """Alembic's upgrade to head, run for real once per session: every test's database
    starts from it (``irpm db upgrade`` itself is tested in tests/web/test_cli.py)."""
    return test_databases.build("migrated", migrate)


@pytest.fixture
def database_url(request: pytest.FixtureRequest, test_databases: TestDatabases,
                 migrated_template: Template, tmp_path: Path) -> Iterator[str]:
    """This test's own database: a copy of the seeded world its fixtures ask for (a
    ``@world`` fixture among them, e.g. ``inbox_org_world``), else of the migrated empty
    database: a file in tmp_path (SQLite), or the test database restored (PostgreSQL)."""
    url = test_databases.copy(world_of(request) or migrated_template, tmp_path)
    yield url
    test_databases.drop(url)


@pytest.fixture
def second_database_url(test_databases: TestDatabases, migrated_template: Template,
                        tmp_path: Path) -> Iterator[str]:
    """Another migrated empty database for the same test (e.g. to load something twice)."""
    where = tmp_path / "second"
    where.mkdir()
    url = test_databases.separate(migrated_template, where)
    yield url
    test_databases.drop(url)


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
