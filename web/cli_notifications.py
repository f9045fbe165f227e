"""``irpm notifications`` — the notifications the clock makes: yellow cards (黄牌) for tasks
due soon, red cards (红牌) for overdue ones (``engine.services.scan_due_cards``).

Registered on ``irpm`` by web/cli.py. A scheduler calls the same service; running the scan
again makes no second card for a task.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import click

from engine import services

from .cli_format import CHINA, ISO_DATETIME

if TYPE_CHECKING:
    from .cli import State


@click.group()
def notifications() -> None:
    """Notifications: yellow and red cards for tasks near or past their due date."""


@notifications.command("scan")
@click.option("--now", type=ISO_DATETIME, metavar="ISO_DATETIME",
              help="Scan as of this time (default: the project clock, simulated or not).")
@click.option("--near-due-days", type=click.FloatRange(min=0), metavar="DAYS",
              help="Yellow card this many days before the due date (default: "
                   "IRPM_NEAR_DUE_DAYS, else 3).")
@click.pass_obj
def scan(state: State, now: datetime | None, near_due_days: float | None) -> None:
    """Write the yellow and red cards that are due (each task gets one of each, once) and
    e-mail them when SMTP is configured."""
    with state.rt.uow() as uow:
        at = now or services.now(uow)
        result = services.scan_due_cards(
            uow, at, near_due=timedelta(days=near_due_days) if near_due_days is not None
            else None)
    when = at.astimezone(CHINA).isoformat(timespec="minutes")
    state.say({**asdict(result), "at": at.isoformat()},
              f"as of {when}: {result.yellow} yellow and {result.red} red cards written "
              f"({result.tasks} open tasks due soon or overdue)")
