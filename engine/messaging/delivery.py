"""Delivering a message: to the waiting instances whose catch correlates, and as a new
instance of every process whose message start event catches it.

A message an instance throws (intermediate throw, message end event, send task) and does
not catch itself ends in its workflow's ``bpmn_events``, as in SpiffWorkflow; ``save``
hands those to ``deliver_thrown`` **in the same transaction**. Chosen over a durable outbox
the scheduler drains because it is SpiffWorkflow's own semantics (a collaboration delivers
the throw synchronously), needs no second moving part, and is exactly-once by construction:
the throw, each receiver's step and the new instances commit together or not at all, so a
crash loses nothing and repeats nothing. What it costs: the receivers are locked inside the
sender's transaction (on PostgreSQL a cycle of two transactions throwing to each other's
instances at once is a deadlock the database breaks by failing one, which changes nothing),
and a long chain of messages is one long transaction — capped by ``MAX_DELIVERIES``.

SpiffWorkflow catches a throw at once but runs what it started after the thrower's step;
IRPM delivers once the sender's step is over and it waits — an answer sent in the same step
reaches the sender in both (tests/conformance/test_messages.py). Instances in the middle of
a delivery (a receiver answering its sender) are caught in place, never checked out twice.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime

from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.util.event import BpmnEvent
from sqlalchemy.exc import SQLAlchemyError

from ..db import UnitOfWork
from ..errors import Conflict, IrpmError
from ..execution.checkout import Live, check_out, load_definition, lock_instance, new_instance
from ..execution.stepping import catch_message, run_engine, running, running_lives
from ..execution.workflow import message_waits
from ..models import ACTIVE_STATUSES, EventType
from .routing import Correlations, correlates, message_use, waiting_receivers

#: Most messages one transaction delivers: two processes answering each other forever
#: would otherwise never commit.
MAX_DELIVERIES = 1000


@dataclass
class Delivered:
    """Where a message went: the waiting instances that caught it, the instances it started."""

    caught: list[int] = field(default_factory=list)
    started: list[int] = field(default_factory=list)


@dataclass
class _Delivering:
    lives: tuple[Live, ...] = ()
    count: int = 0


_STATE: ContextVar[_Delivering | None] = ContextVar("irpm_delivering", default=None)


def deliver(uow: UnitOfWork, event: BpmnEvent, now: datetime, *, actor: str | None,
            starts: list[tuple[int, str]], exclude: int | None = None,
            only: int | None = None, event_starts: bool = False) -> Delivered:
    """Deliver ``event`` (a message with its correlations): to instance ``only``, or to every
    waiting instance whose catch correlates (but ``exclude``, the sender) and as a new
    instance of each of ``starts`` (definition id, process id). ``event_starts``: also to
    the instances whose event subprocess starts on it — a message from outside, as
    SpiffWorkflow's ``send_event`` reaches them; a thrown one does not (SpiffWorkflow's
    collaboration reaches only the participants' waiting tasks and start events)."""
    with _delivering() as state:
        state.count += 1
        if state.count > MAX_DELIVERIES:
            raise Conflict(f"more than {MAX_DELIVERIES} messages in one transaction: "
                           "processes that answer each other without end?")
        name = event.event_definition.name
        targets = [only] if only is not None else sorted(
            set(waiting_receivers(uow, name, event.correlations, exclude,
                                  event_starts=event_starts))
            | _waiting_in_progress(state, name, event.correlations, exclude))
        done = Delivered()
        done.caught = [iid for iid in targets if _catch_in(uow, iid, event, actor)]
        if only is None:
            done.started = [_start_by(uow, did, event, now, actor) for did, _ in starts]
        return done


def deliver_thrown(uow: UnitOfWork, live: Live) -> None:
    """Deliver the messages ``live`` threw and did not catch itself (its ``bpmn_events``);
    each is logged on it as ``message_sent`` with where it went (nowhere is not an error:
    SpiffWorkflow too leaves an uncaught message to the application)."""
    with _delivering(live):
        while live.error is None:
            thrown = [e for e in live.workflow.bpmn_events
                      if isinstance(e.event_definition, MessageEventDefinition)]
            if not thrown:
                return
            live.workflow.bpmn_events = [e for e in live.workflow.bpmn_events
                                         if e not in thrown]
            for event in thrown:
                name = event.event_definition.name
                done = deliver(uow, event, live.now, actor=None, exclude=live.instance.id,
                               starts=message_use(uow, name).starts)
                live.log(EventType.MESSAGE_SENT, data={
                    "name": name, "payload": event.payload, "correlations": event.correlations,
                    "caught_by": done.caught, "started": done.started})


