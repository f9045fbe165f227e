"""Firing due timers, and the clock moves that make timers fall due."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from ..db import UnitOfWork
from ..errors import ValidationFailed
from ..execution import check_out, lock_instance, run_engine, save, waiting_timers
from ..models import ACTIVE_STATUSES, PendingTimer, ProcessInstance
from . import clock

#: A cycle that fell due many times while nothing ran fires at most this often per call.
MAX_FIRINGS_PER_INSTANCE = 1000


def due_instance_ids(uow: UnitOfWork, now: datetime, limit: int | None = None) -> list[int]:
    """Instances with a timer due by ``now``, earliest first — one indexed query."""
    stmt = (select(PendingTimer.instance_id, func.min(PendingTimer.due_at).label("due"))
            .join(ProcessInstance, ProcessInstance.id == PendingTimer.instance_id)
            .where(PendingTimer.due_at <= now, ProcessInstance.status.in_(ACTIVE_STATUSES))
            .group_by(PendingTimer.instance_id).order_by("due", PendingTimer.instance_id))
    if limit:
        stmt = stmt.limit(limit)
    return [row[0] for row in uow.session.execute(stmt)]


def next_due(uow: UnitOfWork) -> datetime | None:
    """The earliest pending timer of an active instance (what a scheduler should wait for)."""
    return uow.session.scalar(
        select(func.min(PendingTimer.due_at))
        .join(ProcessInstance, ProcessInstance.id == PendingTimer.instance_id)
        .where(ProcessInstance.status.in_(ACTIVE_STATUSES)))


def fire_due_timers(uow: UnitOfWork, now: datetime | None = None) -> int:
    """Advance exactly the instances whose timers are due by ``now``; one commit each.

    Returns how many timer firings happened. An instance that fails goes to ``error`` and
    the others still fire.
    """
    now = now or clock.now(uow)
    fired = 0
    for instance_id in due_instance_ids(uow, now):
        fired += _fire_instance(uow, instance_id, now)
        uow.commit()
    return fired


def _fire_instance(uow: UnitOfWork, instance_id: int, now: datetime) -> int:
    """Fire the instance's due timers in due order, each at its own due time.

    One step per distinct due time: firing everything as of ``now`` at once would let a
    cycle that fell behind fire twice in one engine run (SpiffWorkflow refreshes timers
    again at the end of ``do_engine_steps``) and be logged and counted once.
    """
    instance, _clock_now = lock_instance(uow, instance_id)
    if instance.status not in ACTIVE_STATUSES:
        return 0
    live = check_out(uow, instance, now)
    fired = 0
    for _ in range(MAX_FIRINGS_PER_INSTANCE):
        due = [due_at for _task, due_at, _kind in waiting_timers(live.workflow).values()
               if due_at <= now]
        if not due or live.error is not None:
            break
        step = run_engine(live, timers_at=min(due))
        if not step:
            break
        fired += step
    save(uow, live)
    return fired


def advance_to(uow: UnitOfWork, target: datetime) -> int:
    """Move the simulated clock to ``target`` through every due time on the way, firing what
    falls due at its own time, so later due dates are counted from when each timer fired."""
    if not clock.is_simulated(uow):
        raise ValidationFailed("the system clock cannot be moved; set a simulated time first "
                               "(irpm clock set 2011-01-04T09:00:00+08:00)")
    fired = 0
    while True:
        upcoming = next_due(uow)
        if upcoming is None or upcoming > target:
            break
        step = max(upcoming, clock.now(uow))
        clock.set_clock(uow, step)
        fired += fire_due_timers(uow, step)
    clock.set_clock(uow, max(target, clock.now(uow)))
    return fired
