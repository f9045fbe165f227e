"""The tamper-evident audit trail (issue 13, finding 7): ``admin_audit``, ``instance_event``
and ``register_change`` are hash chains (engine/audit_chain.py), the database refuses to
change or remove their rows, and ``verify_chains`` finds — at the right row — what someone
past the triggers changed, removed or added."""

from __future__ import annotations

import hashlib
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from alembic import command
from sqlalchemy import Table, create_engine, event, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from engine import audit_chain
from engine.migrate import alembic_config, upgrade
from engine.models import Base, ChainHead
from engine.runtime import Runtime
from engine.services import audit
from engine.services.audit_verify import ChainReport, verify_chains
from engine.settings import Settings
from tests.audit_tamper import copy_of, tamper
from tests.conftest import ADMIN, PG_URL
from tests.databases import Template

from .conftest import DISCOVERY, Driver

TABLES = ("admin_audit", "instance_event", "register_change")
#: A column of each table to change, and what to.
CHANGE = {"admin_audit": ("reason", "nothing happened"), "instance_event": ("actor", "mallory"),
          "register_change": ("new_value", "3")}


def _table(name: str) -> Table:
    return Base.metadata.tables[name]


def reports(rt: Runtime) -> dict[str, ChainReport]:
    with rt.uow(write=False) as uow:
        return {r.chain: r for r in verify_chains(uow)}


def rows_of(rt: Runtime, name: str) -> list[dict[str, Any]]:
    table = _table(name)
    with rt.uow(write=False) as uow:
        return [dict(r) for r in uow.session.execute(
            select(table).order_by(table.c.chain_seq)).mappings()]


def register_changes(rt: Runtime, count: int) -> None:
    """Register history rows as the programme writes them (its services need the
    programme's organisation; the rows need nothing)."""
    with rt.uow() as uow:
        audit_chain.append(uow.session, _table("register_change"), [
            {"entity": "risk_point", "entity_id": n, "field": "level", "old_value": None,
             "new_value": "2", "changed_by": "liming", "changed_at": datetime.now(UTC),
             "reason": "核实"} for n in range(count)])
        uow.commit()


@pytest.fixture
def logged(post: Driver) -> Driver:
    """Four or more rows in each chain: an instance's steps, three administrator's acts with
    JSON details, four register changes."""
    instance_id = post.start_post()
    post.complete_element(instance_id, "discovery", ADMIN, DISCOVERY)
    for n in range(3):
        with post.rt.uow() as uow:
            audit.record_admin_action(uow, ADMIN, "suspend", f"instance:{instance_id}",
                                      f"reason {n}", {"n": n, "ids": (1, 2), "中": "文"})
            uow.commit()
    register_changes(post.rt, 4)
    return post


def by_hand(chain: str, row: dict[str, Any]) -> str:
    """The README's definition of a link, written out again independently of the engine."""
    content = {}
    for name, value in row.items():
        if name in ("id", "chain_seq", "prev_hash", "row_hash") or value is None:
            continue
        if isinstance(value, datetime):
            value = value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        elif isinstance(value, uuid.UUID):
            value = str(value)
        content[name] = value
    document = {"chain": chain, "seq": row["chain_seq"], "prev": row["prev_hash"],
                "row": content}
    return hashlib.sha256(orjson.dumps(document, option=orjson.OPT_SORT_KEYS)).hexdigest()


def test_every_row_is_a_link_hashed_as_documented(logged: Driver) -> None:
    found = reports(logged.rt)
    assert {name: (r.broken, r.rows) for name, r in found.items()} == {
        "admin_audit": (None, 3), "instance_event": (None, found["instance_event"].rows),
        "register_change": (None, 4)}
    assert found["instance_event"].rows >= 4
    for name in TABLES:
        rows = rows_of(logged.rt, name)
        assert [r["chain_seq"] for r in rows] == list(range(1, len(rows) + 1))
        assert [r["prev_hash"] for r in rows] == ["0" * 64] + [r["row_hash"] for r in rows[:-1]]
        assert [r["row_hash"] for r in rows] == [by_hand(name, r) for r in rows]
        with logged.rt.uow(write=False) as uow:
            head = uow.session.get(ChainHead, name)
        assert head is not None and (head.seq, head.hash) == (len(rows),
                                                              rows[-1]["row_hash"])
    details = [r["details"] for r in rows_of(logged.rt, "admin_audit")]
    assert details[0] == {"n": 0, "ids": [1, 2], "中": "文"}


