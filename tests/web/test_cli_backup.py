"""``irpm backup`` / ``irpm restore`` (web/cli/backup.py, engine/services/backup.py): the
restore drill of README's 安全 · Security section, on SQLite and on PostgreSQL.

A town rehearsed for six weeks (instances, open tasks, waiting timers, the risk register,
audit rows) and an evidence file are backed up while nothing stops, restored into an empty
database, and every table is compared with the original row by row (counts and a digest of
the rows); the app starts on the restored database, serves the evidence file and completes a
task there. A damaged, altered, foreign or future archive, and a target that is not empty,
are refused with one clear line and change nothing; ``--force`` replaces the target; a
backup of an older schema is migrated to head.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, inspect, select
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from engine.actors import Actor
from engine.db import make_engine
from engine.migrate import current_revision, upgrade
from engine.models import AuditEntry, Evidence, HumanTask, TaskState
from engine.programme import membership
from engine.programme.composition import programme_runtime
from engine.programme.rehearsal import rehearse
from engine.programme.rehearsal_answers import Asked, answer
from engine.programme.services.organisation import actor_for
from engine.runtime import Runtime
from engine.services import clock, evidence
from engine.settings import Settings
from tests.conftest import PG_URL
from tests.databases import Template, TestDatabases, world

from .conftest import make_app
from .test_cli import Irpm

CHINA = timezone(timedelta(hours=8))
#: The rehearsal stops here: the launch milestone's timers, publicity periods and the
#: discovery tasks of the units that lag are still waiting.
UNTIL = datetime(2011, 2, 15, 9, 0, tzinfo=CHINA)
PASSWORD = "test-password-2011"  # tests/engine/programme/rehearsal_town.py's
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8


def seed_rehearsed_town(settings: Settings) -> int:
    """Six weeks of the rehearsal, and a move of the clock an administrator made (an audit
    row); the campaign's instance id."""
    rt = programme_runtime(settings)
    try:
        campaign = rehearse(rt, until=UNTIL).campaign_id
        with rt.uow() as uow:
            clock.move_clock(uow, by=timedelta(hours=1), reason="restore drill",
                             audited_by=Actor("admin", frozenset(), is_admin=True))
        return campaign
    finally:
        rt.close()


@world
def rehearsed_town_world(test_databases: TestDatabases,
                         rehearsal_town_world: Template) -> Template:
    return test_databases.build("rehearsed_town", seed_rehearsed_town, rehearsal_town_world)


# ------------------------------------------------------------------------- databases


