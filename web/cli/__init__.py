"""``irpm`` — run IRPM from a shell: migrate, deploy, start, work tasks, move the clock.

Every command builds one engine ``Runtime`` (from the ``IRPM_*`` environment), calls engine
services through units of work, and closes it. Listings print aligned tables, or JSON with
``irpm --json ...``. Failures print one ``error: ...`` line and exit with status 1.

One module per command group: ``db``, ``deploy`` (deploy, definitions), ``instances``
(start, instances, suspend, resume, terminate, retry, events), ``administration``
(set-variables, move-token, migrate, reassign, batch), ``tasks`` (tasks, claim,
unclaim, complete), ``clock``, ``timers``, ``jobs``, ``messages`` (and ``signals``),
``serve``, ``demo``, ``console``, ``notifications``, ``milestones`` (and ``rehearse``),
``scheduler``, ``accounts``, ``backup`` (backup, restore) and ``audit`` (verify);
``state`` holds what they share (the runtime, the output mode, common options) and
``format`` the text in and out. The commands parse, call services — the one way into the
engine, each owning its transaction — and print: none commits or runs SQL of its own.

The package lives under web/ rather than as a top-level cli/ because the project's top level
is kept to ``engine/ bpmn/ web/ scheduler/ tests/ docker/``, the layout asked for; only
``irpm serve`` uses the web app itself. This module holds the root group ``main``, the
console script's entry point ``web.cli:main`` (pyproject.toml), the same dotted path as when
the CLI was one module; ``python -m web.cli`` runs it too (``__main__``).
"""

from __future__ import annotations

from typing import Any

import click
from alembic.util import CommandError
from sqlalchemy.exc import OperationalError, ProgrammingError, SQLAlchemyError

from engine.errors import IrpmError

from ..health import database_problem
from . import (
    accounts,
    administration,
    audit,
    backup,
    clock,
    console,
    db,
    demo,
    deploy,
    instances,
    jobs,
    messages,
    milestones,
    notifications,
    scheduler,
    serve,
    tasks,
    timers,
)
from .format import Failure, describe
from .state import State

__all__ = ["State", "main"]


class IrpmGroup(click.Group):
    """Turns engine, migration and database errors into one ``error:`` line, not a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except IrpmError as exc:
            raise Failure(describe(exc)) from None
        except CommandError as exc:  # Alembic: e.g. the database is at an unknown revision
            raise Failure(f"migration: {exc}") from None
        except SQLAlchemyError as exc:
            hint = (" (is IRPM_DATABASE_URL right and the database migrated? `irpm db upgrade`)"
                    if isinstance(exc, OperationalError | ProgrammingError) else "")
            raise Failure(f"database: {database_problem(exc)}{hint}") from None


@click.group(cls=IrpmGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
@click.pass_context
def main(ctx: click.Context, as_json: bool) -> None:
    """IRPM — integrity-risk prevention management on BPMN.

    The database is IRPM_DATABASE_URL (default: instance/irpm.db). Times are shown in China
    time (+08:00). --user defaults to IRPM_USER.
    """
    ctx.obj = State(as_json)
    ctx.call_on_close(ctx.obj.close)


for _command in (db.db, deploy.deploy, deploy.definitions, *instances.COMMANDS,
                 *administration.COMMANDS,
                 *tasks.COMMANDS, clock.clock, timers.timers, jobs.jobs, messages.messages,
                 messages.signals, serve.serve, demo.demo,
                 console.console, notifications.notifications, milestones.milestones,
                 milestones.rehearse_command, scheduler.scheduler, accounts.accounts,
                 backup.backup, backup.restore, audit.audit):
    main.add_command(_command)
