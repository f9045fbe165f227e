"""The e-mail outbox (engine.services.mail_outbox): a notification's e-mail is queued in the
notification's own transaction and sent after the commit; when the SMTP server is down it
stays queued with the error, its attempt count and the time of the next attempt, and a
later ``send_pending_mail`` (or ``irpm notifications send``) delivers it — exactly once,
however many senders run. After too many attempts, or a permanent refusal, it is given up
and shows as such. A real SMTP server on loopback (aiosmtpd), started and stopped."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from engine.mail import SmtpSettings
from engine.models import MailStatus, Notification, OutboxMail
from engine.services import mail_outbox, notification_mail, notifications
from engine.settings import Settings
from web.cli import main

from .conftest import Org, notifying
from .mailserver import SENDER, Mailbox, SmtpServer, free_port

HOLDER, HEAD = "czj-0011", "czj-0009"
HOLDER_POST = "CZJ-BGS-02"  # the inbox cycle's first task goes to its holder, czj-0011
ADDRESS = "xiang@czj.example.cn"


@pytest.fixture
def mailbox() -> Mailbox:
    """A mailbox on a port where, for now, nothing listens."""
    return Mailbox(free_port())


@pytest.fixture
def server(mailbox: Mailbox) -> Iterator[SmtpServer]:
    """The mailbox's server, stopped: a test starts it when the outage is over."""
    smtp = SmtpServer(mailbox)
    yield smtp
    smtp.stop()


def mailing(org: Org, mailbox: Mailbox, **extra: object) -> SmtpSettings:
    """The organisation's runtime e-mails its notifications to ``mailbox``'s port; the
    holder has given an address."""
    settings = mailbox.settings(timeout=5, **extra)
    notifying(org, settings)
    with org.rt.uow() as uow:
        notification_mail.set_email(uow, HOLDER, ADDRESS)
    return settings


def outbox(org: Org) -> list[OutboxMail]:
    with org.rt.uow(write=False) as uow:
        return list(uow.session.scalars(select(OutboxMail).order_by(OutboxMail.id)))


def send(org: Org, now: datetime | None = None) -> int:
    with org.rt.uow() as uow:
        return mail_outbox.send_pending_mail(uow, now)


def test_an_outage_keeps_the_mail_and_a_retry_delivers_it_once(
        org: Org, mailbox: Mailbox, server: SmtpServer) -> None:
    mailing(org, mailbox)
    before = datetime.now(UTC)
    org.start(HOLDER_POST)  # the task's notification; the mail fails after the commit
    [mail] = outbox(org)
    [note] = [n for n in _notes(org) if n.recipient == HOLDER]
    assert (mail.notification_id, mail.recipient, mail.to_address) == (note.id, HOLDER, ADDRESS)
    assert mail.subject.startswith("【IRPM】新任务") and "您有一项新任务" in mail.body
    assert (mail.status, mail.attempts, mail.sent_at) == (MailStatus.PENDING, 1, None)
    assert mail.last_error and "ConnectionRefused" in mail.last_error
    assert mail.last_attempt_at is not None and mail.last_attempt_at >= before
    assert mail.next_attempt_at == mail.last_attempt_at + timedelta(seconds=60)

    server.start()  # the outage is over
    retry_at = mail.next_attempt_at
    assert send(org, retry_at - timedelta(seconds=1)) == 0  # not due yet
    assert mailbox.received == []
    assert send(org, retry_at) == 1
    [received] = mailbox.received
    assert received["To"] == ADDRESS and received["Subject"] == mail.subject
    [mail] = outbox(org)
    assert (mail.status, mail.attempts, mail.sent_at, mail.next_attempt_at) == (
        MailStatus.SENT, 2, retry_at, None)
    assert send(org, retry_at + timedelta(days=1)) == 0  # sent is sent
    assert len(mailbox.received) == 1


def test_a_mail_is_sent_after_the_commit_and_only_once(org: Org, mailbox: Mailbox,
                                                       server: SmtpServer) -> None:
    server.start()
    mailing(org, mailbox)
    org.start(HOLDER_POST)
    assert len(mailbox.received) == 1
    [mail] = outbox(org)
    assert (mail.status, mail.attempts, mail.last_error) == (MailStatus.SENT, 1, None)
    assert send(org, datetime.now(UTC) + timedelta(days=1)) == 0
    assert len(mailbox.received) == 1


def test_a_rolled_back_notification_queues_and_sends_nothing(
        org: Org, mailbox: Mailbox, server: SmtpServer) -> None:
    server.start()
    mailing(org, mailbox)
    task = org.open_task(org.start(HOLDER_POST, key="first"))
    mailbox.received.clear()
    with org.rt.uow() as uow:
        notifications.create(uow, [notifications.task_row(
            notifications.task_facts(uow, [task.id])[task.id], "delegated", HOLDER,
            datetime.now(UTC))])
        assert len(outbox(org)) == 1  # not committed: another connection sees the first only
        uow.rollback()
    assert len(outbox(org)) == 1 and mailbox.received == []


def test_concurrent_senders_deliver_each_mail_once(org: Org, mailbox: Mailbox,
                                                   server: SmtpServer) -> None:
    mailing(org, mailbox)
    for i in range(6):  # six tasks, six mails, all failing while the server is down
        org.start(HOLDER_POST, key=f"k-{i}")
    assert [m.attempts for m in outbox(org)] == [1] * 6
    server.start()
    later = datetime.now(UTC) + timedelta(hours=1)
    results: list[int] = []
    errors: list[BaseException] = []

    def sender() -> None:
        try:
            results.append(send(org, later))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=sender) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sum(results) == 6 and len(mailbox.received) == 6
    assert {m.status for m in outbox(org)} == {MailStatus.SENT}
    assert [m.attempts for m in outbox(org)] == [2] * 6


