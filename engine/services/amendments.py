"""Amending a running instance from outside its own steps: new values for the data its
coming steps and lanes read, its open tasks routed again by them, and a message for it.

Domain code that learns something an instance was routed by has changed (the programme: a
post's level rose, so another leader answers for it — ``engine.programme.services.
register_lifts``) calls ``amend`` in its own transaction. The instance may be in the middle
of its own step — a service task of it started another instance whose step made the change
— in which case it is changed in place (``stepping.running``) and its own ``save`` catches
the message and routes its tasks again; otherwise it is locked, checked out, changed, run
on and saved here. Either way nothing is committed here: the change and its cause are one
transaction.
"""

from __future__ import annotations

import copy
from typing import Any

from SpiffWorkflow.util.task import TaskState as SpiffState

from ..db import UnitOfWork
from ..execution.checkout import Live, check_out, lock_instance
from ..execution.saving import save
from ..execution.stepping import catch_message, running
from ..execution.workflow import all_tasks
from ..models import ACTIVE_STATUSES, EventType

__all__ = ["amend"]

_ACTIVE = (SpiffState.READY, SpiffState.WAITING, SpiffState.STARTED, SpiffState.ERROR)


def amend(uow: UnitOfWork, instance_id: int, changes: dict[str, Any], *, reason: str,
          message: tuple[str, dict[str, Any]] | None = None,
          actor: str | None = None) -> bool:
    """Set ``changes`` in the data of every step still to come of instance ``instance_id``,
    route its open tasks again by them, and deliver ``message`` (name, payload) if anything
    in it catches it now (``stepping.catch_message``); ``reason`` goes with the events.
    False (nothing done) when the instance is not active."""
    live = running(instance_id)
    if live is not None:
        _apply(live, changes, reason, actor)
        if message is not None:
            live.pending_messages.append(message)
        return True
    instance, now = lock_instance(uow, instance_id)
    if instance.status not in ACTIVE_STATUSES:
        return False
    live = check_out(uow, instance, now)
    _apply(live, changes, reason, actor)
    if message is not None:
        catch_message(live, *message, actor=actor)
    save(uow, live)
    return True


def _apply(live: Live, changes: dict[str, Any], reason: str, actor: str | None) -> None:
    """The data of every active task (what the following steps inherit) and of the last
    completed one (what the console shows) takes ``changes``; the open tasks are routed
    again at save."""
    last = live.workflow.last_task
    for task in [*(t for t in all_tasks(live.workflow) if t.state in _ACTIVE),
                 *([last] if last is not None else [])]:
        task.data.update(copy.deepcopy(changes))
    live.log(EventType.VARIABLES_CHANGED, actor=actor,
             data={"names": sorted(changes), "values": copy.deepcopy(changes),
                   "reason": reason})
    live.reroute = reason
