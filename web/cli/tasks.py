"""``irpm tasks|claim|unclaim|complete`` — human tasks: a user's list, and working one."""

from __future__ import annotations

from typing import Any

import click

from engine.services import file_inputs
from engine.services import tasks as tasks_service
from engine.services.tasks import VIEWS

from .format import TASK_COLUMNS, VIEW_COLUMNS, task_row
from .state import (
    State,
    actor,
    data_option,
    evidence_store,
    group_option,
    pass_state,
    show_instance,
    user_option,
)


@click.command()
@click.option("--user", envvar="IRPM_USER", help="Whose tasks (default: IRPM_USER).")
@group_option
@click.option("--view", type=click.Choice(VIEWS), default="open", show_default=True,
              help="mine: claimed by me; claimable: my groups', unclaimed; open: both; "
                   "done: completed by me; all: every task (--admin).")
@click.option("--admin", is_flag=True, help="Act as an administrator.")
@click.option("--process", "process_id", help="Only tasks of this process id.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=100, show_default=True)
@pass_state
def tasks(state: State, user: str | None, groups: tuple[str, ...], view: str, admin: bool,
          process_id: str | None, limit: int) -> None:
    """List human tasks for a user and their groups."""
    if user is None and not admin:
        raise click.UsageError("give --user (or set IRPM_USER), or --admin")
    who = actor(user or "admin", groups, admin=admin)
    flt = tasks_service.TaskFilter(view=view, process_id=process_id, limit=limit)
    with state.rt.uow(write=False) as uow:
        rows, total = tasks_service.list_tasks(uow, who, flt)
    state.listing([task_row(t) for t in rows], VIEW_COLUMNS.get(view, TASK_COLUMNS),
                  "no tasks", total)


#: An administrator alone takes a task with no lane and no candidates (the engine's rule,
#: ``task_access``); whoever runs ``irpm`` with the database's URL may say they are one, as
#: ``tasks --admin`` and the shell operator of the administrative commands do.
admin_option = click.option("--admin", is_flag=True,
                            help="Act as an administrator (who alone may take a task with "
                                 "no lane and no candidates).")


@click.command()
@click.argument("task_id")
@user_option
@group_option
@admin_option
@pass_state
def claim(state: State, task_id: str, user: str, groups: tuple[str, ...], admin: bool) -> None:
    """Claim TASK_ID: it becomes yours until you complete or release it."""
    with state.rt.uow() as uow:
        task = tasks_service.claim_task(uow, task_id, actor(user, groups, admin=admin))
    state.say(task_row(task), f"task {task.id} ({task.name}) is claimed by {task.assignee}")


@click.command()
@click.argument("task_id")
@user_option
@pass_state
def unclaim(state: State, task_id: str, user: str) -> None:
    """Release TASK_ID so another candidate can take it."""
    with state.rt.uow() as uow:
        task = tasks_service.unclaim_task(uow, task_id, actor(user))
    state.say(task_row(task), f"task {task.id} ({task.name}) is released")


@click.command()
@click.argument("task_id")
@user_option
@group_option
@admin_option
@data_option
@pass_state
def complete(state: State, task_id: str, user: str, groups: tuple[str, ...], admin: bool,
             data: dict[str, Any] | None) -> None:
    """Complete TASK_ID with the form data --data and run the instance on. A file input's
    value may be a data-url (data:<type>;name=<name>;base64,…): the file is stored in the
    evidence store and the data keeps its reference, as through the API."""
    who = actor(user, groups, admin=admin)
    store, max_bytes = evidence_store()
    with state.rt.uow() as uow:
        data = file_inputs.store_data_urls(uow, task_id, who, data, store=store,
                                           max_bytes=max_bytes)
        instance = tasks_service.complete_task(uow, task_id, who, data)
    with state.rt.uow(write=False) as uow:
        task = tasks_service.get_task(uow, task_id)
    show_instance(state, instance, f"completed {task.name}", {"task": task_row(task)})


COMMANDS = (tasks, claim, unclaim, complete)
