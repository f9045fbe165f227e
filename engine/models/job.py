"""Background jobs: long work (starting hundreds of instances) taken out of the request that
asked for it and run by the scheduler in batched transactions.

The row is the job's whole record: what to do (``kind`` and ``parameters``, or the instance
it works on), how far it got (``done`` of ``total``, committed with each batch — so a job
interrupted half-way resumes where its committed progress says), who asked, and how it
ended (``result``, or ``error`` kept when it failed).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, BigId, UtcDateTime


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


#: A job still to run (or interrupted while running: it resumes).
OPEN_JOB_STATUSES = (JobStatus.QUEUED, JobStatus.RUNNING)


class Job(Base):
    __tablename__ = "job"
    __table_args__ = (Index("ix_job_status_id", "status", "id"),
                      Index("ix_job_instance", "instance_id", "status"),
                      Index("ix_job_created", "created_at", "id"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: The instance the job works on, where it works on one (the caller whose call
    #: activities it starts).
    instance_id: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), default=JobStatus.QUEUED.value)
    done: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str | None] = mapped_column(Text)
    started_by: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)

    @property
    def finished(self) -> bool:
        return self.status in (JobStatus.DONE, JobStatus.FAILED)