@contextmanager
def _delivering(live: Live | None = None) -> Iterator[_Delivering]:
    state = _STATE.get()
    token = None
    if state is None:
        state = _Delivering()
        token = _STATE.set(state)
    before = state.lives
    if live is not None:
        state.lives = (*before, live)
    try:
        yield state
    finally:
        state.lives = before
        if token is not None:
            _STATE.reset(token)


def _waiting_in_progress(state: _Delivering, name: str, correlations: Correlations,
                         exclude: int | None) -> set[int]:
    """The instances in the middle of a delivery, or whose engine is running, that wait for
    the message now: their ``message_wait`` rows are those of their last save (or none yet),
    not of the step they are in."""
    found = set()
    for live in (*state.lives, *running_lives()):
        if live.instance.id == exclude:
            continue
        for _tid, _element, kind, waited, compared in message_waits(live.workflow):
            if kind == "message" and waited == name and correlates(correlations,
                                             json.loads(compared) if compared else None):
                found.add(live.instance.id)
    return found


def _delivering_to(instance_id: int) -> Live | None:
    """The instance's ``Live`` if it is in the middle of a delivery of its own (saving)."""
    state = _STATE.get()
    lives = state.lives if state else ()
    return next((lv for lv in lives if lv.instance.id == instance_id), None)


def _catch_in(uow: UnitOfWork, instance_id: int, event: BpmnEvent, actor: str | None) -> bool:
    """Catch ``event`` in the instance and run it on (saved, unless it is in the middle of
    a delivery of its own: then its own save follows); False when it does not catch it.

    An instance whose engine is running now (a service task's operator acting on another
    instance, which throws back) is not stepped inside its own step: the message waits in
    ``Live.pending_events`` for its save, which catches it (or logs it ``not_caught``)."""
    from ..execution.saving import save  # saving imports this module

    engine_running = running(instance_id)
    if engine_running is not None and _delivering_to(instance_id) is None:
        engine_running.pending_events.append(_copy(event))
        return True
    live = _delivering_to(instance_id)
    own = live is None
    if live is None:
        instance, now = lock_instance(uow, instance_id)
        if instance.status not in ACTIVE_STATUSES:
            return False
        live = check_out(uow, instance, now)
    caught = _catch(live, event, actor)
    if own and caught:
        save(uow, live)
    elif own:
        uow.runtime.workflows.checkin(live.instance.id, live.instance.revision, live.workflow)
    return caught


def _catch(live: Live, event: BpmnEvent, actor: str | None) -> bool:
    """``catch_message`` with a copy of the event; a catch that cannot take the message
    (SpiffWorkflow's catch evaluates the message's correlation properties on the payload)
    refuses the whole transaction with why, instead of failing it as a server error."""
    copied = _copy(event)
    name = event.event_definition.name
    try:
        return catch_message(live, name, copied.payload, actor, event=copied)
    except (IrpmError, SQLAlchemyError):
        raise
    except Exception as exc:  # the catch's evaluation: NameError, KeyError, a Spiff error…
        raise Conflict(f"process instance {live.instance.id} ({live.instance.process_id}) "
                       f"cannot take message '{name}': {exc}; its correlation properties "
                       "read the payload, which must carry them — nothing was changed"
                       ) from exc


def _copy(event: BpmnEvent) -> BpmnEvent:
    """The event with its own payload and correlations: each receiver may change them."""
    return BpmnEvent(event.event_definition, payload=copy.deepcopy(event.payload),
                     correlations=copy.deepcopy(event.correlations))


def _start_by(uow: UnitOfWork, definition_id: int, event: BpmnEvent, now: datetime,
              actor: str | None) -> int:
    """A new instance of the definition, started by ``event`` at its message start event:
    as SpiffWorkflow's collaboration starts a participant, the workflow runs to its start
    event, takes the message's correlations, then catches it."""
    from ..execution.saving import save  # saving imports this module

    live = new_instance(uow, load_definition(uow, definition_id), now, {},
                        business_key=None, started_by=actor)
    run_engine(live)
    live.workflow.correlations.update(copy.deepcopy(event.correlations))
    if not _catch(live, event, actor):
        raise Conflict(f"process {live.instance.process_id} did not catch message "
                       f"'{event.event_definition.name}' at its start event")
    save(uow, live)
    return live.instance.id
