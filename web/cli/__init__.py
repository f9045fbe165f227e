"""``irpm`` — run IRPM from a shell: migrate, deploy, start, work tasks, move the clock.

Every command builds one engine ``Runtime`` (from the ``IRPM_*`` environment), calls engine
services through units of work, and closes it. Listings print aligned tables, or JSON with
``irpm --json ...``. Failures print one ``error: ...`` line and exit with status 1.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from alembic.util import CommandError
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError, ProgrammingError, SQLAlchemyError

from engine.actors import Actor
from engine.db import UnitOfWork
from engine.errors import IrpmError
from engine.migrate import current_revision, upgrade
from engine.models import (
    ACTIVE_STATUSES,
    HumanTask,
    InstanceStatus,
    PendingTimer,
    ProcessInstance,
    TaskState,
)
from engine.parsing import read_sources
from engine.programme.composition import programme_runtime
from engine.runtime import Runtime
from engine.services import clock as clock_service
from engine.services import deployment
from engine.services import instances as instances_service
from engine.services import tasks as tasks_service
from engine.services import timers as timers_service
from engine.services.tasks import VIEWS
from engine.settings import Settings
from scheduler import start_embedded

from .. import create_app
from ..health import database_problem, head_revision
from . import console as cli_console
from . import demo as cli_demo
from . import milestones as cli_milestones
from . import notifications as cli_notifications
from . import scheduler as cli_scheduler
from .format import (
    CHINA,
    DURATION,
    INSTANCE_COLUMNS,
    ISO_DATETIME,
    JSON_OBJECT,
    TASK_COLUMNS,
    VIEW_COLUMNS,
    Column,
    Duration,
    Failure,
    cell,
    describe,
    dumps,
    event_row,
    instance_row,
    table,
    task_row,
)


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


user_option = click.option("--user", required=True, envvar="IRPM_USER",
                           help="Who acts (default: IRPM_USER).")
group_option = click.option("--group", "groups", multiple=True, metavar="G",
                            help="A group of the user; repeat or separate with commas.")
data_option = click.option("--data", type=JSON_OBJECT, metavar="JSON",
                           help="A JSON object, inline or @file.json.")


def actor(user: str, groups: Sequence[str] = (), *, admin: bool = False) -> Actor:
    names = {g.strip() for item in groups for g in item.split(",") if g.strip()}
    return Actor(user, frozenset(names), is_admin=admin)


# --------------------------------------------------------------------------- after a change


def open_tasks(uow: UnitOfWork, instance_id: int) -> list[dict[str, Any]]:
    rows = uow.session.scalars(
        select(HumanTask).where(HumanTask.instance_id == instance_id,
                                HumanTask.state == TaskState.OPEN)
        .order_by(HumanTask.created_at, HumanTask.name))
    return [task_row(task) for task in rows]


def show_instance(state: State, instance: ProcessInstance, headline: str = "",
                  extra: Mapping[str, Any] | None = None) -> None:
    """An instance after a change, with the tasks now open in it."""
    with state.rt.uow(write=False) as uow:
        tasks = open_tasks(uow, instance.id)
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


# --------------------------------------------------------------------------- db


@main.group()
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


# --------------------------------------------------------------------------- definitions


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--by", "deployed_by", envvar="IRPM_USER", help="Who deploys (default: IRPM_USER).")
@pass_state
def deploy(state: State, paths: tuple[Path, ...], deployed_by: str | None) -> None:
    """Deploy .bpmn/.dmn files or directories (default: IRPM_BPMN_DIR, bpmn/).

    A process whose sources changed gets a new version; unchanged ones keep theirs.
    """
    sources = read_sources(paths or [state.rt.settings.bpmn_dir])
    with state.rt.uow() as uow:
        results = deployment.deploy(uow, sources, deployed_by=deployed_by)
    rows = [{"process_id": r.process_id, "version": r.version, "definition_id": r.definition_id,
             "result": "created" if r.created else "unchanged"} for r in results]
    state.listing(rows, [Column("PROCESS", "process_id"), Column("VERSION", "version"),
                         Column("RESULT", "result")], "nothing to deploy")


@main.command()
@pass_state
def definitions(state: State) -> None:
    """List deployed process definitions, every version."""
    with state.rt.uow(write=False) as uow:
        rows = [{"process_id": d.process_id, "version": d.version, "name": d.name,
                 "deployed_at": d.deployed_at, "deployed_by": d.deployed_by,
                 "instances": d.instances} for d in deployment.list_definitions(uow)]
    state.listing(rows, [Column("PROCESS", "process_id"), Column("VERSION", "version"),
                         Column("NAME", "name", 40), Column("DEPLOYED", "deployed_at"),
                         Column("BY", "deployed_by"), Column("INSTANCES", "instances")],
                  "no process is deployed; run `irpm deploy`")


# --------------------------------------------------------------------------- instances


@main.command()
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


@main.command()
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


def _lifecycle(name: str, service: Any, help_text: str) -> None:
    @main.command(name, help=help_text)
    @click.argument("instance_id", type=int)
    @user_option
    @click.option("--reason", help="Why; kept in the instance's history.")
    @pass_state
    def command(state: State, instance_id: int, user: str, reason: str | None) -> None:
        with state.rt.uow() as uow:
            instance = service(uow, instance_id, Actor(user), reason)
        show_instance(state, instance)


_lifecycle("suspend", instances_service.suspend_instance,
           "Suspend INSTANCE_ID: its tasks and timers wait until it is resumed.")
_lifecycle("resume", instances_service.resume_instance, "Resume a suspended INSTANCE_ID.")
_lifecycle("terminate", instances_service.terminate_instance,
           "Terminate INSTANCE_ID for good, cancelling its open tasks.")


@main.command()
@click.argument("instance_id", type=int)
@user_option
@data_option
@pass_state
def retry(state: State, instance_id: int, user: str, data: dict[str, Any] | None) -> None:
    """Run the failed step of INSTANCE_ID again, after merging --data into it."""
    with state.rt.uow() as uow:
        instance = instances_service.retry_instance(uow, instance_id, Actor(user), data)
    show_instance(state, instance, "retried")


@main.command()
@click.argument("instance_id", type=int)
@pass_state
def events(state: State, instance_id: int) -> None:
    """The history of INSTANCE_ID, oldest first."""
    with state.rt.uow(write=False) as uow:
        rows = [event_row(e) for e in instances_service.instance_events(uow, instance_id)]
    state.listing(rows, [Column("AT", "at"), Column("EVENT", "type"), Column("ACTOR", "actor"),
                         Column("ELEMENT", "element_id"), Column("DATA", "data", 60)],
                  "no events")


# --------------------------------------------------------------------------- tasks


@main.command()
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


@main.command()
@click.argument("task_id")
@user_option
@group_option
@pass_state
def claim(state: State, task_id: str, user: str, groups: tuple[str, ...]) -> None:
    """Claim TASK_ID: it becomes yours until you complete or release it."""
    with state.rt.uow() as uow:
        task = tasks_service.claim_task(uow, task_id, actor(user, groups))
    state.say(task_row(task), f"task {task.id} ({task.name}) is claimed by {task.assignee}")


@main.command()
@click.argument("task_id")
@user_option
@pass_state
def unclaim(state: State, task_id: str, user: str) -> None:
    """Release TASK_ID so another candidate can take it."""
    with state.rt.uow() as uow:
        task = tasks_service.unclaim_task(uow, task_id, actor(user))
    state.say(task_row(task), f"task {task.id} ({task.name}) is released")


@main.command()
@click.argument("task_id")
@user_option
@group_option
@data_option
@pass_state
def complete(state: State, task_id: str, user: str, groups: tuple[str, ...],
             data: dict[str, Any] | None) -> None:
    """Complete TASK_ID with the form data --data and run the instance on."""
    with state.rt.uow() as uow:
        instance = tasks_service.complete_task(uow, task_id, actor(user, groups), data)
    with state.rt.uow(write=False) as uow:
        task = tasks_service.get_task(uow, task_id)
    show_instance(state, instance, f"completed {task.name}", {"task": task_row(task)})


# --------------------------------------------------------------------------- clock, timers


@main.group()
def clock() -> None:
    """The project clock: the system clock, or a simulated time shared by every process."""


def _clock_payload(uow: UnitOfWork, **extra: Any) -> dict[str, Any]:
    return {"simulated": clock_service.is_simulated(uow), "now": clock_service.now(uow), **extra}


def _clock_text(payload: Mapping[str, Any]) -> str:
    kind = "simulated" if payload["simulated"] else "system"
    return f"{kind} clock: {payload['now'].astimezone(CHINA).isoformat(timespec='seconds')}"


@clock.command("show")
@pass_state
def clock_show(state: State) -> None:
    """Which clock is in force and what time it reads."""
    with state.rt.uow(write=False) as uow:
        payload = _clock_payload(uow)
    state.say(payload, _clock_text(payload))


@clock.command("set")
@click.argument("at", metavar="ISO_DATETIME", type=ISO_DATETIME)
@pass_state
def clock_set(state: State, at: datetime) -> None:
    """Simulate the time ISO_DATETIME, e.g. 2011-01-04T09:00 (without an offset: China time,
    +08:00). Every timer falling due on the way fires at its own due time, in due order (as
    `clock advance` does); the first setting fires what is due at that time."""
    with state.rt.uow() as uow:
        if clock_service.is_simulated(uow) and at.astimezone(UTC) > clock_service.now(uow):
            fired = timers_service.advance_to(uow, at)
        else:
            clock_service.set_clock(uow, at)
            uow.commit()  # set_clock leaves the commit to its caller
            fired = timers_service.fire_due_timers(uow, clock_service.now(uow))
    with state.rt.uow(write=False) as uow:
        payload = _clock_payload(uow, fired=fired)
    state.say(payload, f"{_clock_text(payload)}; {fired} timer(s) fired")


@clock.command("advance")
@click.argument("duration", type=DURATION)
@pass_state
def clock_advance(state: State, duration: Duration) -> None:
    """Move the simulated clock forward by DURATION (P7D, PT2H, P1M, or 7d, 36h), firing
    every timer on the way at its own due time."""
    with state.rt.uow() as uow:
        if not clock_service.is_simulated(uow):
            raise Failure("the system clock cannot be advanced; set a simulated time first "
                          "(irpm clock set 2011-01-04T09:00)")
        fired = timers_service.advance_to(uow, duration.after(clock_service.now(uow)))
    with state.rt.uow(write=False) as uow:
        payload = _clock_payload(uow, fired=fired)
    state.say(payload, f"{_clock_text(payload)}; {fired} timer(s) fired")


@clock.command("system")
@pass_state
def clock_system(state: State) -> None:
    """Go back to the real (system) clock."""
    with state.rt.uow() as uow:
        clock_service.use_system_clock(uow)
        uow.commit()  # use_system_clock leaves the commit to its caller
    with state.rt.uow(write=False) as uow:
        payload = _clock_payload(uow)
    state.say(payload, _clock_text(payload))


@main.group()
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


# --------------------------------------------------------------------------- serve


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), default=5000, show_default=True)
def serve(host: str, port: int) -> None:
    """Run the web app with Flask's development server (threaded), and the scheduler inside
    it unless IRPM_SCHEDULER=off (then run `irpm scheduler`)."""
    app = create_app()
    start_embedded(app.extensions["irpm"])
    app.run(host=host, port=port, threaded=True)


main.add_command(cli_demo.demo)
main.add_command(cli_console.console)
main.add_command(cli_notifications.notifications)
main.add_command(cli_milestones.milestones)
main.add_command(cli_milestones.rehearse_command)
main.add_command(cli_scheduler.scheduler)

if __name__ == "__main__":
    main()
