"""Waiting timer events with their due time, indexed so "what is due by T" is one query."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, UtcDateTime


class PendingTimer(Base):
    __tablename__ = "timer"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(
        ForeignKey("process_instance.id", ondelete="CASCADE"), index=True)
    task_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    element_id: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(16))  # date | duration | cycle
    due_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
