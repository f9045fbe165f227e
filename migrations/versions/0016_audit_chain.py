"""issue 13 — a tamper-evident audit trail: ``admin_audit``, ``instance_event`` and
``register_change`` hash-chained (``chain_seq``, ``prev_hash``, ``row_hash``; the heads in
``audit_chain_head``), the rows already there linked in id order, and UPDATE, DELETE (and on
PostgreSQL TRUNCATE) refused on all three by triggers; a head can only move forward.

The canonical text and hash are ``engine.audit_chain.link`` (format 1); the columns hashed
are frozen here as they are at this revision.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07
"""

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

from engine.audit_chain import GENESIS, link

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WHEN = sa.DateTime(timezone=True)

#: The chained tables as they are at 0016, with the types their values are read back as.
TABLES = {
    "admin_audit": sa.table(
        "admin_audit", sa.column("id", BIG_ID), sa.column("at", WHEN),
        sa.column("clock_at", WHEN), sa.column("actor", sa.String()),
        sa.column("action", sa.String()), sa.column("target", sa.String()),
        sa.column("instance_id", sa.BigInteger()), sa.column("reason", sa.Text()),
        sa.column("details", sa.JSON())),
    "instance_event": sa.table(
        "instance_event", sa.column("id", BIG_ID), sa.column("instance_id", BIG_ID),
        sa.column("at", WHEN), sa.column("type", sa.String()), sa.column("actor", sa.String()),
        sa.column("task_id", sa.Uuid()), sa.column("element_id", sa.String()),
        sa.column("data", sa.JSON())),
    "register_change": sa.table(
        "register_change", sa.column("id", BIG_ID), sa.column("entity", sa.String()),
        sa.column("entity_id", sa.Integer()), sa.column("field", sa.String()),
        sa.column("old_value", sa.Text()), sa.column("new_value", sa.Text()),
        sa.column("changed_by", sa.String()), sa.column("changed_at", WHEN),
        sa.column("reason", sa.Text())),
}

#: SQLite: 0004's triggers on register_change, dropped for the backfill and re-created.
REGISTER_TRIGGERS_0004 = [
    f"CREATE TRIGGER register_change_no_{verb.lower()} BEFORE {verb} ON register_change "
    "BEGIN SELECT RAISE(ABORT, 'register_change is append-only'); END"
    for verb in ("UPDATE", "DELETE")]
NEW_TABLES = ("admin_audit", "instance_event")
HEAD_REFUSAL = "an audit chain head only moves forward"


def _sqlite_triggers() -> list[str]:
    statements = [
        f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
        for table in NEW_TABLES for verb in ("UPDATE", "DELETE")]
    statements += [
        "CREATE TRIGGER audit_chain_head_no_delete BEFORE DELETE ON audit_chain_head "
        f"BEGIN SELECT RAISE(ABORT, '{HEAD_REFUSAL}'); END",
        "CREATE TRIGGER audit_chain_head_forward BEFORE UPDATE ON audit_chain_head "
        "WHEN NEW.name <> OLD.name OR NEW.seq <= OLD.seq "
        f"BEGIN SELECT RAISE(ABORT, '{HEAD_REFUSAL}'); END"]
    return statements


POSTGRESQL_TRIGGERS = [
    "CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$",
    *(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
      "FOR EACH ROW EXECUTE FUNCTION audit_append_only()" for table in NEW_TABLES),
    *(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
      "FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only()" for table in TABLES),
    "CREATE FUNCTION audit_chain_head_forward() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "IF TG_OP <> 'UPDATE' OR NEW.name <> OLD.name OR NEW.seq <= OLD.seq THEN "
    f"RAISE EXCEPTION '{HEAD_REFUSAL}'; END IF; RETURN NEW; END $$",
    "CREATE TRIGGER audit_chain_head_forward BEFORE UPDATE OR DELETE ON audit_chain_head "
    "FOR EACH ROW EXECUTE FUNCTION audit_chain_head_forward()",
    "CREATE TRIGGER audit_chain_head_no_truncate BEFORE TRUNCATE ON audit_chain_head "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_chain_head_forward()",
]


