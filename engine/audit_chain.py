"""Hash-chained logs: ``admin_audit``, ``instance_event`` and the programme's
``register_change`` are each one chain, so a row changed, removed or inserted afterwards is
found (``engine.services.audit_verify``, ``irpm audit verify``).

Every row of a chained table carries (``models.Chained``) its place in the chain
``chain_seq`` (1, 2, …), the previous row's hash ``prev_hash`` (64 zeros before the first)
and its own ``row_hash``: the SHA-256, in lower-case hex, of the canonical text (format 1)
of the document ``{"chain": <table name>, "seq": <chain_seq>, "prev": <prev_hash>, "row":
{<column>: <value>, …}}``, which is::

    orjson.dumps(document, option=orjson.OPT_SORT_KEYS)     # compact, keys sorted, UTF-8

or, for the rare document orjson refuses (an integer beyond 64 bits, a lone surrogate),
``json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True)`` in ASCII.
``row`` holds every column of the table but ``id`` and the three chain columns, leaving out
those that are NULL (so a nullable column added later does not change old rows' hashes).
Values: a date-time as UTC ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (microseconds, as both databases
keep them); a UUID as its 36-character text; a JSON column as the JSON value itself — as
reading it back gives it: a value orjson refuses (keys that are not text, say) is first
normalised through ``json``, which is how the database stores it; text and integers as they
are. The surrogate ``id`` is not hashed — the chain's order is ``chain_seq`` — so SQLite and
PostgreSQL hash the same rows alike.

Appends are queued on the session (``append``) and written when the transaction commits
(``seal``, a ``before_commit`` hook of every session the runtime makes): the head of each
chain written to (``audit_chain_head``) is locked — ``SELECT … FOR UPDATE`` on PostgreSQL,
SQLite's write lock serialises writers anyway — the rows get their links and are inserted,
and the head moves on. Locking at commit rather than at the first append keeps the lock
for milliseconds, and taken after every other lock of the transaction (instances, rows) and
in one order (by name), so it can never be part of a deadlock. A savepoint rolled back takes
its queued rows with it; a rolled-back transaction writes none. The unique ``chain_seq``
makes a fork impossible even for a writer that bypassed the lock, and the NOT NULL chain
columns make a row written past this module fail.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import (
    JSON,
    Insert,
    Select,
    Table,
    Update,
    bindparam,
    event,
    insert,
    select,
    update,
)
from sqlalchemy.orm import Session, SessionTransaction, sessionmaker

from .errors import IrpmError
from .models import ChainHead

#: The hash a chain's first row continues from.
GENESIS = "0" * 64
#: The columns that link a row into its chain, left out of what is hashed.
LINK_COLUMNS = ("chain_seq", "prev_hash", "row_hash")
#: The format of the canonical text, in case it ever has to change (a migration re-links).
FORMAT = 1

_PENDING = "irpm_audit_chain"
_HEAD = ChainHead.metadata.tables["audit_chain_head"]


class ChainError(IrpmError):
    """A chain cannot be appended to (its head is missing: the database is not migrated)."""


@dataclass(frozen=True)
class Layout:
    """Which columns of a chained table are hashed, and which hold JSON."""

    table: Table
    columns: tuple[str, ...]
    json_columns: frozenset[str]
    insert: Insert


_layouts: dict[str, Layout] = {}


def layout(table: Table) -> Layout:
    """The table's hashed columns (every column but ``id`` and the link), built once."""
    found = _layouts.get(table.name)
    if found is None or found.table is not table:
        columns = tuple(c.name for c in table.columns
                        if c.name != "id" and c.name not in LINK_COLUMNS)
        json_columns = frozenset(c.name for c in table.columns if isinstance(c.type, JSON))
        found = _layouts[table.name] = Layout(table, columns, json_columns, insert(table))
    return found


def canonical_value(value: Any) -> Any:
    """A column's value as the canonical text holds it (see the module's docstring)."""
    if type(value) in _AS_IS:  # most values: checked first, the walk's hottest line
        return value
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: chained rows hold aware UTC times")
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


_AS_IS = frozenset({str, int, dict, list})