def test_a_mail_failing_too_often_is_given_up_and_shows(
        settings: Settings, org: Org, mailbox: Mailbox, server: SmtpServer) -> None:
    mailing(org, mailbox, max_attempts=3, retry_seconds=30)
    org.start(HOLDER_POST)  # attempt 1
    [mail] = outbox(org)
    assert mail.next_attempt_at is not None
    second = mail.next_attempt_at
    assert send(org, second) == 0  # attempt 2: still down, waits 4 × 30 s
    [mail] = outbox(org)
    assert (mail.attempts, mail.status) == (2, MailStatus.PENDING)
    assert mail.next_attempt_at == second + timedelta(seconds=120)
    third = mail.next_attempt_at
    assert send(org, third) == 0  # attempt 3 of 3: given up
    [mail] = outbox(org)
    assert (mail.attempts, mail.status, mail.next_attempt_at) == (3, MailStatus.FAILED, None)
    assert mail.last_error and "ConnectionRefused" in mail.last_error
    server.start()
    assert send(org, third + timedelta(days=1)) == 0  # given up: not tried again
    assert mailbox.received == []

    runner = CliRunner(env={"IRPM_DATABASE_URL": settings.database_url,
                            "IRPM_SMTP_HOST": "127.0.0.1", "IRPM_SMTP_PORT": str(mailbox.port),
                            "IRPM_SMTP_FROM": SENDER})
    result = runner.invoke(main, ["notifications", "outbox", "--status", "failed"],
                           catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert ADDRESS in result.output and "failed" in result.output
    assert "ConnectionRefused" in result.output
    result = runner.invoke(main, ["notifications", "send"], catch_exceptions=False)
    assert "0 e-mail(s) sent; outbox: 0 due, 0 waiting to retry, 1 given up" in result.output

    result = runner.invoke(main, ["notifications", "requeue", str(mail.id)],
                           catch_exceptions=False)
    assert "1 e-mail(s) queued again" in result.output
    result = runner.invoke(main, ["--json", "notifications", "send"], catch_exceptions=False)
    assert json.loads(result.output) == {"sent": 1, "configured": True, "outbox": {
        "pending": 0, "due": 0, "sent": 1, "failed": 0}}
    assert len(mailbox.received) == 1
    [mail] = outbox(org)
    assert (mail.status, mail.attempts) == (MailStatus.SENT, 1)


def test_a_permanent_refusal_is_given_up_at_once(org: Org, mailbox: Mailbox,
                                                 server: SmtpServer) -> None:
    mailbox.refuse = (ADDRESS,)
    server.start()
    mailing(org, mailbox)
    org.start(HOLDER_POST)
    [mail] = outbox(org)
    assert (mail.status, mail.attempts) == (MailStatus.FAILED, 1)
    assert mail.last_error and "550" in mail.last_error and "no such mailbox" in mail.last_error
    assert mailbox.received == []


def test_the_cli_sends_what_is_due(settings: Settings, org: Org, mailbox: Mailbox,
                                   server: SmtpServer) -> None:
    mailing(org, mailbox)
    org.start(HOLDER_POST)  # fails: the server is down
    server.start()
    env = {"IRPM_DATABASE_URL": settings.database_url, "IRPM_SMTP_HOST": "127.0.0.1",
           "IRPM_SMTP_PORT": str(mailbox.port), "IRPM_SMTP_FROM": SENDER}
    runner = CliRunner(env=env)
    result = runner.invoke(main, ["notifications", "send"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "0 e-mail(s) sent; outbox: 0 due, 1 waiting to retry, 0 given up" in result.output
    later = (datetime.now(UTC) + timedelta(minutes=2)).isoformat()
    result = runner.invoke(main, ["notifications", "send", "--now", later],
                           catch_exceptions=False)
    assert "1 e-mail(s) sent; outbox: 0 due, 0 waiting to retry, 0 given up" in result.output
    assert len(mailbox.received) == 1
    result = runner.invoke(main, ["notifications", "outbox"], catch_exceptions=False)
    assert "sent" in result.output and ADDRESS in result.output

    unconfigured = CliRunner(env={"IRPM_DATABASE_URL": settings.database_url,
                                  "IRPM_SMTP_HOST": ""})
    result = unconfigured.invoke(main, ["notifications", "send"], catch_exceptions=False)
    assert "e-mail is not configured" in result.output


def test_without_smtp_nothing_is_queued(org: Org) -> None:
    notifying(org, SmtpSettings())
    with org.rt.uow() as uow:
        notification_mail.set_email(uow, HOLDER, ADDRESS)
    org.start(HOLDER_POST)
    assert len(_notes(org)) == 1 and outbox(org) == []
    with org.rt.uow() as uow:
        assert mail_outbox.send_pending_mail(uow) == 0


def test_retries_back_off_up_to_six_hours() -> None:
    smtp = SmtpSettings(retry_seconds=60)
    assert [mail_outbox.retry_delay(n, smtp).total_seconds() for n in range(1, 7)] == [
        60, 240, 960, 3840, 15360, 21600]
    env = Settings.from_env({"IRPM_SMTP_MAX_ATTEMPTS": "5",
                             "IRPM_SMTP_RETRY_SECONDS": "30"}).smtp
    assert (env.max_attempts, env.retry_seconds) == (5, 30.0)
    unset = Settings.from_env({}).smtp
    assert (unset.max_attempts, unset.retry_seconds) == (8, 60.0)


def _notes(org: Org) -> list[Notification]:
    with org.rt.uow(write=False) as uow:
        return list(uow.session.scalars(select(Notification).order_by(Notification.id)))
