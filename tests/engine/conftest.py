"""Helpers for the engine tests: a ``driver`` that wraps each service call in its own unit of
work (exactly as web/ and the CLI do), plus the post cycle's data and clock."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import func, select

from engine.actors import Actor
from engine.models import HumanTask, InstanceEvent, PendingTimer, ProcessInstance, TaskState
from engine.parsing import read_sources
from engine.runtime import Runtime
from engine.services import clock, deployment, instances, jobs, tasks, timers
from engine.services.tasks import TaskFilter
from engine.settings import Settings
from tests.conftest import BPMN_DIR, FIXTURES
from tests.databases import Template, TestDatabases, world

if TYPE_CHECKING:
    from .programme.programme_org import City

CST = timezone(timedelta(hours=8))
#: The programme's first working day, 09:00 Beijing time.
T0 = datetime(2011, 1, 4, 9, 0, tzinfo=CST)

ATTRIBUTES = ("principal_post", "approval_power", "enforcement_power", "key_resources",
              "livelihood", "general_economic", "social_affairs", "public_service")


def post_attributes(**true: bool) -> dict[str, bool]:
    """The eight post attributes the grading decision reads; all False unless named."""
    unknown = set(true) - set(ATTRIBUTES)
    assert not unknown, unknown
    return {name: bool(true.get(name, False)) for name in ATTRIBUTES}


#: The process the engine tests drive (tests/fixtures/simple_cycle.bpmn): the first post cycle,
#: frozen — discovery, DMN grading, review, a P7D publicity timer, parallel prevention and
#: monitoring report, assessment with a correction loop. The programme's post cycle
#: (bpmn/post_cycle.bpmn) writes the register and routes through the organisation; its tests
#: are test_cycle.py, test_post_cycle_domain.py and test_programme.py.
SIMPLE_CYCLE = "simple_cycle"

#: Valid completion data for every user task of the simple cycle.
DISCOVERY = {"risks": [{"category": "duty", "description": "审批环节自由裁量权过大",
                        "likelihood": "high", "harm": "disciplinary"}]}
REVIEW = {"approved": True, "comment": "同意"}
PREVENTION = {"measures": "细化自由裁量标准"}
MONITORING = {"report": "未发现苗头性问题"}
CORRECTION = {"actions": "完善审批流程"}


class Driver:
    """Thin wrappers: one unit of work per call, reads with ``write=False``."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    # -- deployment and clock ------------------------------------------------------------
    def deploy_bpmn_dir(self) -> list[deployment.DeployedProcess]:
        with self.rt.uow() as uow:
            return deployment.deploy(uow, read_sources([BPMN_DIR]), deployed_by="tests")

    def deploy_fixture(self, *names: str) -> list[deployment.DeployedProcess]:
        with self.rt.uow() as uow:
            return deployment.deploy(uow, read_sources([FIXTURES / n for n in names]),
                                   deployed_by="tests")

    def set_clock(self, at: datetime) -> datetime:
        with self.rt.uow() as uow:
            result = clock.set_clock(uow, at)
            uow.commit()
            return result

    def advance(self, delta: timedelta) -> datetime:
        with self.rt.uow() as uow:
            result = clock.advance_clock(uow, delta)
            uow.commit()
            return result

    def advance_to(self, at: datetime) -> int:
        with self.rt.uow() as uow:
            return timers.advance_to(uow, at)

    def fire(self, at: datetime | None = None) -> int:
        with self.rt.uow() as uow:
            return timers.fire_due_timers(uow, at)

    def now(self) -> datetime:
        with self.rt.uow(write=False) as uow:
            return clock.now(uow)

    def due_ids(self, at: datetime) -> list[int]:
        with self.rt.uow(write=False) as uow:
            return timers.due_instance_ids(uow, at)

    def next_due(self) -> datetime | None:
        with self.rt.uow(write=False) as uow:
            return timers.next_due(uow)

    # -- instances -----------------------------------------------------------------------
    def start(self, process_id: str, data: dict[str, Any] | None = None, *,
              business_key: str | None = None, version: int | None = None,
              actor: Actor | None = None) -> int:
        with self.rt.uow() as uow:
            return instances.start_instance(uow, process_id, business_key, data,
                                           version=version, actor=actor).id

    def start_post(self, **true: bool) -> int:
        return self.start(SIMPLE_CYCLE, post_attributes(**true), business_key="post-1")

    def instance(self, instance_id: int) -> ProcessInstance:
        with self.rt.uow(write=False) as uow:
            return instances.get_instance(uow, instance_id)

    def data(self, instance_id: int) -> dict[str, Any]:
        with self.rt.uow(write=False) as uow:
            return instances.instance_data(uow, instance_id)

    def events(self, instance_id: int) -> list[InstanceEvent]:
        with self.rt.uow(write=False) as uow:
            return instances.instance_events(uow, instance_id)

    def event_types(self, instance_id: int) -> list[str]:
        return [e.type for e in self.events(instance_id)]

    # -- tasks ---------------------------------------------------------------------------
    def tasks(self, instance_id: int, state: str | None = TaskState.OPEN) -> list[HumanTask]:
        """Task rows of one instance (open ones by default), oldest first."""
        with self.rt.uow(write=False) as uow:
            stmt = select(HumanTask).where(HumanTask.instance_id == instance_id)
            if state is not None:
                stmt = stmt.where(HumanTask.state == state)
            return list(uow.session.scalars(
                stmt.order_by(HumanTask.created_at, HumanTask.element_id)))

    def open_elements(self, instance_id: int) -> list[str]:
        return sorted(t.element_id for t in self.tasks(instance_id))

    def task(self, instance_id: int, element_id: str) -> HumanTask:
        """The one open task of ``element_id``."""
        found = [t for t in self.tasks(instance_id) if t.element_id == element_id]
        assert len(found) == 1, (element_id, self.open_elements(instance_id))
        return found[0]

    def get_task(self, task_id: uuid.UUID) -> HumanTask:
        with self.rt.uow(write=False) as uow:
            return tasks.get_task(uow, task_id)

    def inbox(self, actor: Actor, view: str) -> list[HumanTask]:
        with self.rt.uow(write=False) as uow:
            return tasks.list_tasks(uow, actor, TaskFilter(view=view))[0]

    def claim(self, task_id: uuid.UUID, actor: Actor) -> HumanTask:
        with self.rt.uow() as uow:
            return tasks.claim_task(uow, task_id, actor)

    def unclaim(self, task_id: uuid.UUID, actor: Actor) -> HumanTask:
        with self.rt.uow() as uow:
            return tasks.unclaim_task(uow, task_id, actor)

    def complete(self, task_id: uuid.UUID, actor: Actor,
                 data: dict[str, Any] | None = None) -> HumanTask:
        """Complete the task, then run the background jobs it queued (the mobilisation's
        cycles) as the scheduler would."""
        with self.rt.uow() as uow:
            done = tasks.complete_task(uow, task_id, actor, data)
        self.run_jobs()
        return done

    def run_jobs(self) -> int:
        with self.rt.uow() as uow:
            return jobs.run_pending_jobs(uow)

    def complete_element(self, instance_id: int, element_id: str, actor: Actor,
                         data: dict[str, Any] | None = None) -> HumanTask:
        return self.complete(self.task(instance_id, element_id).id, actor, data)

    # -- tables --------------------------------------------------------------------------
    def timers(self, instance_id: int | None = None) -> list[PendingTimer]:
        with self.rt.uow(write=False) as uow:
            stmt = select(PendingTimer).order_by(PendingTimer.due_at, PendingTimer.id)
            if instance_id is not None:
                stmt = stmt.where(PendingTimer.instance_id == instance_id)
            return list(uow.session.scalars(stmt))

    def count(self, model: Any) -> int:
        with self.rt.uow(write=False) as uow:
            return uow.session.scalar(select(func.count()).select_from(model)) or 0


