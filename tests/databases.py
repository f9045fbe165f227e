"""Test databases from templates: each seeded world is built once per session and copied
for every test that asks for it.

Every test starts on a database of its own in the state its fixtures ask for: migrated and
empty, or a seeded world (an organisation imported, bpmn/ deployed, the demo city loaded …).
Building a world costs far more than copying one, so each is built once per session (on
first use) into a *template*, and every test that asks for it gets a copy:

* SQLite — a template is a file whose write-ahead log has been checkpointed into it; a
  test's database is a byte copy of that file in the test's ``tmp_path``.
* PostgreSQL — tests run on the test database (``IRPM_TEST_DATABASE_URL``), as before, and a
  template is a schema of it holding a copy of every table of ``public`` and the sequences'
  values. A copy is one transaction that empties ``public``'s tables, refills them from the
  template's and sets the sequences: a few milliseconds, where emptying every table with
  ``TRUNCATE`` took a few tenths of a second and ``CREATE DATABASE … TEMPLATE`` most of a
  second (it copies the system catalogs too).

A copy holds exactly what the template holds: the same rows, ids, sequences and simulated
clock. Nothing outside the database is shared: each test opens its own ``Runtime`` (caches,
listeners, operators, extensions) on its copy, and files (evidence) live in its tmp_path.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from engine.db import make_engine
from engine.migrate import upgrade
from engine.settings import Settings

#: Seeds a database (a copy of its base template), given its settings; what it returns is
#: kept with the template. It must close every connection it opens.
Seed = Callable[[Settings], Any]


@dataclass(frozen=True)
class Template:
    """A built template: ``lineage`` is the chain of templates it was built on, itself last
    (``("migrated", "inbox_org")``); ``seeded`` is what its seed returned."""

    lineage: tuple[str, ...]
    seeded: Any = None

    @property
    def name(self) -> str:
        return self.lineage[-1]


#: The names of the ``@world`` fixtures.
WORLDS: set[str] = set()


def world(build: Callable[..., Template]) -> Any:
    """Declare a seeded world: a session-scoped fixture that builds its ``Template`` once.
    A test that depends on it, directly or through other fixtures (as parameters: the test's
    fixture closure is what ``database_url`` looks at), gets a copy of it as its database;
    the fixtures that hand the world to the test then only open a runtime on that copy."""
    WORLDS.add(build.__name__)
    return pytest.fixture(scope="session")(build)


def world_of(request: pytest.FixtureRequest) -> Template | None:
    """The world the requesting test asks for: the deepest ``@world`` among its fixtures (a
    world may be asked for together with the worlds it is built on), or None."""
    asked: list[Template] = [request.getfixturevalue(name) for name in request.fixturenames
                             if name in WORLDS]
    if not asked:
        return None
    deepest = max(asked, key=lambda template: len(template.lineage))
    others = [t.name for t in asked if deepest.lineage[:len(t.lineage)] != t.lineage]
    if others:
        raise RuntimeError(f"{request.node.nodeid} asks for the worlds {deepest.name} and "
                           f"{', '.join(others)}; a test's database holds one")
    return deepest


def worker_database_url(url: str, worker: str) -> str:
    """The PostgreSQL test database of the pytest-xdist worker ``worker`` (``gw0``, ``gw1``
    …): ``url``'s database name followed by the worker's, on the same server, so that workers
    running at once never share a database (each restores its templates into its own
    ``public``). ``url`` itself without a worker, or on SQLite (``url`` empty: every test's
    database is already a file of its own)."""
    if not url or not worker:
        return url
    parsed = make_url(url)
    return parsed.set(database=f"{parsed.database}_{worker}").render_as_string(
        hide_password=False)


def migrate(settings: Settings) -> None:
    """The seed of the ``migrated`` template: Alembic's upgrade to head."""
    engine = make_engine(settings.database_url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()


class TestDatabases:
    """Templates and per-test copies on one backend (``for_url`` picks it)."""

    __test__ = False  # not a test class, whatever its name

    @staticmethod
    def for_url(pg_url: str, workdir: Path) -> TestDatabases:
        """The PostgreSQL test database of ``pg_url`` when it is set, else SQLite files
        under ``workdir``."""
        return PostgresDatabases(pg_url) if pg_url else SqliteDatabases(workdir)

    def build(self, name: str, seed: Seed, base: Template | None = None) -> Template:
        """Build the template ``name``: a copy of ``base`` (or an empty database) that
        ``seed`` brings to its state, then kept so that it can be copied."""
        url = self._start(name, base)
        seeded = seed(Settings(database_url=url))
        self._keep(name)
        return Template((*(base.lineage if base else ()), name), seeded)

    def copy(self, template: Template, where: Path) -> str:
        """The test's database in ``template``'s state (files go under ``where``); its URL."""
        raise NotImplementedError

    def separate(self, template: Template, where: Path) -> str:
        """Another database, besides the test's own, in ``template``'s state."""
        raise NotImplementedError

    def drop(self, url: str) -> None:
        """Done with a database ``copy`` or ``separate`` gave (its connections closed)."""

    def close(self) -> None:
        """Remove what this session made."""

    def _start(self, name: str, base: Template | None) -> str:
        raise NotImplementedError

    def _keep(self, name: str) -> None:
        raise NotImplementedError


class SqliteDatabases(TestDatabases):
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir

    def _path(self, name: str) -> Path:
        return self.workdir / f"{name}.db"

    def _start(self, name: str, base: Template | None) -> str:
        path = self._path(name)
        if base is not None:
            shutil.copyfile(self._path(base.name), path)
        return f"sqlite:///{path}"

    def _keep(self, name: str) -> None:
        """Move everything the write-ahead log holds into the file itself: a byte copy of
        the file alone is then the whole database."""
        path = self._path(name)
        with closing(sqlite3.connect(path)) as conn:
            busy, _frames, _moved = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        wal = Path(f"{path}-wal")
        if busy or (wal.exists() and wal.stat().st_size):
            raise RuntimeError(f"template {name}: a connection is still busy after seeding "
                               "(close every runtime and engine the seed opens)")

    def copy(self, template: Template, where: Path) -> str:
        target = where / "irpm.db"
        shutil.copyfile(self._path(template.name), target)
        return f"sqlite:///{target}"

    def separate(self, template: Template, where: Path) -> str:
        return self.copy(template, where)


class PostgresDatabases(TestDatabases):
    """Templates as schemas ``irpm_tmpl_<name>`` of the test database, copied into ``public``
    in place; made and restored through one autocommit connection.

    The restore turns triggers and foreign-key checks off for its transaction
    (``session_replication_role = replica``: register_change refuses deletes), which takes a
    superuser, as tests/pgtmp.py's ``irpm`` is.
    """

    #: A restore waits this long for a lock a leftover connection holds, then fails.
    LOCK_TIMEOUT = "60s"

    def __init__(self, url: str) -> None:
        self.url = url
        self._made = self._make_database(url)
        self._engine = create_engine(url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
        self._admin: Connection = self._engine.connect()
        #: Template name → the SQL that restores it into ``public``.
        self._restores: dict[str, str] = {}
        #: Databases ``separate`` made, by URL.
        self._separate: dict[str, str] = {}
        superuser = self._admin.exec_driver_sql(
            "SELECT rolsuper FROM pg_roles WHERE rolname = current_user").scalar()
        if not superuser:
            self.close()
            raise RuntimeError("the PostgreSQL test user must be a superuser "
                               "(python tests/pgtmp.py -- pytest makes a throwaway server)")
        self._run(f"SET lock_timeout = '{self.LOCK_TIMEOUT}'")

    @staticmethod
    def _make_database(url: str) -> str | None:
        """Create ``url``'s database when it does not exist (a pytest-xdist worker's, see
        ``worker_database_url``), through the server's ``postgres`` database; its name, to
        drop at the end, or None when it was there already (IRPM_TEST_DATABASE_URL's own)."""
        name = make_url(url).database
        if PostgresDatabases._on_server(
                url, f"SELECT 1 FROM pg_database WHERE datname = '{name}'"):
            return None
        PostgresDatabases._on_server(url, f'CREATE DATABASE "{name}"')
        return name

    @staticmethod
    def _on_server(url: str, sql: str) -> Any:
        """Run ``sql`` on ``url``'s server, connected to its ``postgres`` database; the first
        column of the first row it returns, if any."""
        engine = create_engine(make_url(url).set(database="postgres"),
                               isolation_level="AUTOCOMMIT", poolclass=NullPool)
        try:
            with engine.connect() as conn:
                result = conn.exec_driver_sql(sql)
                return result.scalar() if result.returns_rows else None
        finally:
            engine.dispose()

    def _run(self, sql: str) -> None:
        self._admin.exec_driver_sql(sql)

    def _rows(self, sql: str) -> list[Any]:
        return list(self._admin.exec_driver_sql(sql))

    def _start(self, name: str, base: Template | None) -> str:
        if base is None:
            self._run("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
        else:
            self._run(self._restores[base.name])
        return self.url

    def _keep(self, name: str) -> None:
        """Copy every table of ``public`` into the template's schema, and note the SQL that
        restores them and the sequences."""
        schema = f"irpm_tmpl_{name}"
        columns: dict[str, list[str]] = {}
        for table, column in self._rows(
                "SELECT c.relname, a.attname FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "JOIN pg_attribute a ON a.attrelid = c.oid "
                "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND a.attnum > 0 "
                "AND NOT a.attisdropped AND a.attgenerated = '' ORDER BY c.relname, a.attnum"):
            columns.setdefault(table, []).append(f'"{column}"')
        self._run(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE; CREATE SCHEMA "{schema}"; ' +
                  "; ".join(f'CREATE TABLE "{schema}"."{t}" AS SELECT {", ".join(c)} '
                            f'FROM public."{t}"' for t, c in columns.items()))
        filled = {t for t, in self._rows(" UNION ALL ".join(
            f"SELECT '{t}' WHERE EXISTS (SELECT 1 FROM \"{schema}\".\"{t}\")"
            for t in columns))}
        restore = ["BEGIN", "SET LOCAL session_replication_role = replica"]
        restore += [f'DELETE FROM public."{t}"' for t in columns]
        restore += [f'INSERT INTO public."{t}" ({", ".join(c)}) OVERRIDING SYSTEM VALUE '
                    f'SELECT {", ".join(c)} FROM "{schema}"."{t}"'
                    for t, c in columns.items() if t in filled]
        for sequence, start, last in self._rows(
                "SELECT sequencename, start_value, last_value FROM pg_sequences "
                "WHERE schemaname = 'public'"):
            value, called = (start, "false") if last is None else (last, "true")
            restore.append(f"SELECT setval('public.\"{sequence}\"', {value}, {called})")
        restore.append("COMMIT")
        self._restores[name] = "; ".join(restore)

    def copy(self, template: Template, where: Path) -> str:
        self._run(self._restores[template.name])
        return self.url

    def separate(self, template: Template, where: Path) -> str:
        """A database of its own on the server, migrated: only the ``migrated`` template
        (the others live in the test database)."""
        assert template.lineage == ("migrated",), "separate databases are migrated only"
        url = make_url(self.url)
        database = f"{url.database}_{os.getpid()}_{len(self._separate) + 1}"
        self._run(f'CREATE DATABASE "{database}"')
        separate = url.set(database=database).render_as_string(hide_password=False)
        self._separate[separate] = database
        migrate(Settings(database_url=separate))
        return separate

    def drop(self, url: str) -> None:
        database = self._separate.pop(url, None)
        if database:
            self._run(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')

    def close(self) -> None:
        if not self._admin.closed:
            for url in list(self._separate):
                self.drop(url)
            for name in self._restores:
                self._run(f'DROP SCHEMA IF EXISTS "irpm_tmpl_{name}" CASCADE')
            self._admin.close()
        self._engine.dispose()
        if self._made:
            self._on_server(self.url, f'DROP DATABASE IF EXISTS "{self._made}" WITH (FORCE)')
            self._made = None
