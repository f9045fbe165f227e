"""``irpm db upgrade|current`` — the database schema (Alembic migrations)."""

from __future__ import annotations

import click

from engine.migrate import current_revision, upgrade

from ..health import head_revision
from .state import State, pass_state


@click.group()
def db() -> None:
    """Database schema (Alembic migrations)."""


@db.command("upgrade")
@pass_state
def db_upgrade(state: State) -> None:
    """Migrate IRPM_DATABASE_URL to the newest schema."""
    upgrade(state.rt.db)
    revision = current_revision(state.rt.db)
    state.say({"revision": revision}, f"database at revision {revision} (head)")


@db.command("current")
@pass_state
def db_current(state: State) -> None:
    """Show the schema revision of IRPM_DATABASE_URL."""
    revision, head = current_revision(state.rt.db), head_revision(state.rt.db)
    if revision is None:
        text = "none: the database is not migrated; run `irpm db upgrade`"
    elif revision == head:
        text = f"{revision} (head)"
    else:
        text = f"{revision}; the code is at {head}: run `irpm db upgrade`"
    state.say({"revision": revision, "head": head, "up_to_date": revision == head}, text)