def _on_runtime(settings: Settings, seed: Callable[[Driver], object]) -> None:
    rt = Runtime(settings)
    try:
        seed(Driver(rt))
    finally:
        rt.close()


def _deploy_simple_cycle(driver: Driver) -> None:
    with driver.rt.uow() as uow:
        deployment.deploy(uow, read_sources([FIXTURES / "simple_cycle.bpmn",
                                           BPMN_DIR / "post_grading.dmn"]), deployed_by="tests")


@world
def clock_at_t0_world(test_databases: TestDatabases, migrated_template: Template) -> Template:
    """A migrated database whose simulated clock reads ``T0``."""
    return test_databases.build(
        "clock_at_t0", lambda settings: _on_runtime(settings, lambda d: d.set_clock(T0)),
        migrated_template)


@world
def simple_cycle_world(test_databases: TestDatabases, clock_at_t0_world: Template) -> Template:
    """``clock_at_t0_world`` with the engine tests' cycle and bpmn/'s grading table
    deployed."""
    return test_databases.build(
        "simple_cycle", lambda settings: _on_runtime(settings, _deploy_simple_cycle),
        clock_at_t0_world)


@pytest.fixture
def driver(rt: Runtime, clock_at_t0_world: Template) -> Driver:
    """A driver on a fresh database whose simulated clock reads ``T0`` (a copy of
    ``clock_at_t0_world``)."""
    return Driver(rt)


@pytest.fixture
def post(driver: Driver, simple_cycle_world: Template) -> Driver:
    """The driver with the engine tests' cycle (``SIMPLE_CYCLE``) and bpmn/'s grading table
    deployed (a copy of ``simple_cycle_world``)."""
    return driver


@pytest.fixture
def city(settings: Settings, programme_town_world: Template) -> Iterator[City]:
    """The programme's runtime (lanes through the organisation, the register operators) on
    a copy of ``programme_town_world``: the small city of ``programme_org`` imported, bpmn/
    deployed, the simulated clock at ``T0``."""
    from .programme.programme_org import open_city  # it builds on Driver, defined here

    rt, town = open_city(settings)
    yield town
    rt.close()