def link(chain: str, seq: int, prev: str, row: Mapping[str, Any],
         columns: Iterable[str]) -> str:
    """The hash of the row at ``seq`` of ``chain``, after the link ``prev``."""
    content = {name: canonical_value(row[name]) for name in columns if row[name] is not None}
    document = {"chain": chain, "seq": seq, "prev": prev, "row": content}
    try:
        text = orjson.dumps(document, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # orjson.JSONEncodeError: beyond what orjson writes
        text = json.dumps(document, sort_keys=True, separators=(",", ":"),
                          ensure_ascii=True).encode("ascii")
    return hashlib.sha256(text).hexdigest()


def _as_stored(value: Any) -> Any:
    """A JSON column's value as the database will give it back. What orjson writes reads
    back the same (tuples are lists either way); anything else goes through ``json`` as the
    database's driver does (keys that are not text become text)."""
    try:
        orjson.dumps(value)
    except TypeError:
        return json.loads(json.dumps(value))
    return value


@dataclass
class _Pending:
    """The rows a session's transaction will append, in order; and for each open savepoint
    how many were queued before it (a savepoint rolled back drops what came after)."""

    rows: list[tuple[Layout, dict[str, Any]]] = field(default_factory=list)
    marks: dict[int, int] = field(default_factory=dict)


def _pending(session: Session) -> _Pending:
    found = session.info.get(_PENDING)
    if found is None:
        found = session.info[_PENDING] = _Pending()
    return found


def append(session: Session, table: Table,
           rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Queue ``rows`` (column → value; missing columns are NULL) to be appended to
    ``table``'s chain when the session's transaction commits. JSON values are taken as the
    database will give them back (``_as_stored``), so what is hashed is what is read; the
    rows are returned so."""
    shape = layout(table)
    queue = _pending(session).rows
    queued = []
    for row in rows:
        values = {name: row.get(name) for name in shape.columns}
        for name in shape.json_columns:
            if values[name] is not None:
                values[name] = _as_stored(values[name])
        queue.append((shape, values))
        queued.append(values)
    return queued


def seal(session: Session) -> None:
    """Write the queued rows, linked, before the transaction commits (the ``before_commit``
    hook): per chain in name order, lock its head, link and insert its rows, move the head.

    Not when a savepoint is released (SQLAlchemy runs ``before_commit`` for those too): its
    rows wait for the transaction's commit, else a chain's head would be locked in the middle
    of the transaction — held for the rest of it, and out of the name order (a service-task
    operator's savepoint sealing ``register_change`` before the commit seals
    ``instance_event``: two such steps could deadlock on PostgreSQL)."""
    pending = session.info.get(_PENDING)
    if pending is None or not pending.rows or session.in_nested_transaction():
        return
    session.flush()  # the ORM's rows first: queued rows may refer to them
    by_table: dict[str, list[tuple[Layout, dict[str, Any]]]] = {}
    for shape, values in pending.rows:
        by_table.setdefault(shape.table.name, []).append((shape, values))
    pending.rows, pending.marks = [], {}
    connection = session.connection()
    for name in sorted(by_table):  # one order of locks for every writer
        head = connection.execute(_LOCK_HEAD, {"b_name": name}).one_or_none()
        if head is None:
            raise ChainError(f"the audit chain '{name}' has no head in audit_chain_head: "
                             "migrate the database (`irpm db upgrade`)")
        seq, prev = int(head[0]), str(head[1])
        rows = []
        for shape, values in by_table[name]:
            seq += 1
            row_hash = link(name, seq, prev, values, shape.columns)
            rows.append({**values, "chain_seq": seq, "prev_hash": prev, "row_hash": row_hash})
            prev = row_hash
        connection.execute(by_table[name][0][0].insert, rows)
        connection.execute(_MOVE_HEAD, {"b_name": name, "b_seq": seq, "b_hash": prev})


_LOCK_HEAD: Select[Any] = (
    select(_HEAD.c.seq, _HEAD.c.hash).where(_HEAD.c.name == bindparam("b_name"))
    .with_for_update())
_MOVE_HEAD: Update = (update(_HEAD).where(_HEAD.c.name == bindparam("b_name"))
                      .values(seq=bindparam("b_seq"), hash=bindparam("b_hash")))


def _savepoint_begun(session: Session, transaction: SessionTransaction) -> None:
    if transaction.nested:
        pending = _pending(session)
        pending.marks[id(transaction)] = len(pending.rows)


def _rolled_back(session: Session, previous: SessionTransaction) -> None:
    pending = session.info.get(_PENDING)
    if pending is None:
        return
    if previous.nested:
        mark = pending.marks.pop(id(previous), None)
        if mark is not None:
            del pending.rows[mark:]
    elif previous.parent is None:
        pending.rows, pending.marks = [], {}


def install(factory: sessionmaker[Session]) -> None:
    """Make every session of ``factory`` seal its chains at commit and drop what a rollback
    undid (``db.session_factory`` calls it)."""
    event.listen(factory, "before_commit", seal)
    event.listen(factory, "after_transaction_create", _savepoint_begun)
    event.listen(factory, "after_soft_rollback", _rolled_back)
