"""Messages from outside into waiting instances (e.g. a public suggestion during publicity)."""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition
from sqlalchemy import select

from ..actors import Actor
from ..clock import FrozenClock, bind_clock
from ..db import UnitOfWork
from ..errors import Conflict, InvalidState, NotFound
from ..execution.checkout import check_out, lock_instance
from ..execution.saving import save
from ..execution.stepping import run_engine
from ..execution.workflow import waiting_message_names
from ..forms import validate_task_data
from ..models import ACTIVE_STATUSES, EventType, ProcessInstance


def waiting_messages(uow: UnitOfWork, instance_id: int) -> list[str]:
    """Names of the messages the instance can receive now (deserializes the workflow)."""
    instance, now = lock_instance(uow, instance_id)
    live = check_out(uow, instance, now)
    names = sorted(waiting_message_names(live.workflow))
    uow.runtime.workflows.checkin(instance.id, instance.revision, live.workflow)
    return names


def send_message(uow: UnitOfWork, instance_id: int, name: str,
                 payload: dict[str, Any] | None, actor: Actor) -> ProcessInstance:
    """Deliver message ``name`` with ``payload`` to a waiting instance and run it on.

    Refused (nothing changes) when the instance is not active or is not waiting for that
    message at this point of its process.
    """
    clean = validate_task_data(payload, None,
                               max_bytes=uow.runtime.settings.max_task_data_bytes)
    instance, now = lock_instance(uow, instance_id)
    if instance.status not in ACTIVE_STATUSES:
        raise InvalidState(f"process instance {instance.id} is {instance.status}; it takes no "
                           "messages now")
    live = check_out(uow, instance, now)
    waiting = waiting_message_names(live.workflow)
    if name not in waiting:
        uow.runtime.workflows.checkin(instance.id, instance.revision, live.workflow)
        known = ", ".join(sorted(waiting)) or "none"
        raise Conflict(f"process instance {instance.id} is not waiting for message '{name}' "
                       f"(waiting for: {known})")
    live.log(EventType.MESSAGE_RECEIVED, actor=actor.user, data={"name": name, "payload": clean})
    # Catching updates the waiting task, which checks its other events — an event gateway's
    # timer among them — against the clock: the transaction's, not the system's.
    with bind_clock(FrozenClock(live.now)):
        live.workflow.catch(BpmnEvent(MessageEventDefinition(name), payload=clean))
    run_engine(live)
    save(uow, live)
    uow.commit()
    return instance


def find_instance(uow: UnitOfWork, process_id: str, business_key: str) -> ProcessInstance:
    """The newest active instance of ``process_id`` with ``business_key``."""
    instance = uow.session.scalar(
        select(ProcessInstance).where(ProcessInstance.process_id == process_id,
                                      ProcessInstance.business_key == business_key,
                                      ProcessInstance.status.in_(ACTIVE_STATUSES))
        .order_by(ProcessInstance.id.desc()).limit(1))
    if instance is None:
        raise NotFound(f"no active '{process_id}' instance with key '{business_key}'")
    return instance
