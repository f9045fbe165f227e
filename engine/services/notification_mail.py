"""Notifications by e-mail: where a person wants them (``set_email``), and the mail of each
notification (``compose``), queued in the outbox in the notification's own transaction
(``queue``, called by ``notifications.create``) and sent after the commit, never inside it,
retried when the server is down (``engine.services.mail_outbox``).

E-mail is off unless SMTP is configured (``engine.settings``); a person without an address
gets notifications in the app only.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import timedelta, timezone
from typing import TYPE_CHECKING

from sqlalchemy import select

from ..db import UnitOfWork
from ..errors import Forbidden, ValidationFailed
from ..mail import Mail, SmtpSettings
from ..models import NotificationAddress, NotificationKind
from ..runtime import Runtime
from . import clock, mail_outbox

if TYPE_CHECKING:
    from .notifications import Made

CHINA = timezone(timedelta(hours=8), "+08:00")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
#: Addresses looked up per statement.
CHUNK = 500
#: ``Runtime.extensions`` key of the runtime's ``Wording``.
WORDING_KEY = "notification_mail.wording"


def get_email(uow: UnitOfWork, username: str) -> str | None:
    row = uow.session.get(NotificationAddress, username)
    return row.email if row is not None else None


def _known(uow: UnitOfWork, username: str) -> None:
    """Raise ``NotFound`` unless the runtime's directory knows ``username``; a login that may
    not act now (e.g. disabled) still keeps its address."""
    with suppress(Forbidden):
        uow.runtime.directory.actor_for(uow, username)


def set_email(uow: UnitOfWork, username: str, email: str | None) -> str | None:
    """Where ``username``'s notifications are e-mailed; empty or None: nowhere. Raises
    ``ValidationFailed`` for what is no address, ``NotFound`` for an unknown login."""
    address = (email or "").strip()
    if address and (len(address) > 254 or not EMAIL.match(address)):
        raise ValidationFailed(f"'{address}' is not an e-mail address",
                               {"email": ["not an e-mail address"]})
    _known(uow, username)
    row = uow.session.get(NotificationAddress, username)
    if not address:
        if row is not None:
            uow.session.delete(row)
    elif row is None:
        uow.session.add(NotificationAddress(username=username, email=address,
                                            updated_at=clock.now(uow)))
    else:
        row.email, row.updated_at = address, clock.now(uow)
    uow.commit()
    return address or None


def queue(uow: UnitOfWork, made: Sequence[Made], settings: SmtpSettings) -> None:
    """Queue the e-mails of ``made`` in the outbox (same transaction), for those who gave
    an address; they are sent once it commits, and retried if that fails."""
    if not settings.enabled:
        return
    people = sorted({m.recipient for m in made})
    addresses: dict[str, str] = {}
    for start in range(0, len(people), CHUNK):
        addresses.update((username, email) for username, email in uow.session.execute(
            select(NotificationAddress.username, NotificationAddress.email)
            .where(NotificationAddress.username.in_(people[start:start + CHUNK]))))
    wording = wording_of(uow.runtime)
    mail_outbox.queue(uow, [
        mail_outbox.Queued(m.recipient, compose(m, addresses[m.recipient], settings.base_url,
                                                wording), m.id)
        for m in made if m.recipient in addresses])


#: Subject lines per kind (Chinese first: the programme's language; English after).
SUBJECTS: dict[str, str] = {
    NotificationKind.TASK: "新任务:{subject} · New task",
    NotificationKind.DELEGATED: "转办给您的任务:{subject} · Task delegated to you",
    NotificationKind.YELLOW_CARD: "黄牌提醒:{subject} 即将到期 · Due soon",
    NotificationKind.RED_CARD: "红牌警示:{subject} 已逾期 · Overdue",
}
LEADS: dict[str, str] = {
    NotificationKind.TASK: "您有一项新任务。You have a new task.",
    NotificationKind.DELEGATED: "{actor} 把一项任务转办给您。{actor} handed you a task.",
    NotificationKind.YELLOW_CARD: "您的任务即将到期(黄牌)。A task of yours is due soon "
                                  "(yellow card).",
    NotificationKind.RED_CARD: "您的任务已经逾期(红牌)。A task of yours is overdue (red card).",
}


def _no_lines(made: Made) -> Sequence[str]:
    return ()


@dataclass(frozen=True)
class Wording:
    """What a domain adds to its notifications' e-mails — an extension point, set on the
    runtime with ``set_wording`` (the runtime words only task notifications on its own):

    - ``subjects`` / ``leads``: the subject line (with ``{subject}``) and the opening line
      (may use ``{actor}``) of kinds the runtime does not word, by kind;
    - ``taskless_leads``: the opening line of a notification about no task (a card for
      something else the domain tracks), by kind — else the kind's usual lead;
    - ``lines``: lines saying where the notification belongs, put after the process line
      (indented by two spaces like the others)."""

    subjects: Mapping[str, str] = field(default_factory=dict)
    leads: Mapping[str, str] = field(default_factory=dict)
    taskless_leads: Mapping[str, str] = field(default_factory=dict)
    lines: Callable[[Made], Sequence[str]] = _no_lines


def set_wording(rt: Runtime, wording: Wording) -> None:
    """Word ``rt``'s notification e-mails with ``wording`` (beside the runtime's own)."""
    rt.extensions[WORDING_KEY] = wording


def wording_of(rt: Runtime) -> Wording:
    found = rt.extensions.get(WORDING_KEY)
    return found if isinstance(found, Wording) else Wording()


def compose(made: Made, to: str, base_url: str | None = None,
            wording: Wording | None = None) -> Mail:
    """The e-mail for one notification."""
    wording = wording or Wording()
    kind = NotificationKind(made.kind)
    lead = wording.taskless_leads.get(kind) if made.task_id is None else None
    leads, subjects = {**LEADS, **wording.leads}, {**SUBJECTS, **wording.subjects}
    lines = [lead or leads.get(kind, "").format(actor=made.actor or ""), "", f"  {made.subject}"]
    if made.process_name:
        lines.append(f"  流程 Process: {made.process_name}")
    lines += wording.lines(made)
    if made.due_at is not None:
        due = made.due_at.astimezone(CHINA).strftime("%Y-%m-%d %H:%M")
        lines.append(f"  办理期限 Due: {due} (北京时间 Beijing time)")
    if made.detail:
        lines.append(f"  说明 Details: {made.detail}")
    if base_url:
        path = f"/tasks/{made.task_id}" if made.task_id else "/notifications"
        lines += ["", f"{base_url}{path}"]
    lines += ["", "—— 廉政风险防范管理 IRPM(本邮件由系统自动发送,请勿回复 · automatic message)"]
    subject = subjects.get(kind, "{subject}").format(subject=made.subject)
    return Mail(to=to, subject=f"【IRPM】{subject}", body="\n".join(lines))
