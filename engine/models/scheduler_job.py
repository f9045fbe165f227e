"""The scheduler's persisted jobs: APScheduler's ``SQLAlchemyJobStore`` table.

Declared here, with every other table, so that migrations create it (0010) and Alembic's
autogenerate sees it as part of the schema; the columns are exactly the ones APScheduler
3.x's job store declares and reads. Only ``scheduler/`` writes it, through APScheduler.
"""

from __future__ import annotations

from sqlalchemy import Column, Float, LargeBinary, Table, Unicode

from .base import Base

SCHEDULER_JOBS_TABLE = "apscheduler_jobs"

scheduler_jobs = Table(
    SCHEDULER_JOBS_TABLE,
    Base.metadata,
    # 191: the longest key MySQL indexes in utf8mb4; 25: an 8-byte float (APScheduler's own).
    Column("id", Unicode(191), primary_key=True),
    Column("next_run_time", Float(25), index=True),  # UTC POSIX timestamp; NULL when paused
    Column("job_state", LargeBinary, nullable=False),  # the pickled job
)