def _is_sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def upgrade() -> None:
    head = op.create_table(
        "audit_chain_head",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_audit_chain_head")),
    )
    for table in TABLES:
        op.add_column(table, sa.Column("chain_seq", sa.BigInteger(), nullable=True))
        op.add_column(table, sa.Column("prev_hash", sa.String(length=64), nullable=True))
        op.add_column(table, sa.Column("row_hash", sa.String(length=64), nullable=True))
    if _is_sqlite():
        op.execute("DROP TRIGGER register_change_no_update")
        op.execute("DROP TRIGGER register_change_no_delete")
    else:
        op.execute("ALTER TABLE register_change DISABLE TRIGGER register_change_append_only")
    heads = [{"name": name, **_link_existing(name)} for name in TABLES]
    op.bulk_insert(head, heads)
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column, kind in (("chain_seq", sa.BigInteger()),
                                 ("prev_hash", sa.String(length=64)),
                                 ("row_hash", sa.String(length=64))):
                batch_op.alter_column(column, existing_type=kind, nullable=False)
            batch_op.create_unique_constraint(batch_op.f(f"uq_{table}_chain_seq"),
                                              ["chain_seq"])
    if _is_sqlite():
        for statement in (*REGISTER_TRIGGERS_0004, *_sqlite_triggers()):
            op.execute(statement)
    else:
        op.execute("ALTER TABLE register_change ENABLE TRIGGER register_change_append_only")
        for statement in POSTGRESQL_TRIGGERS:
            op.execute(statement)


def _chunks(name: str, size: int = 5000) -> Iterator[list[dict[str, Any]]]:
    """The table's rows in id order, ``size`` at a time (keyset: no cursor stays open while
    the chunk is updated); date-times aware (SQLite gives them back naive, in UTC)."""
    table, last = TABLES[name], None
    while True:
        stmt = sa.select(table).order_by(table.c.id).limit(size)
        if last is not None:
            stmt = stmt.where(table.c.id > last)
        rows = [{key: value.replace(tzinfo=UTC)
                 if isinstance(value, datetime) and value.tzinfo is None else value
                 for key, value in row.items()}
                for row in op.get_bind().execute(stmt).mappings()]
        if not rows:
            return
        yield rows
        last = rows[-1]["id"]


def _link_existing(name: str) -> dict[str, Any]:
    """Link the rows already in ``name`` in id order; the chain's head."""
    table = TABLES[name]
    columns = [c.name for c in table.columns if c.name != "id"]
    seq, prev = 0, GENESIS
    linked = sa.table(name, sa.column("id"), sa.column("chain_seq"), sa.column("prev_hash"),
                      sa.column("row_hash"))
    update = (sa.update(linked).where(linked.c.id == sa.bindparam("b_id"))
              .values(chain_seq=sa.bindparam("b_seq"), prev_hash=sa.bindparam("b_prev"),
                      row_hash=sa.bindparam("b_hash")))
    for rows in _chunks(name):
        links = []
        for row in rows:
            seq += 1
            row_hash = link(name, seq, prev, row, columns)
            links.append({"b_id": row["id"], "b_seq": seq, "b_prev": prev, "b_hash": row_hash})
            prev = row_hash
        op.get_bind().execute(update, links)
    return {"seq": seq, "hash": prev}


def downgrade() -> None:
    if _is_sqlite():
        for table in NEW_TABLES:
            op.execute(f"DROP TRIGGER {table}_no_update")
            op.execute(f"DROP TRIGGER {table}_no_delete")
    else:
        for table in TABLES:
            op.execute(f"DROP TRIGGER {table}_no_truncate ON {table}")
        for table in NEW_TABLES:
            op.execute(f"DROP TRIGGER {table}_append_only ON {table}")
        op.execute("DROP FUNCTION audit_append_only()")
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(batch_op.f(f"uq_{table}_chain_seq"), type_="unique")
            batch_op.drop_column("row_hash")
            batch_op.drop_column("prev_hash")
            batch_op.drop_column("chain_seq")
    if _is_sqlite():  # the batch re-created register_change without its triggers
        for statement in REGISTER_TRIGGERS_0004:
            op.execute(statement)
    op.drop_table("audit_chain_head")  # its triggers go with it
    if not _is_sqlite():
        op.execute("DROP FUNCTION audit_chain_head_forward()")