@pytest.fixture
def new_database(tmp_path: Path) -> Iterator[Callable[[], str]]:
    """Makes empty databases (no table at all): a file not yet created (SQLite), or a new
    database on the test server (PostgreSQL), dropped afterwards."""
    made: list[str] = []
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT",
                          poolclass=NullPool) if PG_URL else None

    def make() -> str:
        name = f"restore_{uuid.uuid4().hex[:12]}"
        if admin is None:
            (tmp_path / name).mkdir()
            return f"sqlite:///{tmp_path / name / 'irpm.db'}"
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        made.append(name)
        return make_url(PG_URL).set(database=name).render_as_string(hide_password=False)

    yield make
    if admin is not None:
        with admin.connect() as conn:
            for name in made:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def table_digests(url: str) -> dict[str, tuple[int, str]]:
    """Every table's row count and a digest of its rows (sorted, so the order the database
    returns them in does not matter); the audit log without the restore's own entries."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            found = {}
            for table in sorted(inspect(conn).get_table_names()):
                where = {"admin_audit": " WHERE action <> 'restore'",
                         # the audit log's chain head moved on by the restore's entry
                         "audit_chain_head": " WHERE name <> 'admin_audit'"}.get(table, "")
                rows = sorted(repr(tuple(row)) for row in
                              conn.exec_driver_sql(f'SELECT * FROM "{table}"{where}'))
                found[table] = (len(rows), hashlib.sha256("\n".join(rows).encode())
                                .hexdigest())
            return found
    finally:
        engine.dispose()


def audit_actions(url: str) -> list[tuple[str, str, dict[str, Any] | None]]:
    rt = Runtime(Settings(database_url=url))
    try:
        with rt.uow(write=False) as uow:
            return [(e.action, e.target, e.details) for e in uow.session.scalars(
                select(AuditEntry).order_by(AuditEntry.id))]
    finally:
        rt.close()


class Shell:
    """``irpm`` on one database and evidence store."""

    def __init__(self, url: str, store: Path) -> None:
        self.irpm = Irpm(url)
        self.irpm.runner.env.update({"IRPM_EVIDENCE_DIR": str(store), "IRPM_USER": "admin"})

    def json(self, *args: Any) -> Any:
        return self.irpm.json(*args)

    def fails(self, *args: Any) -> str:
        return self.irpm.fails(*args)


# ------------------------------------------------------------------------- the town


def worker_of(uow: Any, task: HumanTask) -> Actor | None:
    """Someone the open task is routed to and does not exclude."""
    people = set(task.candidate_users)
    for members in membership.members(uow, task.candidate_groups).values():
        people |= members
    excluded = set(task.excluded_users)
    for members in membership.members(uow, task.excluded_groups).values():
        excluded |= members
    chosen = sorted(people - excluded)
    return actor_for(uow, chosen[0]) if chosen else None


def open_task_with_worker(rt: Runtime) -> tuple[uuid.UUID, str, str, Actor]:
    with rt.uow(write=False) as uow:
        for task in uow.session.scalars(select(HumanTask).where(
                HumanTask.state == TaskState.OPEN).order_by(HumanTask.created_at,
                                                             HumanTask.id)):
            actor = worker_of(uow, task)
            if actor is not None:
                return task.id, task.element_id, task.post_code or task.unit_code or "", actor
    raise AssertionError("the rehearsed town has no open task anyone can work on")


@pytest.fixture
def town(settings: Settings, rehearsed_town_world: Template,
         tmp_path: Path) -> Iterator[tuple[Runtime, Path]]:
    """The rehearsed town, and an evidence file attached to an open task in its store."""
    rt = programme_runtime(settings)
    store = tmp_path / "evidence"
    task_id, _element, _code, actor = open_task_with_worker(rt)
    with rt.uow() as uow:
        evidence.attach_evidence(uow, task_id, actor, "扫描件.png", PNG, store=store,
                                 max_bytes=len(PNG))
    yield rt, store
    rt.close()


def test_restore_drill_every_row_and_file_comes_back_and_the_app_works_on_it(
        town: tuple[Runtime, Path], database_url: str, new_database: Callable[[], str],
        rehearsed_town_world: Template, tmp_path: Path) -> None:
    rt, store = town
    before = table_digests(database_url)
    for table in ("process_instance", "task", "timer", "risk_point", "register_change",
                  "admin_audit", "instance_event", "evidence"):
        assert before[table][0] > 0, f"the rehearsed town has no {table} row to restore"
    archive = tmp_path / "irpm-backup.tar.gz"

    made = Shell(database_url, store).json("backup", archive, "--reason", "drill")

    assert (made["database"], made["evidence_files"], made["evidence_missing"]) == (
        rt.db.dialect.name, 1, [])
    assert made["tables"]["task"] == before["task"][0]
    assert audit_actions(database_url)[-1][:2] == ("backup", "backup:irpm-backup.tar.gz")

    target, restored_store = new_database(), tmp_path / "restored-evidence"
    restored = Shell(target, restored_store).json("restore", archive)

    assert restored["revision"] == restored["backup_revision"] == current_revision(rt.db)
    assert restored["evidence_written"] == 1 and restored["replaced"] == []
    assert table_digests(target) == before
    chains = Shell(target, restored_store).json("audit", "verify")["chains"]
    assert [c["broken"] for c in chains] == [None] * 3  # the chains came back, intact
    [(_restore, what, details)] = [a for a in audit_actions(target) if a[0] == "restore"]
    assert what == "backup:irpm-backup.tar.gz"
    # every row restored: the digests' rows and the audit log's chain head they leave out
    assert details is not None and details["rows"] == sum(n for n, _ in before.values()) + 1
    digest = hashlib.sha256(PNG).hexdigest()
    assert (restored_store / digest).read_bytes() == PNG

    # The app starts on the restored database, serves the file and completes a task there.
    again = programme_runtime(Settings(database_url=target))
    try:
        with again.uow(write=False) as uow:
            row = uow.session.scalars(select(Evidence)).one()
            task = uow.session.get(HumanTask, row.task_id)
            assert task is not None
            data = answer(uow, Asked(task.element_id, task.post_code or task.unit_code or "",
                                     task.instance_id), rehearsed_town_world.seeded)
            worker = worker_of(uow, task)
        assert worker is not None
        app = make_app(Settings(database_url=target), IRPM_EVIDENCE_DIR=str(restored_store))
        try:
            client = app.test_client()
            assert client.get("/healthz").status_code == 200
            assert client.post("/login", data={"username": worker.user,
                                               "password": PASSWORD}).status_code == 302
            download = client.get(f"/tasks/{task.id}/evidence/{row.id}")
            assert download.status_code == 200 and download.data == PNG
            done = client.post(f"/api/v1/tasks/{task.id}/complete", json={"data": data})
            assert done.status_code == 200, done.get_json()
        finally:
            app.extensions["irpm"].close()
        with again.uow(write=False) as uow:
            completed = uow.session.get(HumanTask, task.id)
            assert completed is not None and completed.state == TaskState.COMPLETED
            assert completed.completed_by == worker.user
    finally:
        again.close()


def test_a_database_that_is_not_empty_is_refused_unless_forced(
        town: tuple[Runtime, Path], database_url: str, second_database_url: str,
        tmp_path: Path) -> None:
    _rt, store = town
    archive = tmp_path / "town.tar.gz"
    before = table_digests(database_url)  # the backup's own audit entry is not in it
    Shell(database_url, store).json("backup", archive)
    held = table_digests(second_database_url)
    other = Shell(second_database_url, tmp_path / "other-evidence")

    error = other.fails("restore", archive)

    assert "is not restored (nothing was changed)" in error and "is not empty" in error
    assert "--force" in error
    assert table_digests(second_database_url) == held
    assert not (tmp_path / "other-evidence").exists()

    forced = other.json("restore", archive, "--force", "--reason", "replace the test copy")

    assert forced["replaced"] and "admin_audit" in forced["replaced"]
    assert table_digests(second_database_url) == before


# ------------------------------------------------------------------ refused archives


def rewrite(source: Path, target: Path, *, manifest: Callable[[dict[str, Any]], None] = (
        lambda _m: None), member: Callable[[str, bytes], bytes] = lambda _n, data: data,
            rename: dict[str, str] | None = None) -> None:
    """A copy of the archive with its manifest and members edited, as a valid gzip'd tar."""
    with tarfile.open(source, "r:gz") as tar:
        members = [(m.name, tar.extractfile(m).read())  # type: ignore[union-attr]
                   for m in tar.getmembers()]
    with tarfile.open(target, "w:gz") as out:
        for name, data in members:
            if name == "manifest.json":
                body = json.loads(data)
                manifest(body)
                data = json.dumps(body).encode()
            else:
                data = member(name, data)
            info = tarfile.TarInfo((rename or {}).get(name, name))
            info.size = len(data)
            out.addfile(info, io.BytesIO(data))