def test_json_orjson_refuses_is_hashed_as_it_reads_back(post: Driver) -> None:
    """Keys that are not text (stored as text) and an integer beyond 64 bits (hashed
    through the ``json`` fallback) verify as what the database gives back."""
    details = {1: "a", 10: "b", 2: "c", "big": 2 ** 70, "list": (1.5, None, "中")}
    with post.rt.uow() as uow:
        entry = audit.record_admin_action(uow, ADMIN, "set_variables", "instance:1", "odd",
                                          details)
        uow.commit()
    assert entry.details == {"1": "a", "10": "b", "2": "c", "big": 2 ** 70,
                             "list": [1.5, None, "中"]}
    [stored] = rows_of(post.rt, "admin_audit")
    assert stored["details"] == entry.details
    assert reports(post.rt)["admin_audit"].broken is None


@pytest.mark.parametrize("name", TABLES)
def test_the_database_refuses_to_change_or_remove_a_row(logged: Driver, name: str) -> None:
    column, value = CHANGE[name]
    for statement in (f"UPDATE {name} SET {column} = '{value}'", f"DELETE FROM {name}"):
        with pytest.raises(DBAPIError, match="append-only"), logged.rt.db.begin() as conn:
            conn.execute(text(statement))
    if PG_URL:
        with pytest.raises(DBAPIError, match="append-only"), logged.rt.db.begin() as conn:
            conn.execute(text(f"TRUNCATE {name} CASCADE"))
    assert reports(logged.rt)[name].broken is None


def test_a_head_only_moves_forward_and_an_instance_with_events_is_never_purged(
        logged: Driver) -> None:
    for statement in ("DELETE FROM audit_chain_head",
                      "UPDATE audit_chain_head SET seq = seq - 1",
                      "UPDATE audit_chain_head SET name = 'x' WHERE name = 'admin_audit'",
                      *(["TRUNCATE audit_chain_head"] if PG_URL else [])):
        with pytest.raises(DBAPIError, match="only moves forward"), \
                logged.rt.db.begin() as conn:
            conn.execute(text(statement))
    # Deleting an instance would cascade to its events: refused, nothing deleted.
    with pytest.raises(DBAPIError, match="append-only"), logged.rt.db.begin() as conn:
        conn.execute(text("DELETE FROM process_instance"))
    assert logged.count(Base.metadata.tables["process_instance"]) == 1
    assert all(r.broken is None for r in reports(logged.rt).values())


def test_what_a_rollback_undoes_never_enters_the_chain(post: Driver) -> None:
    with post.rt.uow() as uow:
        audit.record_admin_action(uow, ADMIN, "suspend", "instance:1", "kept")
        with pytest.raises(RuntimeError), uow.session.begin_nested():
            audit.record_admin_action(uow, ADMIN, "suspend", "instance:2", "undone")
            raise RuntimeError("the operator failed")
        uow.commit()
    with post.rt.uow() as uow:
        audit.record_admin_action(uow, ADMIN, "suspend", "instance:3", "never committed")
    with post.rt.uow() as uow:
        audit.record_admin_action(uow, ADMIN, "suspend", "instance:4", "rolled back")
        uow.rollback()
        audit.record_admin_action(uow, ADMIN, "suspend", "instance:5", "after it")
        uow.commit()
    assert [r["reason"] for r in rows_of(post.rt, "admin_audit")] == ["kept", "after it"]
    assert reports(post.rt)["admin_audit"].broken is None


