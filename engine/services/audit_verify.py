"""Checking the hash-chained logs (``engine.audit_chain``): ``irpm audit verify``.

Each chain is walked in ``chain_seq`` order, in one snapshot of the database (PostgreSQL:
REPEATABLE READ; SQLite: one read transaction), recomputing every row's hash from its
content and the link before it. The first break of each chain is reported — which table,
which row, what was expected and what was found:

* ``changed`` — the row's content (or its own hash) is not what was hashed when it was
  written: an UPDATE;
* ``relinked`` — its ``prev_hash`` is not the hash of the row before it;
* ``missing`` — links are missing before it (a DELETE), or at the end: the chain's head
  (``audit_chain_head``) names a later link than the table's last row;
* ``beyond head`` — a row after the head's link, which no append wrote (an INSERT past the
  chain);
* ``no head`` — the chain has no head row.

A rewrite of a whole chain's tail with fresh hashes is consistent in itself; only a head
recorded outside the database (the report gives each chain's length and head hash) shows
it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, select

from ..audit_chain import GENESIS, layout, link
from ..db import UnitOfWork
from ..models import Base, ChainHead

__all__ = ["Break", "ChainReport", "chained_tables", "verify_chains"]

#: Rows fetched at a time while walking a chain.
BATCH = 10_000


@dataclass(frozen=True)
class Break:
    """The first broken link of a chain."""

    chain: str
    kind: str
    #: The row where the chain breaks (None: at its end, or no head).
    row_id: int | None
    seq: int | None
    expected: str
    found: str

    def describe(self) -> str:
        where = f"row id {self.row_id} (link {self.seq})" if self.row_id is not None else "end"
        return (f"{self.chain}: {self.kind} at {where}: expected {self.expected}, "
                f"found {self.found}")


@dataclass(frozen=True)
class ChainReport:
    chain: str
    #: Rows walked, and the head's link and hash (what to keep outside the database).
    rows: int
    head_seq: int
    head_hash: str
    broken: Break | None


def chained_tables() -> list[Table]:
    """Every table of the schema that carries chain links (the runtime's and, when its
    models are imported, the programme's), by name."""
    return sorted((t for t in Base.metadata.tables.values() if "row_hash" in t.c),
                  key=lambda t: t.name)


def verify_chains(uow: UnitOfWork, tables: Iterable[Table] | None = None) -> list[ChainReport]:
    """Walk each chain (default: every chained table) and report it, with its first break."""
    snapshot = ({} if uow.is_sqlite else {"isolation_level": "REPEATABLE READ"})
    connection = uow.session.connection(execution_options=snapshot)
    heads = {name: (seq, hash_) for name, seq, hash_ in connection.execute(
        select(ChainHead.name, ChainHead.seq, ChainHead.hash))}
    return [_walk(uow, table, heads.get(table.name))
            for table in (tables if tables is not None else chained_tables())]


def _walk(uow: UnitOfWork, table: Table, head: tuple[int, str] | None) -> ChainReport:
    name = table.name
    if head is None:
        return ChainReport(name, 0, 0, "", Break(name, "no head", None, None,
                                                 "a row in audit_chain_head", "none"))
    shape = layout(table)
    columns = [table.c.id, table.c.chain_seq, table.c.prev_hash, table.c.row_hash,
               *(table.c[n] for n in shape.columns)]
    result = uow.session.connection().execution_options(yield_per=BATCH).execute(
        select(*columns).order_by(table.c.chain_seq))
    seq, prev, rows, broken = 0, GENESIS, 0, None
    for row in result.mappings():
        rows += 1
        broken = _check(name, row, seq, prev, head[0], shape.columns)
        if broken:
            break
        seq, prev = row["chain_seq"], row["row_hash"]
    result.close()
    if broken is None and (seq, prev) != head:
        broken = Break(name, "missing", None, None, f"link {head[0]} with hash {head[1]}",
                       f"the table ends at link {seq} with hash {prev}")
    return ChainReport(name, rows, head[0], head[1], broken)


def _check(name: str, row: Any, seq: int, prev: str, head_seq: int,
           columns: tuple[str, ...]) -> Break | None:
    """The break at ``row``, which should be link ``seq + 1`` after the hash ``prev``."""
    row_id, at = row["id"], row["chain_seq"]
    if at > head_seq:
        return Break(name, "beyond head", row_id, at, f"at most link {head_seq} (the head)",
                     f"link {at}")
    if at != seq + 1:
        return Break(name, "missing", row_id, at, f"link {seq + 1}", f"link {at}")
    if row["prev_hash"] != prev:
        return Break(name, "relinked", row_id, at, f"prev_hash {prev}",
                     f"prev_hash {row['prev_hash']}")
    actual = link(name, at, prev, row, columns)
    if actual != row["row_hash"]:
        return Break(name, "changed", row_id, at, f"row_hash {row['row_hash']}",
                     f"content hashing to {actual}")
    return None