def flip_byte(_name: str, data: bytes) -> bytes:
    middle = len(data) // 2
    return data[:middle] + bytes([data[middle] ^ 0xFF]) + data[middle + 1:]


def older_revision(engine: Engine) -> None:
    upgrade(engine, "0014")


@pytest.fixture
def small_backup(database_url: str, tmp_path: Path) -> Path:
    """A backup of the migrated, empty database."""
    archive = tmp_path / "small.tar.gz"
    Shell(database_url, tmp_path / "evidence").json("backup", archive)
    return archive


def _damaged(archive: Path, into: Path) -> None:
    data = archive.read_bytes()
    into.write_bytes(data[:len(data) // 2])


def _altered(archive: Path, into: Path) -> None:
    rewrite(archive, into, member=flip_byte)


def _foreign(archive: Path, into: Path) -> None:
    def other_kind(body: dict[str, Any]) -> None:
        body["database"] = "postgresql" if body["database"] == "sqlite" else "sqlite"
        body["files"] = {("database/irpm.pgdump" if n == "database/irpm.sqlite3" else
                          "database/irpm.sqlite3"): f for n, f in body["files"].items()}

    rewrite(archive, into, manifest=other_kind,
            rename={"database/irpm.sqlite3": "database/irpm.pgdump",
                    "database/irpm.pgdump": "database/irpm.sqlite3"})


def _future(archive: Path, into: Path) -> None:
    rewrite(archive, into, manifest=lambda body: body.update(revision="9999"))


def _newer_format(archive: Path, into: Path) -> None:
    rewrite(archive, into, manifest=lambda body: body.update(version=2))


def _smuggled(archive: Path, into: Path) -> None:
    rewrite(archive, into, rename={"database/irpm.sqlite3": "../../irpm.sqlite3",
                                   "database/irpm.pgdump": "../../irpm.pgdump"})


@pytest.mark.parametrize(("spoil", "says"), [
    (_damaged, "the archive is damaged or not a backup"),
    (_altered, "does not match its checksum in the manifest"),
    (_foreign, "moving between kinds is not supported"),
    (_future, "schema revision 9999, which this code does not know"),
    (_newer_format, "made by a newer IRPM (archive format 2"),
    (_smuggled, "which its manifest does not list"),
], ids=["truncated", "altered", "other-kind", "newer-schema", "newer-format", "path"])
def test_a_spoilt_archive_is_refused_and_nothing_changes(
        small_backup: Path, new_database: Callable[[], str], tmp_path: Path,
        spoil: Callable[[Path, Path], None], says: str) -> None:
    spoilt = tmp_path / "spoilt.tar.gz"
    spoil(small_backup, spoilt)
    target, store = new_database(), tmp_path / "restored-evidence"

    error = Shell(target, store).fails("restore", spoilt)

    assert error.startswith(f"error: the backup {spoilt} is not restored (nothing was "
                            "changed): "), error
    assert says in error
    engine = make_engine(target)
    try:
        with engine.connect() as conn:
            assert inspect(conn).get_table_names() == []
    finally:
        engine.dispose()
    assert not store.exists()


def test_a_backup_of_an_older_schema_is_migrated_to_head(
        new_database: Callable[[], str], tmp_path: Path) -> None:
    old = new_database()
    engine = make_engine(old)
    try:
        older_revision(engine)
    finally:
        engine.dispose()
    archive = tmp_path / "old.tar.gz"
    made = Shell(old, tmp_path / "evidence").json("backup", archive)
    assert (made["revision"], made["audited"]) == ("0014", False)

    restored = Shell(new_database(), tmp_path / "evidence").json("restore", archive)

    assert restored["backup_revision"] == "0014"
    assert restored["revision"] != "0014" and restored["revision"] == _head()


def _head() -> str:
    from alembic.script import ScriptDirectory

    from engine.migrate import alembic_config

    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head is not None
    return head


def test_backup_refuses_to_overwrite_a_file(database_url: str, tmp_path: Path) -> None:
    archive = tmp_path / "kept.tar.gz"
    archive.write_bytes(b"yesterday's backup")

    error = Shell(database_url, tmp_path / "evidence").fails("backup", archive)

    assert "exists already" in error and archive.read_bytes() == b"yesterday's backup"


@pytest.mark.skipif(bool(PG_URL), reason="an SQLite target file")
def test_a_target_file_that_is_no_database_is_refused_and_kept(small_backup: Path,
                                                              tmp_path: Path) -> None:
    target = tmp_path / "notes.db"
    target.write_bytes(b"not a database, but someone's file" * 200)

    error = Shell(f"sqlite:///{target}", tmp_path / "store").fails("restore", small_backup,
                                                                   "--force")

    assert "is not an SQLite database" in error
    assert target.read_bytes() == b"not a database, but someone's file" * 200
