"""What every ``irpm`` command shares: the per-invocation ``State`` (the output mode and a
runtime built on first use), the options several commands take, and how an instance is shown
after a change. Kept apart from the root group so the command modules can import it without
importing each other."""

from __future__ import annotations

import getpass
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import click

from engine.actors import Actor
from engine.db import UnitOfWork
from engine.models import ProcessInstance
from engine.programme.composition import programme_runtime
from engine.runtime import Runtime
from engine.services import instances as instances_service
from engine.settings import Settings

from .. import config as web_config
from .format import JSON_OBJECT, TASK_COLUMNS, Column, cell, dumps, instance_row, table, task_row


def evidence_store() -> tuple[Path, int]:
    """Where evidence files are kept and how large one may be: the web app's settings
    (``IRPM_EVIDENCE_DIR``, ``IRPM_MAX_EVIDENCE_BYTES``), so a file the CLI stores is one the
    task page serves."""
    config = {**web_config.defaults(), **web_config.from_env()}
    return Path(config["IRPM_EVIDENCE_DIR"]), int(config["IRPM_MAX_EVIDENCE_BYTES"])


class State:
    """Per-invocation state: the output mode and a Runtime built on first use."""

    def __init__(self, as_json: bool = False) -> None:
        self.as_json = as_json
        self._rt: Runtime | None = None

    @property
    def rt(self) -> Runtime:
        if self._rt is None:
            self._rt = programme_runtime(Settings.from_env())
        return self._rt

    def close(self) -> None:
        if self._rt is not None:
            self._rt.close()

    def say(self, payload: Any, text: str) -> None:
        click.echo(dumps(payload) if self.as_json else text)

    def listing(self, rows: Sequence[Mapping[str, Any]], columns: Sequence[Column],
                empty: str, total: int | None = None) -> None:
        if self.as_json:
            click.echo(dumps(list(rows)))
            return
        click.echo(table(rows, columns) if rows else empty)
        if total is not None and total > len(rows):
            click.echo(f"(showing {len(rows)} of {total}; use --limit for more)")


pass_state = click.make_pass_decorator(State)

user_option = click.option("--user", required=True, envvar="IRPM_USER",
                           help="Who acts (default: IRPM_USER).")
group_option = click.option("--group", "groups", multiple=True, metavar="G",
                            help="A group of the user; repeat or separate with commas.")
data_option = click.option("--data", type=JSON_OBJECT, metavar="JSON",
                           help="A JSON object, inline or @file.json.")


#: Who performs an administrative act (``engine.services.admin_rule``) from the shell.
operator_option = click.option(
    "--user", "--by", "operator_name", envvar="IRPM_USER", metavar="LOGIN",
    help="Act as this account, which must be an administrator's (default: IRPM_USER; "
         "unset: the shell operator shell:<your login>, recorded as such).")
reason_option = click.option("--reason", help="Why (required): kept in the audit log.")


def shell_operator() -> Actor:
    """The documented system actor of the command line: whoever runs ``irpm`` with the
    database's URL already holds every power over it, so when no account is named they act
    as an administrator, recorded in the audit log as ``shell:<operating-system login>``."""
    try:
        login = getpass.getuser()
    except (OSError, KeyError):
        login = "unknown"
    return Actor(f"shell:{login}", is_admin=True)


def operator(uow: UnitOfWork, name: str | None) -> Actor:
    """The actor of an administrative command: the named account as the organisation knows
    it (unknown: ``NotFound``; disabled: ``Forbidden``) — the service then asks the one rule
    whether it may act — or, when none is named, the shell operator."""
    if not name:
        return shell_operator()
    return uow.runtime.directory.actor_for(uow, name)


def actor(user: str, groups: Sequence[str] = (), *, admin: bool = False) -> Actor:
    names = {g.strip() for item in groups for g in item.split(",") if g.strip()}
    return Actor(user, frozenset(names), is_admin=admin)


def show_instance(state: State, instance: ProcessInstance, headline: str = "",
                  extra: Mapping[str, Any] | None = None) -> None:
    """An instance after a change, with the tasks now open in it."""
    with state.rt.uow(write=False) as uow:
        tasks = [task_row(t) for t in instances_service.open_tasks(uow, instance.id)]
    row = instance_row(instance)
    if state.as_json:
        click.echo(dumps({**(extra or {}), "instance": row, "tasks": tasks}))
        return
    lead = f"{headline}: " if headline else ""
    lines = [f"{lead}instance {instance.id} ({instance.process_id}, key "
             f"{cell(instance.business_key)}) is {instance.status}"]
    if instance.error_message:
        lines.append(f"error at {instance.error_element}: {instance.error_message}")
    lines.append(f"open tasks:\n{table(tasks, TASK_COLUMNS)}" if tasks else "no open tasks")
    click.echo("\n".join(lines))
