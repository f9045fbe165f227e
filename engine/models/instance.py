"""Process instances and their append-only event log."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, LargeBinary, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from .audit import Chained
from .base import Base, BigId, UtcDateTime


class InstanceStatus(StrEnum):
    RUNNING = "running"
    WAITING = "waiting"
    COMPLETED = "completed"
    SUSPENDED = "suspended"
    TERMINATED = "terminated"
    ERROR = "error"


#: Statuses in which the engine may advance an instance.
ACTIVE_STATUSES = (InstanceStatus.RUNNING, InstanceStatus.WAITING)
FINAL_STATUSES = (InstanceStatus.COMPLETED, InstanceStatus.TERMINATED)


class ProcessInstance(Base):
    """One running (or finished) process.

    ``revision`` increases with every write (``execution.mirror.write_instance`` checks it in the
    UPDATE itself), and caches of live workflows are valid only for the revision they were
    built from.
    """

    __tablename__ = "process_instance"
    __table_args__ = (Index("ix_process_instance_process_status", "process_id", "status"),
                      Index("ix_process_instance_started_by", "started_by"),
                      # The console's instance list (migration 0012).
                      Index("ix_process_instance_status_updated", "status", "updated_at", "id"),
                      Index("ix_process_instance_started", "started_at", "id"),
                      Index("ix_process_instance_definition_status", "definition_id", "status",
                            "id"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("process_definition.id"), index=True)
    process_id: Mapped[str] = mapped_column(String(255))
    business_key: Mapped[str | None] = mapped_column(String(255), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    suspended_from: Mapped[str | None] = mapped_column(String(16))
    revision: Mapped[int] = mapped_column(Integer, default=1)
    state_format: Mapped[int] = mapped_column(Integer)
    state: Mapped[bytes] = mapped_column(LargeBinary)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    started_by: Mapped[str | None] = mapped_column(String(255))
    error_message: Mapped[str | None] = mapped_column(Text)
    error_element: Mapped[str | None] = mapped_column(String(255))
    #: Set on an instance started by a call activity: the caller and its waiting task.
    parent_instance_id: Mapped[int | None] = mapped_column(
        ForeignKey("process_instance.id"), index=True)
    parent_task_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)



class EventType(StrEnum):
    STARTED = "started"
    TASK_CREATED = "task_created"
    TASK_CLAIMED = "task_claimed"
    TASK_UNCLAIMED = "task_unclaimed"
    TASK_DELEGATED = "task_delegated"
    TASK_COMPLETED = "task_completed"
    TASK_CANCELLED = "task_cancelled"
    #: An open task's candidates resolved again after its data changed (``amend``).
    TASK_REROUTED = "task_rerouted"
    TIMER_FIRED = "timer_fired"
    ERROR = "error"
    RETRIED = "retried"
    SUSPENDED = "suspended"
    RESUMED = "resumed"
    TERMINATED = "terminated"
    COMPLETED = "completed"
    MESSAGE_RECEIVED = "message_received"
    #: A message the instance threw, with the instances it reached (``engine.messaging``).
    MESSAGE_SENT = "message_sent"
    #: A signal sent from outside that the instance caught (``services.signals``).
    SIGNAL_RECEIVED = "signal_received"
    CHILD_STARTED = "child_started"
    CHILD_COMPLETED = "child_completed"
    #: Administrative changes from the console (each also in the audit log).
    VARIABLES_CHANGED = "variables_changed"
    TOKEN_MOVED = "token_moved"
    MIGRATED = "migrated"


class InstanceEvent(Chained, Base):
    """Append-only history, hash-chained: rows are written only through
    ``engine.audit_chain.append`` (``execution.mirror.write_events``), and the database
    refuses UPDATE and DELETE (migration 0016) — so no instance with events can be deleted
    either."""

    __tablename__ = "instance_event"
    #: The heatmap counts timer firings per element of a version (migration 0012).
    __table_args__ = (Index("ix_instance_event_type_instance", "type", "instance_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    instance_id: Mapped[int] = mapped_column(
        ForeignKey("process_instance.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    type: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str | None] = mapped_column(String(255))
    task_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    element_id: Mapped[str | None] = mapped_column(String(255))
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON)
