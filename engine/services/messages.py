"""Messages from outside: to one waiting instance (e.g. a public suggestion during
publicity), or — with no instance named — to every waiting instance whose catch correlates
and as a new instance of every process whose message start event catches it.

One path for the REST route (``POST /api/v1/messages``), the CLI (``irpm messages send``)
and the programme (``feedback``): ``send``; ``send_message`` is its form for one instance.
SpiffWorkflow's semantics throughout (``engine.messaging``): the payload as the catch takes
it (``messageVariable``), correlations computed from the payload by the message's
correlation properties and compared as ``MessageEventDefinition.catches`` does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition
from sqlalchemy import select

from ..actors import Actor
from ..db import UnitOfWork
from ..errors import Conflict, InvalidState, NotFound, ValidationFailed
from ..execution.checkout import check_out, lock_instance
from ..execution.saving import save
from ..execution.stepping import catch_message
from ..execution.workflow import waiting_message_definitions, waiting_message_names
from ..forms import validate_task_data
from ..messaging.delivery import deliver
from ..messaging.event_subprocesses import start_definitions
from ..messaging.routing import (
    Correlations,
    correlations_of,
    message_use,
    properties_of,
)
from ..models import ACTIVE_STATUSES, ProcessInstance
from . import admin_rule, clock
from .audit import record_admin_action

#: Longest message name (the ``message_wait.name`` column).
MAX_NAME = 255
#: Types a correlation value may have (what a retrieval expression yields from JSON).
_SCALARS = (str, int, float, bool)


@dataclass(frozen=True)
class SentMessage:
    """What ``send`` did: the correlations it computed, the instances that caught the
    message, the instances it started."""

    name: str
    correlations: Correlations
    caught: list[int]
    started: list[int]


def send(uow: UnitOfWork, name: str, payload: dict[str, Any] | None, actor: Actor, *,
         correlation: dict[str, Any] | None = None,
         instance_id: int | None = None) -> SentMessage:
    """Send message ``name`` from outside and commit; audited as ``message.send``.

    ``correlation`` names correlation property values outright (``{property: value}``);
    the others are read from the payload. With ``instance_id`` only that instance may
    catch it. Refused, with nothing changed, when the payload or the correlation is bad,
    no deployed process uses the message, or nothing catches it (no correlated waiting
    instance and no message start event).

    Administrators only (``admin_rule``): a message from outside moves instances on past
    what their process decided, or starts new ones, like the console's administrative acts;
    the public's one message, feedback, has its own service (``programme.feedback``).
    """
    admin_rule.require_administrator(actor, "send messages to processes")
    clean, given = clean_input(uow, name, payload, correlation)
    if instance_id is not None:
        _instance, correlations = _deliver_to(uow, instance_id, name, clean, actor, given)
        sent = SentMessage(name, correlations, [instance_id], [])
    else:
        sent = _broadcast(uow, name, clean, given, actor)
    record_admin_action(uow, actor, "message.send", f"message:{name}"[:255], details={
        "payload": clean, "correlation": given, "correlations": sent.correlations,
        "caught": sent.caught, "started": sent.started}, instance_id=instance_id)
    uow.commit()
    return sent


def clean_input(uow: UnitOfWork, name: str, payload: Any,
                correlation: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """The name checked, the payload as task data (``ValidationFailed`` naming what is
    wrong), the correlation as property → scalar value."""
    if not isinstance(name, str) or not 0 < len(name) <= MAX_NAME:
        raise ValidationFailed(f"a message or signal name has 1 to {MAX_NAME} characters",
                               {"name": ["length"]})
    clean = validate_task_data(payload, None, max_bytes=uow.runtime.settings.max_task_data_bytes)
    given = correlation or {}
    if not isinstance(given, dict) or not all(
            isinstance(k, str) and isinstance(v, _SCALARS) for k, v in given.items()):
        raise ValidationFailed(
            "a correlation maps property names to text, number or true/false values",
            {"correlation": ["not a mapping of names to values"]})
    return clean, given


def _broadcast(uow: UnitOfWork, name: str, payload: dict[str, Any], given: dict[str, Any],
               actor: Actor) -> SentMessage:
    use = message_use(uow, name)
    if not use.known:
        raise NotFound(f"no deployed process uses message '{name}': check the name, or "
                       "deploy the process that catches it first")
    correlations = correlations_of(uow, use.properties, payload, given)
    event = BpmnEvent(MessageEventDefinition(name), payload=payload, correlations=correlations)
    done = deliver(uow, event, clock.now(uow), actor=actor.user, starts=use.starts,
                   event_starts=True)
    if not done.caught and not done.started:
        shown = ", ".join(f"{p}={v!r}" for key in correlations.values()
                          for p, v in key.items()) or "none"
        raise Conflict(f"no instance waits for message '{name}' with these correlation "
                       f"values ({shown}) and no process starts with it; nothing was changed")
    return SentMessage(name, correlations, done.caught, done.started)


def waiting_messages(uow: UnitOfWork, instance_id: int) -> list[str]:
    """Names of the messages the instance's waiting catches take now (deserializes the
    workflow); its event subprocesses' message starts, always open, are not listed."""
    instance, now = lock_instance(uow, instance_id)
    live = check_out(uow, instance, now)
    names = sorted(waiting_message_names(live.workflow))
    uow.runtime.workflows.checkin(instance.id, instance.revision, live.workflow)
    return names


def send_message(uow: UnitOfWork, instance_id: int, name: str,
                 payload: dict[str, Any] | None, actor: Actor, *,
                 correlation: dict[str, Any] | None = None) -> ProcessInstance:
    """Deliver message ``name`` with ``payload`` to a waiting instance and run it on.

    Refused (nothing changes) when the instance is not active, is not waiting for that
    message at this point of its process, or its catch does not correlate (the message's
    correlation properties read from ``payload``, or named in ``correlation``).
    """
    clean = validate_task_data(payload, None,
                               max_bytes=uow.runtime.settings.max_task_data_bytes)
    instance, _correlations = _deliver_to(uow, instance_id, name, clean, actor,
                                          correlation or {})
    uow.commit()
    return instance


def _deliver_to(uow: UnitOfWork, instance_id: int, name: str, clean: dict[str, Any],
                actor: Actor, given: dict[str, Any]) -> tuple[ProcessInstance, Correlations]:
    """``send_message``'s work, without the commit; the instance and the message's
    correlations."""
    instance, now = lock_instance(uow, instance_id)
    if instance.status not in ACTIVE_STATUSES:
        raise InvalidState(f"process instance {instance.id} is {instance.status}; it takes no "
                           "messages now")
    live = check_out(uow, instance, now)
    starts = [one for _element, kind, one in start_definitions(live.workflow)
              if kind == "message" and one.name == name]
    waiting = waiting_message_names(live.workflow) | {one.name for one in starts}
    if name not in waiting:
        uow.runtime.workflows.checkin(instance.id, instance.revision, live.workflow)
        known = ", ".join(sorted(waiting)) or "none"
        raise Conflict(f"process instance {instance.id} is not waiting for message '{name}' "
                       f"(waiting for: {known})")
    properties = properties_of([*waiting_message_definitions(live.workflow, name), *starts])
    correlations = correlations_of(uow, properties, clean, given)
    event = BpmnEvent(MessageEventDefinition(name), payload=clean, correlations=correlations)
    if not catch_message(live, name, clean, actor.user, event=event):
        raise Conflict(f"process instance {instance.id} waits for message '{name}' with "
                       f"other correlation values (it has {live.workflow.correlations}, the "
                       f"message {correlations}); nothing was changed")
    save(uow, live)
    return instance, correlations


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
