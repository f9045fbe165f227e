"""The e-mail outbox: notifications' e-mails kept in the database until the server took
them, so an SMTP outage delays mail instead of losing it.

- **Queued with the notification.** ``queue`` writes the mails in the transaction that
  writes their notifications (``notifications.create``): both exist, or neither.
- **Sent after the commit.** Queuing also asks the unit of work to send exactly those mails
  once the transaction has committed (never inside it: a transaction does not wait for a
  mail server, and a rolled-back notification sends nothing).
- **Retried.** ``send_pending_mail(uow, now)`` sends what is due — new mails and retries
  whose time has come — and is what a scheduler (and ``irpm notifications send``) calls. A
  mail is *claimed* before it is sent: its attempt is counted and its next attempt moved a
  lease (``LEASE``) ahead in the claiming transaction, so two senders (the after-commit send
  and a scheduler, two workers, two hosts) never both send it. When the server cannot be
  reached, times out or answers 4xx, the mail waits ``retry_seconds`` × 4^(attempt − 1)
  (at most ``MAX_RETRY_DELAY``) and ``last_error`` says why; after ``max_attempts``
  attempts, or at once for a 5xx refusal (no such mailbox…), it is given up: status
  ``failed``, kept with its error for an administrator (``list_mail``, ``irpm notifications
  outbox``), who may queue it again (``requeue_mail``).

A process that dies between sending and recording leaves the mail claimed: it is tried again
once the lease has passed, so a mail is sent at least once, and once unless that happens.

Times are real times (default: the system clock), not the project's simulated clock: mail
servers fail and recover in real time, whatever day the programme is rehearsing. A caller
that passes ``now`` should pass the real time too.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, insert, or_, select, update

from .. import mail
from ..db import UnitOfWork
from ..mail import Failure, Mail, SmtpSettings
from ..models import MailStatus, OutboxMail
from ..runtime import Runtime

log = logging.getLogger(__name__)

#: Mails claimed and sent over one connection.
BATCH = 100
#: How long a claimed mail is left to its sender before another may try it.
LEASE = timedelta(minutes=10)
#: The longest wait between two attempts.
MAX_RETRY_DELAY = timedelta(hours=6)


def real_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Queued:
    """A mail for the outbox: to whom (login and address), for which notification."""

    recipient: str
    mail: Mail
    notification_id: int | None = None


def queue(uow: UnitOfWork, mails: Sequence[Queued]) -> list[int]:
    """Write ``mails`` to the outbox in the caller's transaction and have them sent once it
    commits (by the runtime of ``uow``; else they wait for ``send_pending_mail``). Does not
    commit; the outbox ids."""
    if not mails:
        return []
    at = real_now()
    rows = [{"notification_id": q.notification_id, "recipient": q.recipient,
             "to_address": q.mail.to, "subject": q.mail.subject, "body": q.mail.body,
             "status": MailStatus.PENDING.value, "attempts": 0, "created_at": at,
             "next_attempt_at": None, "last_attempt_at": None, "last_error": None,
             "sent_at": None} for q in mails]
    ids: list[int] = []
    for start in range(0, len(rows), BATCH * 5):
        ids += uow.session.scalars(insert(OutboxMail).returning(OutboxMail.id),
                                   rows[start:start + BATCH * 5]).all()
    rt = uow.runtime
    uow.after_commit(lambda: _send_after_commit(rt, ids))
    return ids


def _send_after_commit(rt: Runtime, ids: list[int]) -> None:
    try:
        with rt.uow() as uow:
            send_pending_mail(uow, ids=ids)
    except Exception:  # the notifications are committed; the outbox keeps the mails
        log.exception("sending %d queued e-mails failed; they stay in the outbox", len(ids))


def smtp_settings(uow: UnitOfWork) -> SmtpSettings:
    """The SMTP settings of the runtime of ``uow`` (``notifications.install``)."""
    from .notifications import config_of  # notifications queues through this module

    return config_of(uow).smtp


def retry_delay(attempts: int, settings: SmtpSettings) -> timedelta:
    """How long a mail waits after its ``attempts``-th failed attempt."""
    seconds = settings.retry_seconds * 4 ** max(attempts - 1, 0)
    return min(timedelta(seconds=seconds), MAX_RETRY_DELAY)


def _due(now: datetime) -> Any:
    return and_(OutboxMail.status == MailStatus.PENDING.value,
                or_(OutboxMail.next_attempt_at.is_(None), OutboxMail.next_attempt_at <= now))


@dataclass(frozen=True)
class _Claimed:
    id: int
    to_address: str
    subject: str
    body: str
    attempts: int


def _claim(uow: UnitOfWork, now: datetime, ids: Sequence[int] | None,
           size: int) -> list[_Claimed]:
    """Count an attempt of up to ``size`` due mails and lease them to this sender; commits.
    PostgreSQL skips rows another sender is claiming; the update checks they are still due,
    so a mail claimed meanwhile is not claimed twice."""
    chosen = select(OutboxMail.id).where(_due(now)).order_by(OutboxMail.id).limit(size)
    if ids is not None:
        chosen = chosen.where(OutboxMail.id.in_(list(ids)))
    if not uow.is_sqlite:
        chosen = chosen.with_for_update(skip_locked=True)
    wanted = list(uow.session.scalars(chosen))
    claimed: list[_Claimed] = []
    if wanted:
        result = uow.session.execute(
            update(OutboxMail).where(OutboxMail.id.in_(wanted), _due(now))
            .values(attempts=OutboxMail.attempts + 1, last_attempt_at=now,
                    next_attempt_at=now + LEASE)
            .returning(OutboxMail.id, OutboxMail.to_address, OutboxMail.subject,
                       OutboxMail.body, OutboxMail.attempts)
            .execution_options(synchronize_session=False))
        claimed = sorted((_Claimed(*row) for row in result), key=lambda c: c.id)
    uow.commit()
    return claimed


def _record(uow: UnitOfWork, claimed: list[_Claimed], outcomes: list[Failure | None],
            now: datetime, settings: SmtpSettings) -> int:
    sent = 0
    for item, outcome in zip(claimed, outcomes, strict=True):
        values: dict[str, Any]
        if outcome is None:
            sent += 1
            values = {"status": MailStatus.SENT.value, "sent_at": now, "next_attempt_at": None}
        elif outcome.permanent or item.attempts >= settings.max_attempts:
            values = {"status": MailStatus.FAILED.value, "next_attempt_at": None,
                      "last_error": outcome.error}
            log.warning("e-mail %d to %s given up after %d attempt(s): %s", item.id,
                        item.to_address, item.attempts, outcome.error)
        else:
            values = {"next_attempt_at": now + retry_delay(item.attempts, settings),
                      "last_error": outcome.error}
        uow.session.execute(update(OutboxMail).where(OutboxMail.id == item.id).values(**values)
                            .execution_options(synchronize_session=False))
    uow.commit()
    return sent


def send_pending_mail(uow: UnitOfWork, now: datetime | None = None, *,
                      ids: Iterable[int] | None = None, limit: int | None = None,
                      settings: SmtpSettings | None = None) -> int:
    """Send the outbox's mails that are due by ``now`` (default: the system clock; pass the
    real time, not the simulated one) — or only those of ``ids`` — at most ``limit``; how
    many the server took. Failures are recorded for a retry, or given up (see the module's
    description). E-mail not configured (``IRPM_SMTP_HOST`` / ``IRPM_SMTP_FROM``): nothing
    is sent and the mails wait. Commits after each batch; never raises for SMTP trouble."""
    settings = settings or smtp_settings(uow)
    if not settings.enabled:
        return 0
    now = now or real_now()
    only = None if ids is None else sorted(set(ids))
    sent = tried = 0
    while limit is None or tried < limit:
        size = BATCH if limit is None else min(BATCH, limit - tried)
        claimed = _claim(uow, now, only, size)
        if not claimed:
            break
        tried += len(claimed)
        outcomes = mail.deliver(settings, [Mail(c.to_address, c.subject, c.body)
                                           for c in claimed])
        sent += _record(uow, claimed, outcomes, now, settings)
    if tried:
        log.info("outbox: %d of %d e-mails sent", sent, tried)
    return sent


# ------------------------------------------------------------------------- looking in


@dataclass(frozen=True)
class OutboxSummary:
    """How many mails are in each state; ``due``: pending ones whose attempt is due."""

    pending: int = 0
    due: int = 0
    sent: int = 0
    failed: int = 0


def outbox_summary(uow: UnitOfWork, now: datetime | None = None) -> OutboxSummary:
    now = now or real_now()
    counts: dict[str, int] = {status: int(count) for status, count in uow.session.execute(
        select(OutboxMail.status, func.count()).group_by(OutboxMail.status))}
    due = uow.session.scalar(select(func.count()).select_from(OutboxMail).where(_due(now)))
    return OutboxSummary(pending=counts.get(MailStatus.PENDING.value, 0), due=int(due or 0),
                         sent=counts.get(MailStatus.SENT.value, 0),
                         failed=counts.get(MailStatus.FAILED.value, 0))


def list_mail(uow: UnitOfWork, status: str | None = None, *, limit: int = 50,
              offset: int = 0) -> list[OutboxMail]:
    """Outbox mails, newest first; ``status``: only ``pending``, ``sent`` or ``failed``."""
    stmt = select(OutboxMail).order_by(OutboxMail.id.desc()).limit(limit).offset(offset)
    if status is not None:
        stmt = stmt.where(OutboxMail.status == MailStatus(status).value)
    return list(uow.session.scalars(stmt))


def requeue_mail(uow: UnitOfWork, ids: Iterable[int] | None = None) -> int:
    """Queue given-up mails (``ids``, default: all) again, with a fresh count of attempts;
    how many. Commits."""
    stmt = (update(OutboxMail).where(OutboxMail.status == MailStatus.FAILED.value)
            .values(status=MailStatus.PENDING.value, attempts=0, next_attempt_at=None)
            .execution_options(synchronize_session=False))
    if ids is not None:
        wanted = sorted(set(ids))
        if not wanted:
            return 0
        stmt = stmt.where(OutboxMail.id.in_(wanted))
    changed = int(getattr(uow.session.execute(stmt), "rowcount", 0) or 0)
    uow.commit()
    return changed
