"""What ``irpm scheduler status`` shows: who leads, the persisted jobs, what the engine waits
for — read from the database and the lock, without starting a scheduler."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import make_url

from engine.models import scheduler_jobs
from engine.runtime import Runtime
from engine.services import clock, timers

from .leader import file_lock_holder, pg_lock_holder


@dataclass(frozen=True)
class JobRow:
    id: str
    next_run_time: datetime | None  # None: paused


@dataclass(frozen=True)
class Status:
    leader: str | None  # host:pid of the leading scheduler, None if none leads
    lock: str
    jobs: list[JobRow]
    next_due: datetime | None
    simulated: bool


def lock_holder(database_url: str) -> tuple[str | None, str]:
    """Who holds the scheduler lock of this database, and what the lock is."""
    url = make_url(database_url)
    if url.get_backend_name() == "postgresql":
        return pg_lock_holder(database_url), "PostgreSQL advisory lock"
    if url.database and url.database != ":memory:" and not url.database.startswith("file:"):
        path = Path(url.database)
        return file_lock_holder(path), f"lock file {path.name}.scheduler.lock"
    return None, "none (in-memory database)"


def read_status(rt: Runtime) -> Status:
    leader, lock = lock_holder(rt.settings.database_url)
    with rt.uow(write=False) as uow:
        rows = uow.session.execute(
            select(scheduler_jobs.c.id, scheduler_jobs.c.next_run_time)
            .order_by(scheduler_jobs.c.next_run_time, scheduler_jobs.c.id)).all()
        next_due = timers.next_due(uow)
        simulated = clock.is_simulated(uow)
    jobs = [JobRow(job_id, None if ts is None else datetime.fromtimestamp(ts, UTC))
            for job_id, ts in rows]
    return Status(leader, lock, jobs, next_due, simulated)
