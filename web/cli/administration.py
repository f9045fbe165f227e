"""``irpm set-variables|move-token|migrate|reassign|batch`` — the console's other
administrative acts from a shell: change an instance's variables, move its token, migrate it
to another version, reassign an open task, and run a batch of lifecycle operations or
migrations over the instances a filter finds.

Each calls the engine service the console's instance and batch pages call
(``engine.services.instance_admin``, ``token_move``, ``version_migration``, ``batches``), so
each asks the one rule for administrative acts (``engine.services.admin_rule``): the actor
is the administrator named by ``--user``/``--by`` (IRPM_USER) or the shell operator
``shell:<login>``; each needs ``--reason`` and is written to the audit log with the change.
"""

from __future__ import annotations

import uuid
from typing import Any

import click

from engine.models import BatchStatus
from engine.services import batches, instance_admin, token_move, version_migration
from engine.services.console_list import InstanceQuery

from .format import TASK_COLUMNS, table, task_row
from .state import (
    State,
    data_option,
    operator,
    operator_option,
    pass_state,
    reason_option,
    show_instance,
)


@click.command("set-variables")
@click.argument("instance_id", type=int)
@data_option
@operator_option
@reason_option
@pass_state
def set_variables(state: State, instance_id: int, data: dict[str, Any] | None,
                  operator_name: str | None, reason: str | None) -> None:
    """Change variables of INSTANCE_ID (--data '{"name": value}') for the steps to come; an
    existing variable keeps its kind (audited)."""
    with state.rt.uow() as uow:
        changed = instance_admin.set_variables(uow, instance_id, operator(uow, operator_name),
                                               data or {}, reason)
    names = sorted(data or {})
    state.say({"instance_id": instance_id, "changed": names, "variables": changed},
              f"instance {instance_id}: {', '.join(names)} changed")


@click.command("move-token")
@click.argument("instance_id", type=int)
@click.option("--from-task", "from_task", type=click.UUID, required=True,
              help="The active task whose token moves (it is cancelled).")
@click.option("--to", "to_element", required=True, help="The element id to start instead.")
@operator_option
@reason_option
@pass_state
def move_token(state: State, instance_id: int, from_task: uuid.UUID, to_element: str,
               operator_name: str | None, reason: str | None) -> None:
    """Cancel an active task of INSTANCE_ID and start another activity of its process in
    its place (audited)."""
    with state.rt.uow() as uow:
        instance = token_move.move_token(uow, instance_id, operator(uow, operator_name),
                                         from_task, to_element, reason)
    show_instance(state, instance, "moved")


@click.command("migrate")
@click.argument("instance_id", type=int)
@click.option("--version", type=click.IntRange(min=1), required=True,
              help="The version of its process to move it to.")
@operator_option
@reason_option
@pass_state
def migrate(state: State, instance_id: int, version: int, operator_name: str | None,
            reason: str | None) -> None:
    """Move INSTANCE_ID to another version of its process, if every element it met or
    waits at exists there with the same type; otherwise say why and change nothing
    (audited). Not to be confused with `irpm db upgrade`, the database's migrations."""
    with state.rt.uow() as uow:
        instance = version_migration.migrate_instance(uow, instance_id,
                                                      operator(uow, operator_name), version,
                                                      reason)
    show_instance(state, instance, f"migrated to version {version}")


@click.command("reassign")
@click.argument("task_id", type=click.UUID)
@click.option("--to", "to_user", required=True, help="The login who gets the task.")
@operator_option
@reason_option
@pass_state
def reassign(state: State, task_id: uuid.UUID, to_user: str, operator_name: str | None,
             reason: str | None) -> None:
    """Give the open task TASK_ID to another login — not to one it excludes (回避)
    (audited)."""
    with state.rt.uow() as uow:
        task = instance_admin.reassign_task(uow, task_id, operator(uow, operator_name),
                                            to_user, reason)
    row = task_row(task)
    state.say(row, f"reassigned to {to_user}:\n{table([row], TASK_COLUMNS)}")


@click.command("batch")
@click.argument("operation", type=click.Choice(batches.BATCH_OPERATIONS))
@click.option("--process", help="Only instances of this process.")
@click.option("--status", help="Only instances in this status.")
@click.option("--unit", help="Only instances of this unit.")
@click.option("--key", "business_key", help="Only business keys starting with this.")
@click.option("--version", type=click.IntRange(min=1),
              help="migrate: the version to move to (needs --process).")
@operator_option
@reason_option
@pass_state
def batch(state: State, operation: str, process: str | None, status: str | None,
          unit: str | None, business_key: str | None, version: int | None,
          operator_name: str | None, reason: str | None) -> None:
    """Run OPERATION on every instance the filter finds, as the console's batches do: the
    batch is audited when created, then each instance in its own audited transaction;
    the outcome of each is kept with the batch (restartable: nothing is done twice)."""
    query = InstanceQuery(process=process, status=status, unit=unit,
                          business_key=business_key)
    with state.rt.uow() as uow:
        actor = operator(uow, operator_name)
        batch_id = batches.create_batch(uow, actor, operation, query, reason,
                                        version=version).id
    while True:
        with state.rt.uow() as uow:
            progress = batches.run_batch_step(uow, batch_id, actor)
        if progress.status == BatchStatus.DONE:
            break
    state.say({"batch_id": progress.id, "operation": progress.operation,
               "total": progress.total, "succeeded": progress.succeeded,
               "failed": progress.failed},
              f"batch {progress.id} ({progress.operation}): {progress.succeeded} of "
              f"{progress.total} succeeded, {progress.failed} failed")


COMMANDS = (set_variables, move_token, migrate, reassign, batch)
