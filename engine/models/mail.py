"""The e-mail outbox: notifications to send by SMTP, kept until the server took them.

A row is written in the transaction that writes its notification, so a mail exists exactly
when its notification does; it is sent after that commit and, when the server cannot be
reached or refuses for now, again later (``next_attempt_at``, with backoff) until it is sent
or given up (``failed``: too many attempts, or a permanent refusal). ``attempts`` and
``last_error`` say what happened.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, BigId, UtcDateTime, one_of


class MailStatus(StrEnum):
    #: Waiting for its (next) attempt.
    PENDING = "pending"
    SENT = "sent"
    #: Given up: the server refused it for good, or it failed too often.
    FAILED = "failed"


class OutboxMail(Base):
    __tablename__ = "mail_outbox"
    __table_args__ = (
        CheckConstraint(one_of("status", MailStatus), name="status"),
        Index("ix_mail_outbox_status_next", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    notification_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("notification.id", ondelete="SET NULL"), index=True)
    #: The login it is for, and the address it goes to.
    recipient: Mapped[str] = mapped_column(String(64))
    to_address: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=MailStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    #: NULL: as soon as possible; else not before then (a retry, or an attempt under way).
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
