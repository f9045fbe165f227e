"""Signals from outside: to one instance, or to every instance waiting for the signal.

A signal has no correlation: as in SpiffWorkflow, every waiting catch of that name takes it
(``SignalEventDefinition``), the payload into the catch's variable where it names one. The
waiting instances are found through ``message_wait`` (``kind = signal``, or ``signal_start``
for the signal start event of a running instance's event subprocess, which SpiffWorkflow's
``send_event`` reaches too). A process's own signal start event is not started from outside
(only running instances catch), and signals thrown inside an instance stay in it.

Administrators only, audited as ``signal.send``, for the reason ``messages.send`` gives.
"""

from __future__ import annotations

import copy
from typing import Any

from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.spiff.specs.event_definitions import SignalEventDefinition

from ..actors import Actor
from ..clock import FrozenClock, bind_clock
from ..db import UnitOfWork
from ..errors import Conflict, InvalidState
from ..execution.checkout import check_out, lock_instance
from ..execution.saving import save
from ..execution.stepping import run_engine
from ..messaging.routing import waiting_receivers
from ..models import ACTIVE_STATUSES, EventType
from . import admin_rule
from .audit import record_admin_action
from .messages import clean_input


def send_signal(uow: UnitOfWork, name: str, payload: dict[str, Any] | None, actor: Actor, *,
                instance_id: int | None = None) -> list[int]:
    """Send signal ``name`` and commit; the instances that caught it. Refused, with nothing
    changed, when the input is bad or no (named) instance waits for it."""
    admin_rule.require_administrator(actor, "send signals to processes")
    clean, _ = clean_input(uow, name, payload, None)
    targets = ([instance_id] if instance_id is not None
               else waiting_receivers(uow, name, {}, kind="signal", event_starts=True))
    caught = [iid for iid in targets if _catch_in(uow, iid, name, clean, actor,
                                                    named=instance_id is not None)]
    if not caught:
        which = f"process instance {instance_id} is not" if instance_id else "no instance is"
        raise Conflict(f"{which} waiting for signal '{name}'; nothing was changed")
    record_admin_action(uow, actor, "signal.send", f"signal:{name}"[:255], details={
        "payload": clean, "caught": caught}, instance_id=instance_id)
    uow.commit()
    return caught


def _catch_in(uow: UnitOfWork, instance_id: int, name: str, payload: dict[str, Any],
              actor: Actor, *, named: bool) -> bool:
    instance, now = lock_instance(uow, instance_id)
    if instance.status not in ACTIVE_STATUSES:
        if named:
            raise InvalidState(f"process instance {instance.id} is {instance.status}; it "
                               "takes no signals now")
        return False
    live = check_out(uow, instance, now)
    event = BpmnEvent(SignalEventDefinition(name), payload=copy.deepcopy(payload))
    with bind_clock(FrozenClock(live.now)):  # an event gateway checks its timer on catching
        caught = live.workflow.event_manager.catch(event, internal=False) > 0
    if not caught:
        uow.runtime.workflows.checkin(instance.id, instance.revision, live.workflow)
        return False
    live.log(EventType.SIGNAL_RECEIVED, actor=actor.user, data={"name": name,
                                                                "payload": payload})
    run_engine(live)
    save(uow, live)
    return True
