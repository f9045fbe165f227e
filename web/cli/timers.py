"""``irpm timers fire|list`` — timer events waiting in process instances."""

from __future__ import annotations

import click

from engine.services import clock as clock_service
from engine.services import timers as timers_service

from .format import Column, cell, dumps, table
from .state import State, pass_state


@click.group()
def timers() -> None:
    """Timer events waiting in process instances."""


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
        overview = timers_service.timer_overview(uow, limit)
    summary = {"now": overview.now, "pending": overview.pending, "due": overview.due,
               "next_due": overview.next_due}
    rows = [{"instance_id": t.instance_id, "process_id": t.process_id, "key": t.business_key,
             "element_id": t.element_id, "kind": t.kind, "due_at": t.due_at,
             "due": t.due_at <= overview.now} for t in overview.timers]
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
