"""Background jobs: a call activity marked ``startsInBackground`` queues a job instead of
starting its children in the step; ``run_pending_jobs`` starts them in batched transactions,
exactly once even when interrupted, and keeps a failure on the job."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import func, select

from engine.actors import Actor
from engine.errors import Forbidden, NotFound
from engine.models import InstanceStatus, Job, JobStatus, ProcessDefinition, ProcessInstance
from engine.parsing import read_sources
from engine.runtime import Runtime
from engine.services import audit, batches, deployment, instances, jobs
from engine.services import tasks as tasks_service
from engine.services.console_list import InstanceQuery
from tests.conftest import ADMIN, FIXTURES

from .conftest import SIMPLE_CYCLE, Driver, post_attributes

ITEMS = [f"i{n:02d}" for n in range(7)]
STARTER = Actor("starter", frozenset({"staff"}))


@pytest.fixture
def parent(rt: Runtime) -> int:
    """A ``job_parent`` instance over ``ITEMS`` whose ``go`` task ``STARTER`` completed:
    its seven calls wait for the job."""
    with rt.uow() as uow:
        deployment.deploy(uow, read_sources([FIXTURES / "jobs"]), deployed_by="tests")
    with rt.uow() as uow:
        instance = instances.start_instance(uow, "job_parent", "p-1", {"items": ITEMS})
    with rt.uow() as uow:
        [task] = instances.open_tasks(uow, instance.id)
        tasks_service.complete_task(uow, task.id, STARTER, {})
    return instance.id


def _children(rt: Runtime, parent_id: int) -> list[ProcessInstance]:
    with rt.uow(write=False) as uow:
        return list(uow.session.scalars(select(ProcessInstance).where(
            ProcessInstance.parent_instance_id == parent_id).order_by(ProcessInstance.id)))


def _jobs(rt: Runtime) -> list[Job]:
    with rt.uow(write=False) as uow:
        return list(uow.session.scalars(select(Job).order_by(Job.id)))


def _run(rt: Runtime) -> int:
    with rt.uow() as uow:
        return jobs.run_pending_jobs(uow)


def test_the_step_queues_a_job_and_starts_no_child(rt: Runtime, parent: int) -> None:
    assert _children(rt, parent) == []
    [job] = _jobs(rt)
    assert (job.kind, job.instance_id, job.status) == ("start_calls", parent, "queued")
    assert (job.done, job.total, job.started_by) == (0, len(ITEMS), STARTER.user)
    with rt.uow(write=False) as uow:
        assert instances.get_instance(uow, parent).status == InstanceStatus.WAITING
        assert [j.id for j in jobs.open_jobs_for(uow, parent)] == [job.id]


def test_running_the_job_starts_every_call_once(rt: Runtime, parent: int) -> None:
    assert _run(rt) == 1
    children = _children(rt, parent)
    assert sorted(c.business_key for c in children) == [f"job_child:{i}" for i in ITEMS]
    assert {c.status for c in children} == {InstanceStatus.WAITING}
    [job] = _jobs(rt)
    assert (job.status, job.done, job.total) == ("done", len(ITEMS), len(ITEMS))
    assert job.result == {"instances_started": len(ITEMS)}
    assert job.started_at is not None and job.finished_at is not None
    assert _run(rt) == 0  # nothing left: a second run starts nothing
    assert len(_children(rt, parent)) == len(ITEMS)


def test_children_completing_let_the_caller_run_on(rt: Runtime, parent: int) -> None:
    _run(rt)
    for child in _children(rt, parent):
        with rt.uow() as uow:
            [task] = instances.open_tasks(uow, child.id)
            tasks_service.complete_task(uow, task.id, ADMIN, {})
    with rt.uow(write=False) as uow:
        assert [t.element_id for t in instances.open_tasks(uow, parent)] == ["summary"]


def test_batches_commit_progress_and_an_interrupted_job_resumes_exactly_once(
        rt: Runtime, parent: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jobs, "JOB_BATCH", 2)
    seen: list[tuple[str, int]] = []

    def crash_after_two_batches(job: Job) -> None:
        seen.append((job.status, job.done))
        if len(seen) == 2:
            raise KeyboardInterrupt  # the process dies between two batches

    with pytest.raises(KeyboardInterrupt), rt.uow() as uow:
        jobs.run_pending_jobs(uow, crash_after_two_batches)
    # First batch one call (no measure yet), then two per batch (one instance per call).
    assert seen == [("running", 1), ("running", 3)]
    [job] = _jobs(rt)
    assert (job.status, job.done) == ("running", 3)
    assert len(_children(rt, parent)) == 3
    assert _run(rt) == 1
    children = _children(rt, parent)
    assert Counter(c.business_key for c in children) == {f"job_child:{i}": 1 for i in ITEMS}
    [job] = _jobs(rt)
    assert (job.status, job.done, job.result) == ("done", 7, {"instances_started": 7})


def test_a_failing_job_keeps_its_error_and_changes_nothing(rt: Runtime, parent: int) -> None:
    with rt.uow(write=False) as uow:
        instances_before = uow.session.scalar(select(func.count()).select_from(ProcessInstance))
    with rt.uow() as uow:  # the called process's every version gone: the starts must fail
        for definition in uow.session.scalars(select(ProcessDefinition).where(
                ProcessDefinition.process_id == "job_child")):
            definition.process_id = "job_child_renamed"
        uow.commit()
    assert _run(rt) == 1
    [job] = _jobs(rt)
    assert job.status == JobStatus.FAILED
    assert job.error is not None and "job_child" in job.error and "not deployed" in job.error
    assert job.done == 0 and job.finished_at is not None
    with rt.uow(write=False) as uow:
        assert uow.session.scalar(select(func.count()).select_from(ProcessInstance)) \
            == instances_before
        assert instances.get_instance(uow, parent).status == InstanceStatus.WAITING
    assert _run(rt) == 0  # a failed job is not retried by itself


def test_a_suspended_caller_holds_its_job_until_resumed(rt: Runtime, parent: int) -> None:
    with rt.uow() as uow:
        instances.suspend_instance(uow, parent, ADMIN, "先停")
    assert _run(rt) == 1  # tried: it waits, nothing started, nothing failed
    [job] = _jobs(rt)
    assert (job.status, job.done, job.error) == ("queued", 0, None)
    assert job.message is not None and "suspended" in job.message
    assert _children(rt, parent) == []
    with rt.uow() as uow:
        instances.resume_instance(uow, parent, ADMIN, "继续")
    assert _run(rt) == 1
    [job] = _jobs(rt)
    assert (job.status, job.done) == ("done", len(ITEMS))
    assert len(_children(rt, parent)) == len(ITEMS)


def test_only_the_starter_and_admins_see_a_job(rt: Runtime, parent: int) -> None:
    [job] = _jobs(rt)
    with rt.uow(write=False) as uow:
        assert jobs.get_job(uow, job.id, STARTER).id == job.id
        assert jobs.get_job(uow, job.id, ADMIN).id == job.id
        with pytest.raises(Forbidden):
            jobs.get_job(uow, job.id, Actor("someone", frozenset({"staff"})))
        with pytest.raises(NotFound):
            jobs.get_job(uow, job.id + 1, ADMIN)


def test_a_batch_runs_as_a_background_job(post: Driver) -> None:
    """Creating a console batch queues a job that runs it to its end, as its creator."""
    czj = [post.start(SIMPLE_CYCLE, {**post_attributes(), "unit_code": "CZJ"},
                      business_key=f"CZJ-{n}") for n in range(3)]
    with post.rt.uow() as uow:
        batch = batches.create_batch(uow, ADMIN, "suspend", InstanceQuery(unit="CZJ"), "年度检查")
    [job] = _jobs(post.rt)
    assert (job.kind, job.status, job.total, job.started_by) == ("batch", "queued", 3, "admin")
    assert job.parameters == {"batch_id": batch.id}
    assert {post.instance(i).status for i in czj} == {InstanceStatus.WAITING}
    assert post.run_jobs() == 1
    [job] = _jobs(post.rt)
    assert (job.status, job.done, job.result) == ("done", 3, {"succeeded": 3, "failed": 0})
    assert {post.instance(i).status for i in czj} == {InstanceStatus.SUSPENDED}
    with post.rt.uow(write=False) as uow:
        assert batches.batch_progress(uow, batch.id).status == "done"
        entries = [(e.action, e.actor) for e in audit.list_audit(uow).entries]
    assert entries.count(("suspend", "admin")) == 3