def test_a_released_savepoint_leaves_its_rows_for_the_commit(post: Driver) -> None:
    """A service-task operator's savepoint, released, does not link its rows: the chain's
    head is locked only at the commit (SQLAlchemy runs ``before_commit`` for a savepoint
    too), so never held through the rest of the transaction nor taken out of name order."""
    heads: list[str] = []

    def seen(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        if "audit_chain_head" in sql:
            heads.append(sql)

    event.listen(post.rt.db, "before_cursor_execute", seen)
    try:
        with post.rt.uow() as uow:
            with uow.session.begin_nested():
                audit.record_admin_action(uow, ADMIN, "suspend", "instance:1", "in a savepoint")
            assert heads == []
            uow.commit()
    finally:
        event.remove(post.rt.db, "before_cursor_execute", seen)
    assert len(heads) == 2  # locked and moved, once, at the commit
    assert [r["reason"] for r in rows_of(post.rt, "admin_audit")] == ["in a savepoint"]
    assert reports(post.rt)["admin_audit"].broken is None


def test_two_workers_appending_at_once_never_fork_a_chain(post: Driver) -> None:
    """Each worker's commits append to the same chain; the head's lock (PostgreSQL) or the
    write lock (SQLite) orders them, and the unique link number would refuse a fork."""
    start, errors = threading.Barrier(2), []

    def work(worker: int) -> None:
        try:
            start.wait(timeout=30)
            for n in range(40):
                with post.rt.uow() as uow:
                    for k in range(3):
                        audit.record_admin_action(uow, f"w{worker}", "suspend",
                                                  f"instance:{n}", f"{worker}-{n}-{k}")
                    uow.commit()
        except Exception as exc:  # reported below, with the worker
            errors.append((worker, exc))

    threads = [threading.Thread(target=work, args=(w,)) for w in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    rows = rows_of(post.rt, "admin_audit")
    assert len(rows) == 240 and [r["chain_seq"] for r in rows] == list(range(1, 241))
    # A commit's three entries stay together, whichever worker came first.
    assert all(len({r["reason"].rsplit("-", 1)[0] for r in rows[i:i + 3]}) == 1
               for i in range(0, 240, 3))
    assert reports(post.rt)["admin_audit"].broken is None


def _second_and_third(rt: Runtime, name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    rows = rows_of(rt, name)
    return rows[1], rows[2]


@pytest.mark.parametrize("name", TABLES)
def test_a_changed_row_is_reported_at_that_row(logged: Driver, name: str,
                                               tmp_path: Path) -> None:
    second, _third = _second_and_third(logged.rt, name)
    column, value = CHANGE[name]
    broken = _tampered(logged.rt, tmp_path, name,
                       f"UPDATE {name} SET {column} = '{value}' WHERE id = {second['id']}")
    assert (broken.kind, broken.row_id, broken.seq) == ("changed", second["id"], 2)
    assert broken.expected == f"row_hash {second['row_hash']}"
    assert broken.found.startswith("content hashing to ") and second["row_hash"] not in \
        broken.found
    if not PG_URL:  # the original file is untouched (on PostgreSQL it was the copy)
        assert reports(logged.rt)[name].broken is None


@pytest.mark.parametrize("name", TABLES)
def test_a_row_rehashed_after_a_change_breaks_the_next_link(logged: Driver, name: str,
                                                            tmp_path: Path) -> None:
    second, third = _second_and_third(logged.rt, name)
    column, value = CHANGE[name]
    forged = audit_chain.link(name, 2, second["prev_hash"], {**second, column: value},
                              audit_chain.layout(_table(name)).columns)
    broken = _tampered(logged.rt, tmp_path, name,
                       f"UPDATE {name} SET {column} = '{value}', row_hash = '{forged}' "
                       f"WHERE id = {second['id']}")
    assert (broken.kind, broken.row_id, broken.seq) == ("relinked", third["id"], 3)
    assert (broken.expected, broken.found) == (f"prev_hash {forged}",
                                               f"prev_hash {second['row_hash']}")


@pytest.mark.parametrize("name", TABLES)
def test_a_deleted_row_is_reported_at_the_next(logged: Driver, name: str,
                                               tmp_path: Path) -> None:
    second, third = _second_and_third(logged.rt, name)
    broken = _tampered(logged.rt, tmp_path, name, f"DELETE FROM {name} WHERE id = {second['id']}")
    assert (broken.kind, broken.row_id, broken.seq) == ("missing", third["id"], 3)
    assert (broken.expected, broken.found) == ("link 2", "link 3")


@pytest.mark.parametrize("name", TABLES)
def test_rows_cut_off_the_end_are_reported(logged: Driver, name: str, tmp_path: Path) -> None:
    rows = rows_of(logged.rt, name)
    broken = _tampered(logged.rt, tmp_path, name,
                       f"DELETE FROM {name} WHERE chain_seq >= {len(rows) - 1}")
    assert (broken.kind, broken.row_id) == ("missing", None)
    assert broken.expected == f"link {len(rows)} with hash {rows[-1]['row_hash']}"
    assert broken.found == (f"the table ends at link {len(rows) - 2} with hash "
                            f"{rows[-3]['row_hash']}")


def test_a_row_slipped_in_past_the_head_is_reported(logged: Driver, tmp_path: Path) -> None:
    last = rows_of(logged.rt, "admin_audit")[-1]
    values = {**last, "reason": "forged", "chain_seq": last["chain_seq"] + 1}
    forged = audit_chain.link("admin_audit", values["chain_seq"], last["row_hash"], values,
                              audit_chain.layout(_table("admin_audit")).columns)
    broken = _tampered(
        logged.rt, tmp_path, "admin_audit",
        "INSERT INTO admin_audit (at, actor, action, target, reason, chain_seq, prev_hash, "
        f"row_hash) SELECT at, actor, action, target, 'forged', chain_seq + 1, row_hash, "
        f"'{forged}' FROM admin_audit WHERE id = {last['id']}")
    assert (broken.kind, broken.seq) == ("beyond head", last["chain_seq"] + 1)


def _tampered(rt: Runtime, tmp_path: Path, name: str, statement: str) -> Any:
    """Tamper with a copy of the database; the one break verify_chains reports in it."""
    url = copy_of(rt.settings.database_url, tmp_path)
    if url == rt.settings.database_url:  # PostgreSQL: the test's own copy
        rt.db.dispose()
    tamper(url, name, statement)
    copy = Runtime(Settings(database_url=url))
    try:
        found = reports(copy)
    finally:
        copy.close()
    assert [r.chain for r in found.values() if r.broken] == [name]
    return found[name].broken


@pytest.fixture
def rehearsed(settings: Settings, rehearsed_town_world: Template) -> Iterator[Runtime]:
    from engine.programme.composition import programme_runtime

    rt = programme_runtime(settings)
    yield rt
    rt.close()


def test_a_rehearsed_city_verifies_clean_and_migration_0016_links_the_rows_it_finds(
        rehearsed: Runtime) -> None:
    """Two years of the programme in the town: every chain intact. Taken back to 0015 (no
    links) and up again, the migration links the rows it finds into the same chains."""
    before = reports(rehearsed)
    assert {name: r.broken for name, r in before.items()} == dict.fromkeys(TABLES)
    assert before["instance_event"].rows > 200 and before["register_change"].rows > 200
    with rehearsed.db.begin() as connection:
        config = alembic_config(rehearsed.db.url.render_as_string(hide_password=False))
        config.attributes["connection"] = connection
        command.downgrade(config, "0015")
    upgrade(rehearsed.db)
    after = reports(rehearsed)
    assert {n: (r.rows, r.head_seq, r.head_hash, r.broken) for n, r in after.items()} == {
        n: (r.rows, r.head_seq, r.head_hash, None) for n, r in before.items()}


@pytest.mark.skipif(not PG_URL, reason="database roles are PostgreSQL's")
def test_the_application_role_of_the_readme_can_append_but_not_tamper(post: Driver) -> None:
    """The production set-up (README): the tables belong to the role that migrates; the app
    connects as a role with the README's grants. It appends; it cannot UPDATE, DELETE,
    TRUNCATE, drop or disable a trigger."""
    role = f"irpm_app_test_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_URL, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE ROLE {role} LOGIN")
        for grant in app_role_grants(role):
            conn.exec_driver_sql(grant)
    app_url = post.rt.db.url.set(username=role).render_as_string(hide_password=False)
    app = Runtime(Settings(database_url=app_url))
    try:
        with app.uow() as uow:
            audit.record_admin_action(uow, ADMIN, "suspend", "instance:1", "as the app")
            uow.commit()
        instance_id = Driver(app).start_post()
        Driver(app).complete_element(instance_id, "discovery", ADMIN, DISCOVERY)
        for statement, refusal in (
                ("UPDATE admin_audit SET reason = 'x'", "permission denied"),
                ("DELETE FROM instance_event", "permission denied"),
                ("TRUNCATE register_change", "permission denied"),
                ("UPDATE audit_chain_head SET seq = 0", "only moves forward"),
                ("DELETE FROM audit_chain_head", "permission denied"),
                ("DROP TRIGGER instance_event_append_only ON instance_event", "must be owner"),
                ("ALTER TABLE admin_audit DISABLE TRIGGER USER", "must be owner"),
                ("SET session_replication_role = replica", "permission denied")):
            with pytest.raises(DBAPIError, match=refusal), app.db.begin() as conn:
                conn.exec_driver_sql(statement)
        assert all(r.broken is None for r in reports(app).values())
    finally:
        app.close()
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP OWNED BY {role}")
            conn.exec_driver_sql(f"DROP ROLE {role}")
        admin.dispose()


def app_role_grants(role: str) -> list[str]:
    """The README's grants (生产部署 · Production set-up), for ``role``."""
    return [f"GRANT USAGE ON SCHEMA public TO {role}",
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}",
            f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}",
            f"REVOKE UPDATE, DELETE ON admin_audit, instance_event, register_change FROM {role}",
            f"REVOKE DELETE ON audit_chain_head FROM {role}"]
