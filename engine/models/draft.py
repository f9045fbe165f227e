"""Task drafts: what someone has typed into a task's form but not submitted yet.

One draft per task and user, kept as the form's raw values (what was typed, valid or not), so
reopening the task page restores it exactly; completing the task removes every draft of it.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, UtcDateTime


class TaskDraft(Base):
    __tablename__ = "task_draft"
    __table_args__ = (UniqueConstraint("task_id", "username"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("task.id", ondelete="CASCADE"))
    username: Mapped[str] = mapped_column(String(255))
    #: The form's raw values: field name -> text, lists of row objects for arrays.
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    saved_at: Mapped[datetime] = mapped_column(UtcDateTime)
