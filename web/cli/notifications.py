"""``irpm notifications`` — the notifications the clock makes: yellow cards (黄牌) for tasks
due soon, red cards (红牌) for overdue ones (``engine.services.due_cards.scan_due_cards``); and the
e-mail outbox: ``send`` sends the mails that are due (new ones, and retries after an SMTP
failure: ``engine.services.send_pending_mail``), ``outbox`` lists them, ``requeue`` queues
given-up mails again.

Registered on ``irpm`` by web/cli/__init__.py. A scheduler calls the same services; running the scan
again makes no second card for a task, and sending again sends no mail twice.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timedelta

import click

from engine.models import MailStatus
from engine.services import clock, due_cards, mail_outbox

from .format import CHINA, ISO_DATETIME, Column
from .state import State


@click.group()
def notifications() -> None:
    """Notifications: yellow and red cards for tasks near or past their due date; the e-mail
    outbox."""


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
        at = now or clock.now(uow)
        result = due_cards.scan_due_cards(
            uow, at, near_due=timedelta(days=near_due_days) if near_due_days is not None
            else None)
    when = at.astimezone(CHINA).isoformat(timespec="minutes")
    state.say({**asdict(result), "at": at.isoformat()},
              f"as of {when}: {result.yellow} yellow and {result.red} red cards written "
              f"({result.tasks} open tasks due soon or overdue)")


@notifications.command("send")
@click.option("--now", type=ISO_DATETIME, metavar="ISO_DATETIME",
              help="Send what is due by this time (default: the system clock — mail retries "
                   "follow real time, not the simulated project clock).")
@click.option("--limit", type=click.IntRange(min=1), help="Send at most this many.")
@click.pass_obj
def send(state: State, now: datetime | None, limit: int | None) -> None:
    """Send the outbox's e-mails that are due: new ones and retries (IRPM_SMTP_*)."""
    with state.rt.uow() as uow:
        if not mail_outbox.smtp_settings(uow).enabled:
            state.say({"sent": 0, "configured": False},
                      "e-mail is not configured (IRPM_SMTP_HOST, IRPM_SMTP_FROM): nothing sent")
            return
        sent = mail_outbox.send_pending_mail(uow, now, limit=limit)
        summary = mail_outbox.outbox_summary(uow, now)
    state.say({"sent": sent, "configured": True, "outbox": asdict(summary)},
              f"{sent} e-mail(s) sent; outbox: {summary.due} due, "
              f"{summary.pending - summary.due} waiting to retry, {summary.failed} given up")


MAIL_COLUMNS = [Column("ID", "id"), Column("TO", "to_address", 30),
                Column("SUBJECT", "subject", 40), Column("STATUS", "status"),
                Column("ATTEMPTS", "attempts"), Column("NEXT ATTEMPT", "next_attempt_at"),
                Column("SENT", "sent_at"), Column("LAST ERROR", "last_error", 60)]


@notifications.command("outbox")
@click.option("--status", type=click.Choice([s.value for s in MailStatus]),
              help="Only mails in this state (failed: given up).")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
@click.pass_obj
def outbox(state: State, status: str | None, limit: int) -> None:
    """The e-mail outbox, newest first: attempts, next attempt, last error."""
    with state.rt.uow(write=False) as uow:
        rows = mail_outbox.list_mail(uow, status, limit=limit)
    state.listing([{column.key: getattr(row, column.key) for column in MAIL_COLUMNS}
                   for row in rows], MAIL_COLUMNS, "the outbox is empty")


@notifications.command("requeue")
@click.argument("ids", nargs=-1, type=int)
@click.option("--all", "every", is_flag=True, help="Every given-up mail.")
@click.pass_obj
def requeue(state: State, ids: tuple[int, ...], every: bool) -> None:
    """Queue given-up e-mails again (IDS, or --all), with a fresh count of attempts."""
    if not ids and not every:
        raise click.UsageError("name the mails to queue again, or pass --all")
    with state.rt.uow() as uow:
        count = mail_outbox.requeue_mail(uow, None if every else ids)
    state.say({"requeued": count}, f"{count} e-mail(s) queued again")
