"""The scheduler runs queued background jobs: the periodic ``background`` job calls
``run_pending_jobs``, so the instances a step queued start without anyone's page open."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import func, select

from engine.models import Job, ProcessInstance
from engine.parsing import read_sources
from engine.runtime import Runtime
from engine.services import deployment, instances, tasks
from scheduler import jobs as scheduler_jobs
from tests.conftest import FIXTURES
from tests.engine.test_jobs import ITEMS, STARTER

from .conftest import QUICK, Schedulers, wait_until


def _queue(rt: Runtime) -> int:
    """A ``job_parent`` whose ``go`` was completed: one ``start_calls`` job queued."""
    with rt.uow() as uow:
        deployment.deploy(uow, read_sources([FIXTURES / "jobs"]), deployed_by="tests")
    with rt.uow() as uow:
        instance = instances.start_instance(uow, "job_parent", "p-1", {"items": ITEMS})
    with rt.uow() as uow:
        [task] = instances.open_tasks(uow, instance.id)
        tasks.complete_task(uow, task.id, STARTER, {})
    return instance.id


def _children(rt: Runtime, parent: int) -> int:
    with rt.uow(write=False) as uow:
        return uow.session.scalar(select(func.count()).select_from(ProcessInstance).where(
            ProcessInstance.parent_instance_id == parent)) or 0


def _status(rt: Runtime) -> str:
    with rt.uow(write=False) as uow:
        return uow.session.scalars(select(Job.status)).one()


def test_the_background_job_function_runs_what_is_queued(rt: Runtime) -> None:
    parent = _queue(rt)
    scheduler_jobs.enter(scheduler_jobs.JobContext(rt))
    assert scheduler_jobs.run_jobs() == 1
    assert _children(rt, parent) == len(ITEMS) and _status(rt) == "done"
    assert scheduler_jobs.run_jobs() == 0


def test_a_running_scheduler_starts_the_queued_instances(rt: Runtime,
                                                         schedulers: Schedulers) -> None:
    parent = _queue(rt)
    assert _children(rt, parent) == 0
    schedulers.start(rt, replace(QUICK, jobs_every_seconds=0.2))
    wait_until(lambda: _status(rt) == "done", 10, "the scheduler ran the queued job")
    assert _children(rt, parent) == len(ITEMS)
