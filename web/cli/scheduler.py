"""``irpm scheduler`` — the scheduler as a process of its own (the production set-up), and
``irpm scheduler status``.

Registered on ``irpm`` by web/cli/__init__.py. The scheduler fires BPMN timers at their due time
and runs the periodic chores (``scheduler.jobs``). Web workers then run none
(``IRPM_SCHEDULER=off``); ``irpm serve`` runs one inside itself by default. Any number of
``irpm scheduler`` processes may run against one database: one leads, the others stand by
and take over when it dies (``scheduler.leader``).
"""

from __future__ import annotations

import logging
import signal
import sys
from dataclasses import replace
from types import FrameType

import click

from engine.migrate import current_revision
from scheduler import SchedulerService, SchedulerSettings
from scheduler.status import read_status

from ..health import head_revision
from .format import Column, Failure, cell, table
from .state import State


def configure_logging(level: str) -> None:
    """One line per event on stderr; APScheduler's and SpiffWorkflow's chatter only from
    WARNING."""
    logging.basicConfig(stream=sys.stderr, level=getattr(logging, level.upper()),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if level.upper() != "DEBUG":
        for chatty in ("apscheduler", "spiff"):
            logging.getLogger(chatty).setLevel(logging.WARNING)


@click.group(invoke_without_command=True)
@click.option("--sweep", type=click.FloatRange(min=0.1), metavar="SECONDS",
              help="Safety sweep interval (default: IRPM_SCHEDULER_SWEEP, else 60).")
@click.option("--log-level", type=click.Choice(["DEBUG", "INFO", "WARNING"],
                                               case_sensitive=False),
              default="INFO", show_default=True)
@click.pass_context
def scheduler(ctx: click.Context, sweep: float | None, log_level: str) -> None:
    """Run the scheduler until stopped (SIGTERM or Ctrl-C): it fires BPMN timers when they
    fall due and runs the periodic jobs, with its jobs kept in the database.

    Run one next to web workers started with IRPM_SCHEDULER=off. Two or more against one
    PostgreSQL database are safe: one leads, the others stand by and take over when it dies.
    """
    if ctx.invoked_subcommand is not None:
        return
    state: State = ctx.obj
    revision, head = current_revision(state.rt.db), head_revision(state.rt.db)
    if revision != head:
        raise Failure(f"the database is at revision {revision or 'none'}, this code needs "
                      f"{head}: run `irpm db upgrade` first")
    settings = SchedulerSettings.from_env()
    if sweep is not None:
        settings = replace(settings, sweep_seconds=sweep)
    configure_logging(log_level)
    service = SchedulerService(state.rt, settings)

    def _stop(signum: int, _frame: FrameType | None) -> None:
        logging.getLogger("scheduler").info("stopping (%s)", signal.Signals(signum).name)
        service.request_stop()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    logging.getLogger("scheduler").info("scheduler %s starting on %s", service.identity,
                                        state.rt.db.url.render_as_string(hide_password=True))
    service.start()
    service.wait()
    logging.getLogger("scheduler").info("scheduler %s stopped", service.identity)


@scheduler.command("status")
@click.option("--require-leader", is_flag=True,
              help="Exit with status 1 when no scheduler leads (a container health check).")
@click.pass_obj
def status(state: State, require_leader: bool) -> None:
    """Who leads, the jobs in the database, and the next BPMN timer due."""
    found = read_status(state.rt)
    payload = {"leader": found.leader, "lock": found.lock, "simulated": found.simulated,
               "next_due": found.next_due,
               "jobs": [{"id": j.id, "next_run_time": j.next_run_time} for j in found.jobs]}
    lines = [f"leader: {found.leader or 'none'} ({found.lock})",
             f"next BPMN timer due: {cell(found.next_due)}"
             + (" (the clock is simulated: the clock commands fire timers)"
                if found.simulated else "")]
    if found.jobs:
        rows = [{"id": j.id, "next": j.next_run_time if j.next_run_time else "paused"}
                for j in found.jobs]
        lines.append(table(rows, [Column("JOB", "id"), Column("NEXT RUN", "next")]))
    else:
        lines.append("no jobs stored")
    state.say(payload, "\n".join(lines))
    if require_leader and found.leader is None:
        raise Failure("no scheduler leads: start `irpm scheduler`")
