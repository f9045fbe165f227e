"""Background jobs: reading them (with who may), and running what is queued.

``run_pending_jobs`` is what the scheduler calls every few seconds (``scheduler.jobs``) and
what tests, the rehearsal and the CLI call to drain the queue synchronously; it runs each
open job to its end, one transaction per batch, committing the job's progress with the
batch's work — so a job interrupted half-way (a crash, a lost race) resumes from its
committed progress, and a failure is kept on the job with the caller's data unchanged.

Kinds: ``start_calls`` (``engine.jobs``) starts a caller's background call activities,
about ``JOB_BATCH`` new instances per transaction; ``batch`` runs a console batch operation
(``engine.services.batches``) step by step, as the administrator who created it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import func, select

from ..actors import Actor
from ..calls import pending_calls
from ..db import UnitOfWork
from ..errors import Conflict, Forbidden, NotFound
from ..execution.checkout import check_out, lock_instance
from ..execution.saving import save
from ..execution.workflow import all_tasks
from ..jobs import START_CALLS, in_background
from ..models import (
    ACTIVE_STATUSES,
    OPEN_JOB_STATUSES,
    BatchStatus,
    InstanceStatus,
    Job,
    JobStatus,
    ProcessInstance,
)
from . import batches, clock

log = logging.getLogger(__name__)

#: New instances per transaction a job aims at (a unit cycle with its post cycles counts
#: as all of them).
JOB_BATCH = 50

#: Told of each job's progress after every batch (the CLI draws a bar with it).
Progress = Callable[[Job], None]


def get_job(uow: UnitOfWork, job_id: int, actor: Actor) -> Job:
    """The job, for whoever started it or an administrator."""
    job = uow.session.get(Job, job_id)
    if job is None:
        raise NotFound(f"job {job_id} does not exist")
    if not (actor.is_admin or job.started_by == actor.user):
        raise Forbidden(f"job {job_id} was started by someone else; only they and "
                        "administrators may see it")
    return job


def list_jobs(uow: UnitOfWork, limit: int = 100) -> list[Job]:
    """The latest jobs, newest first (the admin console's list)."""
    return list(uow.session.scalars(select(Job).order_by(Job.id.desc()).limit(limit)))


def open_jobs_for(uow: UnitOfWork, instance_id: int) -> list[Job]:
    """The queued or running jobs working on ``instance_id`` (what a page shows progress of
    after a step that queued them)."""
    return list(uow.session.scalars(select(Job).where(
        Job.instance_id == instance_id, Job.status.in_(OPEN_JOB_STATUSES)).order_by(Job.id)))


def has_pending_jobs(uow: UnitOfWork) -> bool:
    """Whether any job waits to run — a read, for pollers that should not take SQLite's
    write lock every few seconds for nothing."""
    return uow.session.scalar(select(Job.id).where(
        Job.status.in_(OPEN_JOB_STATUSES)).limit(1)) is not None


def run_pending_jobs(uow: UnitOfWork, progress: Progress | None = None) -> int:
    """Run every open job to its end, oldest first, jobs queued meanwhile included; returns
    how many were run. A job another runner holds right now is left to it."""
    ran = 0
    tried: set[int] = set()
    while True:
        stmt = select(Job.id).where(Job.status.in_(OPEN_JOB_STATUSES))
        if tried:
            stmt = stmt.where(Job.id.not_in(tried))
        job_id = uow.session.scalar(stmt.order_by(Job.id).limit(1))
        uow.rollback()  # each job's batches are transactions of their own
        if job_id is None:
            return ran
        tried.add(job_id)
        run_job(uow, job_id, progress)
        ran += 1


def run_job(uow: UnitOfWork, job_id: int, progress: Progress | None = None) -> Job:
    """Run one job batch by batch until it is done or failed."""
    size = 1
    while True:
        try:
            job, started, calls = _batch(uow, job_id, size)
        except Conflict as exc:  # a lost race, a suspended caller: try again later
            uow.rollback()
            log.info("job %s waits: %s", job_id, exc)
            job = _job(uow, job_id)
            job.message = str(exc)  # why it does not move, for its page
            uow.commit()
            return job
        except Exception as exc:  # kept on the job, which is what reports it
            uow.rollback()
            log.exception("job %s failed", job_id)
            return _fail(uow, job_id, f"{type(exc).__name__}: {exc}")
        if progress is not None:
            progress(job)
        if job.finished:
            return job
        # Aim at JOB_BATCH new instances per transaction, whatever one call starts.
        size = max(1, round(JOB_BATCH * calls / started)) if started else size


def _job(uow: UnitOfWork, job_id: int) -> Job:
    job = uow.session.get(Job, job_id, populate_existing=True)
    if job is None:
        raise NotFound(f"job {job_id} does not exist")
    return job


def _batch(uow: UnitOfWork, job_id: int, size: int) -> tuple[Job, int, int]:
    """One transaction (or step) of the job: returns the job, the instances it started and
    the items it did."""
    job = _job(uow, job_id)
    if job.finished:
        uow.rollback()
        return job, 0, 0
    if job.kind == batches.BATCH_JOB:
        return _batch_step(uow, job)
    if job.kind != START_CALLS or job.instance_id is None:
        raise ValueError(f"job {job.id} is of kind '{job.kind}', which nothing runs")
    if job.status == JobStatus.QUEUED:
        job.status, job.started_at = JobStatus.RUNNING.value, clock.now(uow)
    done_before, first_new = job.done, _last_instance_id(uow)
    waiting = _start_some_calls(uow, job.instance_id, size)
    started = _last_instance_id(uow) - first_new
    job.total = max(job.total, job.done + waiting)
    job.done = job.total - waiting
    result = dict(job.result or {})
    result["instances_started"] = result.get("instances_started", 0) + started
    job.result = result
    job.message = f"{result['instances_started']} instances started"
    if not waiting:
        job.status, job.finished_at = JobStatus.DONE.value, clock.now(uow)
    uow.commit()
    return job, started, job.done - done_before


def _batch_step(uow: UnitOfWork, job: Job) -> tuple[Job, int, int]:
    """One step of a console batch (each item its own transaction), as its creator."""
    batch_id, done_before = int(job.parameters["batch_id"]), job.done
    creator = batches.get_batch(uow, batch_id).created_by
    progress = batches.run_batch_step(uow, batch_id, Actor(creator, is_admin=True),
                                      max_items=JOB_BATCH, max_seconds=5.0)
    job = _job(uow, job.id)
    now = clock.now(uow)
    job.status, job.started_at = JobStatus.RUNNING.value, job.started_at or now
    job.total, job.done = progress.total, progress.done
    job.result = {"succeeded": progress.succeeded, "failed": progress.failed}
    job.message = f"{progress.succeeded} succeeded, {progress.failed} failed"
    if progress.status == BatchStatus.DONE:
        job.status, job.finished_at = JobStatus.DONE.value, now
    uow.commit()
    return job, 0, progress.done - done_before


def _start_some_calls(uow: UnitOfWork, instance_id: int, size: int) -> int:
    """Check the caller out and save it allowing ``size`` of its background calls to start;
    returns how many still wait."""
    instance, at = lock_instance(uow, instance_id)
    if instance.status == InstanceStatus.SUSPENDED:
        raise Conflict(f"instance {instance.id} is suspended; its call activities start "
                       "once it is resumed")
    if instance.status not in ACTIVE_STATUSES:
        raise ValueError(f"instance {instance.id} is {instance.status}: its call activities "
                         "will not start")
    live = check_out(uow, instance, at)
    uow.call_allowance = {instance.id: size}
    try:
        save(uow, live)
    finally:
        uow.call_allowance = {}
    if live.error is not None:
        raise ValueError(f"instance {instance.id} went into error: {live.error[0]}")
    return sum(1 for t in pending_calls(all_tasks(live.workflow)) if in_background(t))


def _last_instance_id(uow: UnitOfWork) -> int:
    """The newest instance id: the difference across a batch is how many instances it
    started (counted for the report and to size the next batch — an instance another
    request inserts meanwhile counts too, which changes neither what is started nor its
    exactly-once)."""
    uow.session.flush()
    return uow.session.scalar(select(func.max(ProcessInstance.id))) or 0


def _fail(uow: UnitOfWork, job_id: int, error: str) -> Job:
    job = _job(uow, job_id)
    job.status, job.error = JobStatus.FAILED.value, error
    job.finished_at = clock.now(uow)
    job.message = error
    uow.commit()
    return job
