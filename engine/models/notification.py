"""In-app notifications (通知) and where to e-mail them.

A notification is addressed to one login. The kinds: a new task for the person or one of
their groups (``task``), a task handed to them (``delegated``), a task falling due soon
(``yellow_card``, 黄牌) or overdue (``red_card``, 红牌), and public feedback no process took
(``feedback``, for the unit's discipline officer). What the list shows is copied onto the row
when it is created — task name, process, post, due date — so listing never joins or
deserializes anything. ``dedupe_key`` (unique; NULL for kinds that may repeat) makes creating
a card idempotent: one yellow and one red card per task and person.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, BigId, UtcDateTime


class NotificationKind(StrEnum):
    TASK = "task"
    DELEGATED = "delegated"
    YELLOW_CARD = "yellow_card"
    RED_CARD = "red_card"
    FEEDBACK = "feedback"


class Notification(Base):
    __tablename__ = "notification"
    __table_args__ = (
        Index("ix_notification_recipient_read", "recipient", "read_at"),
        Index("ix_notification_recipient_id", "recipient", "id"),
        Index("ix_notification_task_id", "task_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    #: The login it is for.
    recipient: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    task_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("task.id", ondelete="CASCADE"))
    instance_id: Mapped[int | None] = mapped_column(BigId)
    feedback_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("feedback.id", ondelete="CASCADE"))
    #: The task's name (or, for feedback, the post's).
    subject: Mapped[str] = mapped_column(String(255))
    process_name: Mapped[str | None] = mapped_column(String(255))
    unit_code: Mapped[str | None] = mapped_column(String(64))
    post_code: Mapped[str | None] = mapped_column(String(64))
    due_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    #: Who caused it (the colleague who delegated), if anyone.
    actor: Mapped[str | None] = mapped_column(String(64))
    #: More words: the delegation's reason, the feedback's text.
    detail: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    read_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    dedupe_key: Mapped[str | None] = mapped_column(String(160), unique=True)


class NotificationAddress(Base):
    """Where a login wants its notifications e-mailed (set on the notifications page)."""

    __tablename__ = "notification_address"

    username: Mapped[str] = mapped_column(
        String(64), ForeignKey("account.username", ondelete="CASCADE"), primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
