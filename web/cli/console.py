"""``irpm console`` — maintenance for the administrator console: ``reindex-variables``
re-builds the mirror of the instances' variables the instance list filters on (for
instances that existed before migration 0012). Registered on ``irpm`` by web/cli/__init__.py."""

from __future__ import annotations

import click

from engine.services import variable_index

from .state import State


@click.group()
def console() -> None:
    """The administrator console's maintenance."""


@console.command("reindex-variables")
@click.option("--batch", type=click.IntRange(1, 10_000), default=500, show_default=True,
              help="Instances per transaction.")
@click.pass_obj
def reindex_variables(state: State, batch: int) -> None:
    """Mirror every instance's scalar variables into instance_variable (restartable: it
    goes through the instances by id, one transaction per batch)."""
    total, after = 0, 0
    while True:
        with state.rt.uow() as uow:
            count, last = variable_index.reindex_variables(uow, after_id=after, limit=batch)
        if last is None:
            break
        total, after = total + count, last
    state.say({"instances": total}, f"variables of {total} instance(s) mirrored")
