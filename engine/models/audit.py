"""The administrators' audit log: who did what to which object, when, and why; and the heads
of the hash chains that make it and the other append-only logs tamper-evident.

Append-only, like the instance event log, but for the console's operations (and the clock's
controls), which are decisions of a person rather than steps of a process: each row names
the acting login, the action, its target and the reason the administrator gave.

``Chained`` is what every chained log carries (``engine.audit_chain`` fills it in when the
transaction commits; migration 0016 refuses UPDATE and DELETE on these tables), and
``ChainHead`` the newest link of each chain, the one row an append locks.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, BigId, UtcDateTime


class Chained:
    """The link a row of a hash-chained log carries (``engine.audit_chain``): its place in
    its table's chain (1, 2, … — unique, so two writers can never both append the same
    link), the previous link's hash and its own, SHA-256 over its canonical content."""

    chain_seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    prev_hash: Mapped[str] = mapped_column(String(64))
    row_hash: Mapped[str] = mapped_column(String(64))


class ChainHead(Base):
    """The newest link of one chain (``name`` = the table): what the next append continues
    from, locked by it (``SELECT … FOR UPDATE`` on PostgreSQL) so appends never fork the
    chain, and what ``irpm audit verify`` compares the table's last row with (a row cut off
    the end is found). Its triggers refuse DELETE and an UPDATE that does not move it on."""

    __tablename__ = "audit_chain_head"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))


class AuditEntry(Chained, Base):
    __tablename__ = "admin_audit"
    __table_args__ = (Index("ix_admin_audit_at", "at", "id"),
                      Index("ix_admin_audit_actor_at", "actor", "at"),
                      Index("ix_admin_audit_action_at", "action", "at"),
                      Index("ix_admin_audit_instance", "instance_id", "at"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    #: Wall-clock time of the action (never the simulated clock: the audit records when a
    #: person really acted; ``clock_at`` keeps the rehearsal's time beside it).
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    clock_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    actor: Mapped[str] = mapped_column(String(255))
    action: Mapped[str] = mapped_column(String(64))
    #: What was acted on, as ``kind:id`` (``instance:42``, ``task:<uuid>``, ``batch:7``,
    #: ``clock``).
    target: Mapped[str] = mapped_column(String(255))
    #: The instance concerned, if any, so an instance page lists its own audit trail. No
    #: foreign key: the audit outlives what it talks about.
    instance_id: Mapped[int | None] = mapped_column(BigInteger)
    reason: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)
