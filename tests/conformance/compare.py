"""Run one BPMN file through raw SpiffWorkflow in memory and through IRPM persisted, with
the same script of steps, and compare what each came to.

The standard of issue 12: a construct is supported when IRPM ends with the same status
(completed / waiting), the same data and the same path as SpiffWorkflow itself. Raw runs
use SpiffWorkflow's parser (XSD-validated, as IRPM deploys) and its default script engine;
the clock of both is the same simulated instant, bound with ``engine.clock.bind_clock`` for
the raw run (SpiffWorkflow's timers read ``datetime.now()``) and moved through
``timers.advance_to`` for IRPM. A step is one of ``Complete`` (a READY user task),
``MoveClock`` (to an instant, firing what falls due) and ``Send`` (a message by name, with
a payload).

The path is the completed tasks' element ids in task-tree order (flow order along each
branch), SpiffWorkflow's own bookkeeping tasks (``Start``, ``End``, ``Root`` and the
``*.EndJoin`` joins) left out.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.parser import VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition
from SpiffWorkflow.util.task import TaskState as SpiffState
from sqlalchemy import select

from engine.actors import Actor
from engine.clock import FrozenClock, bind_clock, install_spiff_clock
from engine.execution.checkout import check_out, lock_instance
from engine.models import HumanTask, InstanceStatus, PendingTimer
from engine.parsing import read_sources
from engine.runtime import Runtime
from engine.services import clock, deployment, instances, messages, tasks, timers
from engine.services.instances import open_tasks

MODELS = Path(__file__).parent / "models"
#: Who starts the IRPM run, sends its messages and completes its administrators' tasks.
ACTOR = Actor("conformance", frozenset(), is_admin=True)
_BOOKKEEPING = {"Start", "End", "Root"}
#: Where a conformance run starts by default: the programme's first working day, 09:00.
T0 = datetime(2011, 1, 4, 9, 0, tzinfo=timezone(timedelta(hours=8)))
#: SpiffWorkflow fires a timer once its clock is strictly past the due time.
_TICK = timedelta(microseconds=1)


@dataclass(frozen=True)
class Complete:
    """Complete the one READY user task of element ``element`` with ``data``."""

    element: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class MoveClock:
    """Move the simulated clock to ``to`` (aware), firing the timers due on the way."""

    to: datetime


@dataclass(frozen=True)
class Send:
    """Deliver message ``name`` with ``payload`` to the instance."""

    name: str
    payload: dict[str, Any] = field(default_factory=dict)


Step = Complete | MoveClock | Send


@dataclass(frozen=True)
class Outcome:
    """What a run came to: ``completed`` or ``waiting``, the data, the path."""

    status: str
    data: dict[str, Any]
    path: list[str]


def _path(workflow: BpmnWorkflow) -> list[str]:
    names = []
    for task in workflow.get_tasks(state=SpiffState.COMPLETED):
        name = task.task_spec.name
        if name not in _BOOKKEEPING and not name.endswith(".EndJoin"):
            names.append(name)
    return names


def _outcome(workflow: BpmnWorkflow) -> Outcome:
    last = workflow.last_task or workflow.task_tree
    return Outcome("completed" if workflow.is_completed() else "waiting",
                   copy.deepcopy(dict(workflow.data) | dict(last.data)), _path(workflow))


def run_raw(filename: str, process_id: str, start: datetime,
            data: dict[str, Any] | None = None, steps: tuple[Step, ...] = ()) -> Outcome:
    """The file through SpiffWorkflow alone, in memory, with its own defaults."""
    install_spiff_clock()  # what bind_clock binds: SpiffWorkflow's timers' datetime.now()
    parser = SpiffBpmnParser(validator=VALIDATOR)
    parser.add_bpmn_file(str(MODELS / filename))
    now = start
    with bind_clock(FrozenClock(now)):  # a start event's timer is timed as it is built
        workflow = BpmnWorkflow(parser.get_spec(process_id),
                                parser.get_subprocess_specs(process_id))
        workflow.get_next_task(spec_name="Start").data.update(copy.deepcopy(data or {}))
        workflow.do_engine_steps()
    for step in steps:
        if isinstance(step, MoveClock):
            now = step.to
            with bind_clock(FrozenClock(now + _TICK)):
                workflow.refresh_timers()
                workflow.do_engine_steps()
            continue
        with bind_clock(FrozenClock(now)):
            if isinstance(step, Complete):
                task = workflow.get_next_task(state=SpiffState.READY, spec_name=step.element)
                assert task is not None, f"raw: no READY task {step.element}"
                task.set_data(**copy.deepcopy(step.data))
                task.run()
            else:
                workflow.catch(BpmnEvent(MessageEventDefinition(step.name),
                                         payload=copy.deepcopy(step.payload)))
            workflow.do_engine_steps()
    return _outcome(workflow)


def deploy(rt: Runtime, filename: str) -> None:
    with rt.uow() as uow:
        deployment.deploy(uow, read_sources([MODELS / filename]), deployed_by="conformance")


def run_irpm(rt: Runtime, process_id: str, start: datetime,
             data: dict[str, Any] | None = None, steps: tuple[Step, ...] = ()) -> Outcome:
    """The deployed process through IRPM's services, each step its own transaction, on the
    simulated clock set to ``start``; then the outcome read back from the database."""
    iid = start_at(rt, process_id, start, data)
    for step in steps:
        with rt.uow() as uow:
            if isinstance(step, MoveClock):
                timers.advance_to(uow, step.to)
            elif isinstance(step, Complete):
                found = [t for t in open_tasks(uow, iid) if t.element_id == step.element]
                assert len(found) == 1, f"IRPM: no open task {step.element}"
                tasks.complete_task(uow, found[0].id, allowed_actor(found[0]), step.data)
            else:
                messages.send_message(uow, iid, step.name, step.payload, ACTOR)
    return irpm_outcome(rt, iid)


def allowed_actor(task: HumanTask) -> Actor:
    """Who completes ``task`` in the IRPM run: whoever the access rule lets — one of its
    candidates, not an administrator (so a task routed wrong shows as a refusal), or, for an
    administrators' task (no lane, no candidates: ``engine.services.task_access``), an
    administrator."""
    if task.administrators_only:
        return ACTOR
    user = task.candidate_users[0] if task.candidate_users else "conformance"
    return Actor(user, frozenset(task.candidate_groups))


def start_at(rt: Runtime, process_id: str, start: datetime,
             data: dict[str, Any] | None = None) -> int:
    """Set the simulated clock to ``start`` and start the deployed process there."""
    with rt.uow() as uow:
        clock.set_clock(uow, start)
        uow.commit()
    with rt.uow() as uow:
        return instances.start_instance(uow, process_id, None, data, actor=ACTOR).id


def timer_rows(rt: Runtime, instance_id: int) -> list[tuple[str, str, datetime]]:
    """The instance's rows of the timer table: element, kind, due time."""
    with rt.uow(write=False) as uow:
        return [(t.element_id, t.kind, t.due_at) for t in uow.session.scalars(
            select(PendingTimer).where(PendingTimer.instance_id == instance_id)
            .order_by(PendingTimer.due_at))]


def irpm_outcome(rt: Runtime, instance_id: int) -> Outcome:
    """The instance's status, data and path as persisted (loaded from its stored state)."""
    with rt.uow() as uow:
        instance, now = lock_instance(uow, instance_id)
        status = instance.status
        live = check_out(uow, instance, now)
        outcome = _outcome(live.workflow)
        uow.runtime.workflows.checkin(instance.id, instance.revision, live.workflow)
        uow.rollback()
    assert status in (InstanceStatus.COMPLETED, InstanceStatus.WAITING), \
        f"IRPM instance {instance_id} is {status}"
    assert outcome.status == status, (outcome.status, status)
    return outcome


def assert_same(rt: Runtime, filename: str, process_id: str, start: datetime,
                data: dict[str, Any] | None = None, steps: tuple[Step, ...] = ()) -> Outcome:
    """Deploy ``filename``, run it both ways, assert the outcomes are equal; the outcome."""
    raw = run_raw(filename, process_id, start, data, steps)
    deploy(rt, filename)
    persisted = run_irpm(rt, process_id, start, data, steps)
    assert persisted == raw, f"IRPM {persisted} != SpiffWorkflow {raw}"
    return raw
