"""``irpm start|instances|suspend|resume|terminate|retry|events`` — process instances: start
one, list them, change their lifecycle, run a failed step again, read their history.

Suspend, resume, terminate and retry are administrative acts: they go through
``engine.services.instance_admin.admin_lifecycle`` as the console and the REST API do — an
administrator (``--user``, or the shell operator ``shell:<login>``) with a ``--reason``, each
written to the audit log."""

from __future__ import annotations

from typing import Any

import click

from engine.actors import Actor
from engine.models import InstanceStatus
from engine.services import instance_admin
from engine.services import instances as instances_service

from .format import INSTANCE_COLUMNS, Column, event_row, instance_row
from .state import (
    State,
    data_option,
    operator,
    operator_option,
    pass_state,
    reason_option,
    show_instance,
)


@click.command()
@click.argument("process_id")
@click.option("--key", required=True, help="Business key, e.g. the post and the year.")
@data_option
@click.option("--version", type=click.IntRange(min=1), help="A deployed version (default: latest).")
@click.option("--user", envvar="IRPM_USER", help="Who starts it (default: IRPM_USER).")
@pass_state
def start(state: State, process_id: str, key: str, data: dict[str, Any] | None,
          version: int | None, user: str | None) -> None:
    """Start PROCESS_ID and run it until it waits; show its open tasks."""
    with state.rt.uow() as uow:
        instance = instances_service.start_instance(uow, process_id, key, data, version=version,
                                           actor=Actor(user) if user else None)
    show_instance(state, instance, "started")


@click.command()
@click.option("--status", type=click.Choice([s.value for s in InstanceStatus]))
@click.option("--process", "process_id", help="Only this process id.")
@click.option("--key", help="Only this business key.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
@pass_state
def instances(state: State, status: str | None, process_id: str | None, key: str | None,
              limit: int) -> None:
    """List process instances, newest first."""
    flt = instances_service.InstanceFilter(status=status, process_id=process_id, business_key=key,
                                  limit=limit)
    with state.rt.uow(write=False) as uow:
        rows, total = instances_service.list_instances(uow, flt)
    state.listing([instance_row(i) for i in rows], INSTANCE_COLUMNS, "no instances", total)


def _lifecycle(name: str, help_text: str) -> click.Command:
    """One lifecycle command: the three share their arguments and output."""
    @click.command(name, help=help_text)
    @click.argument("instance_id", type=int)
    @operator_option
    @reason_option
    @pass_state
    def command(state: State, instance_id: int, operator_name: str | None,
                reason: str | None) -> None:
        with state.rt.uow() as uow:
            instance = instance_admin.admin_lifecycle(uow, name, instance_id,
                                                      operator(uow, operator_name), reason)
        show_instance(state, instance)

    return command


suspend = _lifecycle("suspend", "Suspend INSTANCE_ID: its tasks and timers wait until it is "
                                "resumed (audited).")
resume = _lifecycle("resume", "Resume a suspended INSTANCE_ID (audited).")
terminate = _lifecycle("terminate", "Terminate INSTANCE_ID for good, cancelling its open tasks "
                                    "(audited).")


@click.command()
@click.argument("instance_id", type=int)
@operator_option
@reason_option
@data_option
@pass_state
def retry(state: State, instance_id: int, operator_name: str | None, reason: str | None,
          data: dict[str, Any] | None) -> None:
    """Run the failed step of INSTANCE_ID again, after merging --data into it (audited)."""
    with state.rt.uow() as uow:
        instance = instance_admin.admin_lifecycle(uow, "retry", instance_id,
                                                  operator(uow, operator_name), reason, data)
    show_instance(state, instance, "retried")


@click.command()
@click.argument("instance_id", type=int)
@pass_state
def events(state: State, instance_id: int) -> None:
    """The history of INSTANCE_ID, oldest first."""
    with state.rt.uow(write=False) as uow:
        rows = [event_row(e) for e in instances_service.instance_events(uow, instance_id)]
    state.listing(rows, [Column("AT", "at"), Column("EVENT", "type"), Column("ACTOR", "actor"),
                         Column("ELEMENT", "element_id"), Column("DATA", "data", 60)],
                  "no events")


COMMANDS = (start, instances, suspend, resume, terminate, retry, events)
