"""Batch operations: one administrative operation applied to every instance a filter found.

The batch row is the progress (counts updated per instance) and the items are the report
(one row per instance with its outcome and, on failure, why). Items are written when the
batch is created, so the set of instances is fixed then, and a batch interrupted half-way is
resumed from its first pending item.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, BigId, UtcDateTime


class BatchStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"


class ItemOutcome(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class Batch(Base):
    __tablename__ = "batch_operation"
    __table_args__ = (Index("ix_batch_operation_created", "created_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    operation: Mapped[str] = mapped_column(String(16))
    created_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    reason: Mapped[str] = mapped_column(Text)
    #: The instance-list query that chose the instances, and the operation's parameters
    #: (the target version of a migration).
    query: Mapped[dict[str, Any]] = mapped_column(JSON)
    params: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))
    total: Mapped[int] = mapped_column(Integer)
    succeeded: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class BatchItem(Base):
    __tablename__ = "batch_item"
    __table_args__ = (Index("ix_batch_item_batch_outcome", "batch_id", "outcome", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    batch_id: Mapped[int] = mapped_column(
        ForeignKey("batch_operation.id", ondelete="CASCADE"))
    instance_id: Mapped[int] = mapped_column(BigInteger)
    outcome: Mapped[str] = mapped_column(String(16))
    message: Mapped[str | None] = mapped_column(Text)
    done_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
