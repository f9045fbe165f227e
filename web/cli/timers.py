"""``irpm timers fire|list`` — timer events waiting in process instances."""

from __future__ import annotations

from typing import Any

import click
from sqlalchemy import func, select

from engine.db import UnitOfWork
from engine.models import ACTIVE_STATUSES, PendingTimer, ProcessInstance
from engine.services import clock as clock_service
from engine.services import timers as timers_service

from .format import Column, cell, dumps, table
from .state import State, pass_state


@click.group()
def timers() -> None:
    """Timer events waiting in process instances."""


def _active_timers() -> Any:
    return (select(PendingTimer, ProcessInstance.process_id, ProcessInstance.business_key)
            .join(ProcessInstance, ProcessInstance.id == PendingTimer.instance_id)
            .where(ProcessInstance.status.in_(ACTIVE_STATUSES)))


def _timer_counts(uow: UnitOfWork) -> dict[str, Any]:
    now = clock_service.now(uow)
    pending = _active_timers().subquery()
    count, due = uow.session.execute(select(
        func.count(), func.count().filter(pending.c.due_at <= now)).select_from(pending)).one()
    return {"now": now, "pending": count, "due": due, "next_due": timers_service.next_due(uow)}


@timers.command("fire")
@pass_state
def timers_fire(state: State) -> None:
    """Fire every timer due by the clock's current time."""
    with state.rt.uow() as uow:
        fired = timers_service.fire_due_timers(uow)
        now = clock_service.now(uow)
    state.say({"fired": fired, "now": now}, f"{fired} timer(s) fired")


@timers.command("list")
@click.option("--limit", type=click.IntRange(1, 10_000), default=20, show_default=True)
@pass_state
def timers_list(state: State, limit: int) -> None:
    """Pending timers of running instances, the next due first."""
    with state.rt.uow(write=False) as uow:
        summary = _timer_counts(uow)
        found = uow.session.execute(_active_timers().order_by(PendingTimer.due_at).limit(limit))
        rows = [{"instance_id": t.instance_id, "process_id": process, "key": key,
                 "element_id": t.element_id, "kind": t.kind, "due_at": t.due_at,
                 "due": t.due_at <= summary["now"]} for t, process, key in found]
    if state.as_json:
        click.echo(dumps({**summary, "timers": rows}))
        return
    click.echo(f"{summary['pending']} pending, {summary['due']} due now; next due "
               f"{cell(summary['next_due'])} (clock {cell(summary['now'])})")
    if rows:
        click.echo(table(rows, [Column("INSTANCE", "instance_id"), Column("PROCESS", "process_id"),
                                Column("KEY", "key"), Column("ELEMENT", "element_id"),
                                Column("KIND", "kind"), Column("DUE AT", "due_at"),
                                Column("DUE", "due")]))
