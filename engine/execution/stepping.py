"""Advancing a checked-out instance: completing a human task, running the engine until the
workflow waits (firing the timers due), and what the step came to — the fired timers logged,
a failure kept as error text, the instance's status.

Every step runs on the transaction's frozen clock with the service-task operators bound to
it, acting as the user behind the step. Separate from saving: a step changes only the
``Live`` (workflow, events, error); nothing is written until ``saving.save``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timedelta
from typing import Any

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState as SpiffState

from ..clock import FrozenClock, bind_clock
from ..models import EventType, InstanceStatus
from ..operators import bind_operators
from .checkout import Live
from .pruning import prune_after
from .workflow import waiting_timers

#: SpiffWorkflow's timer resolution: it fires only once its clock is past the due time.
TIMER_TOLERANCE = timedelta(microseconds=1)


def run_human_task(live: Live, task: Task, data: dict[str, Any]) -> None:
    """Complete a READY user task with ``data``, then advance the workflow.

    Completing a task makes SpiffWorkflow update every waiting task, so a timer already due
    can fire inside ``task.run()``: the timers are noted first so that firing is logged too.
    """
    before = waiting_timers(live.workflow)
    with bind_clock(FrozenClock(live.now)), bound_operators(live):
        task.set_data(**data)
        try:
            task.run()
        except WorkflowTaskException as exc:
            live.error = (error_text(exc), task.task_spec.name)
            _log_fired_timers(live, before, live.now)
            return
    run_engine(live, timers_before=before)


def run_engine(live: Live, *, timers_at: datetime | None = None,
               timers_before: dict[uuid.UUID, tuple[Task, datetime, str]] | None = None) -> int:
    """Advance until the workflow waits; a failure marks the instance, never loses it.

    With ``timers_at``, the timers due by then fire first and the workflow runs on as of that
    time, so what it starts next is timed from when the timer was due. Returns how many
    timers fired: there, or in the refresh SpiffWorkflow does at the end of every
    ``do_engine_steps`` (a timer that fell due before the scheduler ran, met while a task is
    completed) — each is logged, so the history never misses a firing. ``timers_before`` is
    the caller's earlier snapshot of the waiting timers, when it already changed the workflow.
    """
    at = timers_at or live.now
    before = waiting_timers(live.workflow) if timers_before is None else timers_before
    try:
        if timers_at is not None:
            # SpiffWorkflow fires a timer only once its clock is strictly past the due time;
            # a timer due at T must fire when the clock reads T.
            with bind_clock(FrozenClock(at + TIMER_TOLERANCE)), bound_operators(live):
                live.workflow.refresh_timers()
        with bind_clock(FrozenClock(at)), bound_operators(live):
            # Pruned as it runs: a loop that turns many times in one run stays small too.
            live.workflow.do_engine_steps(did_complete_task=prune_after)
    except WorkflowTaskException as exc:
        live.error = (error_text(exc), exc.task.task_spec.name if exc.task else None)
    except SpiffWorkflowException as exc:
        live.error = (error_text(exc), None)
    return _log_fired_timers(live, before, at + TIMER_TOLERANCE)


#: The instances whose engine is running now, innermost last: an operator of one may act
#: on another (a disposal started in a post cycle's step records a finding that concerns
#: that post cycle), which must then be changed in place, not checked out a second time.
_RUNNING: ContextVar[tuple[Live, ...]] = ContextVar("irpm_running", default=())


def running(instance_id: int) -> Live | None:
    """The ``Live`` of ``instance_id`` if its engine is running now, in this context."""
    return next((live for live in _RUNNING.get() if live.instance.id == instance_id), None)


def running_lives() -> tuple[Live, ...]:
    """The instances whose engine is running now, in this context, innermost last."""
    return _RUNNING.get()


@contextmanager
def bound_operators(live: Live) -> Iterator[None]:
    """The service-task operators, bound to the step's transaction, instance, clock and
    acting user (none for a ``Live`` outside a transaction); ``live`` is ``running``
    meanwhile."""
    token = _RUNNING.set((*_RUNNING.get(), live))
    try:
        if live.uow is None:
            yield
            return
        instance = live.instance
        with bind_operators(live.uow.runtime.operators, live.uow, instance_id=instance.id,
                            process_id=instance.process_id,
                            business_key=instance.business_key, now=live.now,
                            actor=_acting_user(live)):
            yield
    finally:
        _RUNNING.reset(token)


def catch_pending(live: Live) -> None:
    """Catch the messages ``amend`` and other instances left for the instance while its
    engine was running (``catch_message`` each)."""
    while live.pending_messages and live.error is None:
        name, payload = live.pending_messages.pop(0)
        catch_message(live, name, payload)
    while live.pending_events and live.error is None:
        event = live.pending_events.pop(0)
        catch_message(live, event.event_definition.name, event.payload, event=event)


def catch_message(live: Live, name: str, payload: dict[str, Any],
                  actor: str | None = None, *,
                  event: BpmnEvent | None = None) -> bool:
    """Let the workflow catch message ``name`` — a waiting catch event or receive task, or
    the message start event of an event subprocess (which ``waiting_events`` does not
    list) — and run it on; False when nothing in it catches the message now. Either way a
    ``message_received`` event records it (``not_caught`` when nothing did).

    ``event``: the message as thrown or sent with its correlations (``engine.messaging``),
    which SpiffWorkflow's ``catches`` compares with the workflow's; else one without."""
    event = event or BpmnEvent(MessageEventDefinition(name), payload=payload)
    with bind_clock(FrozenClock(live.now)):  # an event gateway checks its timer on catching
        caught = live.workflow.event_manager.catch(event, internal=False) > 0
    live.log(EventType.MESSAGE_RECEIVED, actor=actor,
             data={"name": name, "payload": payload, **({} if caught else {"not_caught": True})})
    if caught:
        run_engine(live)
    return caught


def _acting_user(live: Live) -> str | None:
    """The user behind this transaction's step: the latest event of it that names one
    (task completed, message received, instance started)."""
    return next((e["actor"] for e in reversed(live.events) if e["actor"]), None)


def _log_fired_timers(live: Live, before: dict[uuid.UUID, tuple[Task, datetime, str]],
                      at: datetime) -> int:
    """Log the timers of ``before`` that fired: due by ``at``, not cancelled, and gone or
    moved on to their next period (a cycle)."""
    after = waiting_timers(live.workflow)
    fired = 0
    for tid, (task, due_at, _kind) in before.items():
        if due_at > at or task.state == SpiffState.CANCELLED:
            continue
        if tid in after and after[tid][1] == due_at:
            continue
        live.log(EventType.TIMER_FIRED, task_id=tid, element_id=task.task_spec.name,
                 data={"due_at": due_at.isoformat()})
        fired += 1
    return fired


def error_text(exc: Exception) -> str:
    text = str(exc)
    notes = getattr(exc, "notes", None) or getattr(exc, "__notes__", None)
    if notes:
        text = f"{text} ({'; '.join(str(n) for n in notes)})"
    return text[:4000]


def set_status(live: Live) -> None:
    instance, workflow = live.instance, live.workflow
    if instance.status in (InstanceStatus.SUSPENDED, InstanceStatus.TERMINATED):
        return
    if live.error is not None:
        message, element = live.error
        if instance.status != InstanceStatus.ERROR or instance.error_message != message:
            live.log(EventType.ERROR, element_id=element, data={"message": message})
        instance.status, instance.error_message, instance.error_element = \
            InstanceStatus.ERROR, message, element
        return
    instance.error_message = instance.error_element = None
    if workflow.is_completed():
        if instance.status != InstanceStatus.COMPLETED:
            live.log(EventType.COMPLETED)
        instance.status, instance.completed_at = InstanceStatus.COMPLETED, live.now
    else:
        # Waiting for a person, a timer, a message or a called instance.
        instance.status = InstanceStatus.WAITING
