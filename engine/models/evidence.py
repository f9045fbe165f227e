"""Evidence files attached to a task (e.g. documents backing a discovery form's risks).

The file itself lives outside the database and the web root, named by its sha256
(``engine.services.evidence``); this row records which task it belongs to, its original
name, its detected type and size, and who attached it when. Rows are never changed.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, BigId, UtcDateTime


class Evidence(Base):
    __tablename__ = "evidence"
    __table_args__ = (Index("ix_evidence_sha256", "sha256"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("task.id", ondelete="CASCADE"), index=True)
    instance_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("process_instance.id", ondelete="CASCADE"), index=True)
    #: The post the task concerns, if any (copied from the task).
    post_code: Mapped[str | None] = mapped_column(String(64))
    #: The name it was uploaded under (checked: no directories, no control characters).
    filename: Mapped[str] = mapped_column(String(255))
    #: Detected from the content, never taken from the upload.
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by: Mapped[str] = mapped_column(String(255))
    uploaded_at: Mapped[datetime] = mapped_column(UtcDateTime)
