"""Notifications (通知): in the app, and by e-mail when SMTP is configured.

Who is told what:

- ``task`` — a task was created: its candidate users and the members of its groups;
- ``delegated`` — a task was handed to someone (转办): that person;
- ``yellow_card`` / ``red_card`` — an open task falls due within ``near_due`` (黄牌; default
  3 days) / is overdue (红牌): its assignee, else its candidates;
- ``feedback`` — public feedback no process took (``engine.programme.services.feedback``): the
unit's
  discipline officer.

New tasks and delegations come from the engine itself: ``install(rt)`` (done by
``engine.programme.programme_runtime``) registers ``on_events`` with the runtime, which
hands it the ``task_created`` / ``task_delegated`` events of every transaction once that
transaction has committed; ``notify_events`` then writes the notifications in a transaction
of its own. Cards come from ``scan_due_cards(uow, now)``, which a scheduler (or ``irpm
notifications scan``) calls: idempotent — a task gets one yellow and one red card, however
often it runs.

A group is turned into its people when the notification is made (``members``), so the list
of a person is one indexed query, and e-mail knows whom to write to. E-mail goes to the
address a person set (``set_email``): queued in the outbox in the notification's own
transaction, sent after the commit, never inside it, and retried when the server is down
(``engine.services.mail_outbox``).
"""

from __future__ import annotations

import logging
import os
import re
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from ..db import UnitOfWork
from ..errors import NotFound, ValidationFailed
from ..mail import Mail, SmtpSettings
from ..models import (
    EventType,
    HumanTask,
    Notification,
    NotificationAddress,
    NotificationKind,
    ProcessDefinition,
    TaskCandidate,
    TaskState,
)
from ..programme.models import Account, AccountRole, Department, Official, Post, Unit
from ..runtime import Runtime
from . import clock, mail_outbox
from .inbox import DEFAULT_NEAR_DUE

log = logging.getLogger(__name__)

KEY = "notifications"
CHINA = timezone(timedelta(hours=8), "+08:00")
#: The events that make notifications.
EVENTS = frozenset({EventType.TASK_CREATED.value, EventType.TASK_DELEGATED.value})
CARDS = (NotificationKind.YELLOW_CARD.value, NotificationKind.RED_CARD.value)
#: Rows per statement when looking up or inserting many.
CHUNK = 500
#: Unread counts stop here ("99+" is all a badge needs).
UNREAD_CAP = 1000
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class NotificationConfig:
    """What a runtime's notifications use: SMTP (off unless configured) and the yellow-card
    horizon."""

    smtp: SmtpSettings = field(default_factory=SmtpSettings)
    near_due: timedelta = DEFAULT_NEAR_DUE


def install(rt: Runtime, *, smtp: SmtpSettings | None = None,
            near_due: timedelta | None = None) -> Runtime:
    """Notify people of new and delegated tasks made through ``rt``; e-mail through
    ``smtp`` (default: the ``IRPM_SMTP_*`` environment)."""
    rt.extensions[KEY] = NotificationConfig(smtp if smtp is not None else SmtpSettings.from_env(),
                                            near_due or near_due_from_env())
    rt.add_event_listener(on_events)
    return rt


def near_due_from_env(environ: Mapping[str, str] | None = None) -> timedelta:
    """``IRPM_NEAR_DUE_DAYS`` (default 3): how close to its due date a task gets a yellow
    card — the setting the inbox's cards use too."""
    env = os.environ if environ is None else environ
    days = (env.get("IRPM_NEAR_DUE_DAYS") or "").strip()
    return timedelta(days=float(days)) if days else DEFAULT_NEAR_DUE


def configure(rt: Runtime, *, smtp: SmtpSettings | None = None,
              near_due: timedelta | None = None) -> NotificationConfig:
    """Change the settings of an installed runtime (e.g. from the web app's config)."""
    current = rt.extensions.get(KEY) or NotificationConfig()
    config = replace(current, smtp=smtp if smtp is not None else current.smtp,
                     near_due=near_due or current.near_due)
    rt.extensions[KEY] = config
    return config


def config_of(uow: UnitOfWork) -> NotificationConfig:
    found = uow.runtime.extensions.get(KEY)
    return found if isinstance(found, NotificationConfig) else NotificationConfig()


def on_events(rt: Runtime, events: list[dict[str, Any]]) -> None:
    """The runtime's event listener: after a commit, notify of its new and delegated tasks."""
    wanted = [e for e in events if e.get("type") in EVENTS and e.get("task_id") is not None]
    if wanted:
        with rt.uow() as uow:
            notify_events(uow, wanted)


# ----------------------------------------------------------------------------- who


def _official_groups(uow: UnitOfWork, prefix: str, codes: set[str]) -> Iterator[
        tuple[str, int | None]]:
    """(group, official id) for the scoped groups ``prefix:<code>`` (see
    ``organisation.groups_of``)."""
    s = uow.session
    rows: Iterable[Any] = ()
    if prefix == "post":
        rows = s.execute(select(Post.code, Post.holder_id).where(Post.code.in_(codes)))
    elif prefix == "dept":
        rows = [*s.execute(select(Department.code, Post.holder_id).join(Post.department)
                           .where(Department.code.in_(codes))),
                *s.execute(select(Department.code, Department.head_id)
                           .where(Department.code.in_(codes)))]
    elif prefix in ("department_head", "deputy_in_charge"):
        column = Department.head_id if prefix == "department_head" \
            else Department.deputy_in_charge_id
        rows = s.execute(select(Department.code, column).where(Department.code.in_(codes)))
    elif prefix in ("principal", "discipline_commission"):
        column = Unit.principal_id if prefix == "principal" else Unit.discipline_officer_id
        rows = s.execute(select(Unit.code, column).where(Unit.code.in_(codes)))
    elif prefix == "unit":
        rows = s.execute(select(Unit.code, Official.id).join(Official, Official.unit_id == Unit.id)
                         .where(Unit.code.in_(codes)))
    for code, official_id in rows:
        yield f"{prefix}:{code}", official_id


#: Unscoped leadership roles, implied by positions (as ``organisation.groups_of`` does).
_POSITION_ROLES = {"principal": Unit.principal_id, "department_head": Department.head_id,
                   "deputy_in_charge": Department.deputy_in_charge_id}


def members(uow: UnitOfWork, groups: Iterable[str]) -> dict[str, set[str]]:
    """The active logins in each group, as ``organisation.groups_of`` defines the groups: the
    officials holding the positions of a scoped group (``post:…``, ``dept:…``,
    ``department_head:…``, ``principal:…``, ``discipline_commission:…``, ``unit:…``); for an
    unscoped role, the accounts holding it as a stored role (and, for the leadership roles,
    through their positions). ``staff`` — everyone — is not expanded."""
    wanted = set(groups)
    found: dict[str, set[str]] = {g: set() for g in wanted}
    scoped, plain = _split(wanted)
    by_official: list[tuple[str, int | None]] = []
    for prefix, codes in scoped.items():
        for chunk in _chunks(sorted(codes)):
            by_official += _official_groups(uow, prefix, set(chunk))
    for role in plain & _POSITION_ROLES.keys():
        column = _POSITION_ROLES[role]
        by_official += [(role, official_id) for official_id in uow.session.scalars(
            select(column).where(column.is_not(None)).distinct())]
    logins = _logins(uow, {i for _g, i in by_official if i is not None})
    for group, official_id in by_official:
        if official_id in logins:
            found[group].add(logins[official_id])
    if plain:
        for role, username in uow.session.execute(
                select(AccountRole.role, Account.username).join(
                    Account, Account.id == AccountRole.account_id)
                .where(AccountRole.role.in_(sorted(plain)), Account.active.is_(True))):
            found[role].add(username)
    return found


def _split(groups: set[str]) -> tuple[dict[str, set[str]], set[str]]:
    """Scoped groups as {prefix: codes}, and the unscoped roles (but ``staff``)."""
    scoped: dict[str, set[str]] = defaultdict(set)
    plain: set[str] = set()
    for group in groups:
        prefix, sep, code = group.partition(":")
        if sep:
            scoped[prefix].add(code)
        elif group != "staff":
            plain.add(group)
    return scoped, plain


def _logins(uow: UnitOfWork, official_ids: set[int]) -> dict[int, str]:
    """The active login of each official that has one."""
    logins: dict[int, str] = {}
    for chunk in _chunks(sorted(official_ids)):
        for official_id, username in uow.session.execute(
                select(Account.official_id, Account.username).where(
                    Account.official_id.in_(chunk), Account.active.is_(True))):
            if official_id is not None:
                logins[official_id] = username
    return logins


def _recipients(uow: UnitOfWork, users: Iterable[str], groups: Iterable[str],
                expanded: dict[str, set[str]] | None = None) -> set[str]:
    groups = list(groups)
    expanded = expanded if expanded is not None else members(uow, groups)
    people = set(users)
    for group in groups:
        people |= expanded.get(group, set())
    return people


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


# ---------------------------------------------------------------------------- making


@dataclass(frozen=True)
class _Task:
    id: uuid.UUID
    name: str
    instance_id: int
    unit_code: str | None
    post_code: str | None
    due_at: datetime | None
    assignee: str | None
    state: str
    process_name: str


_TASK_COLUMNS = (HumanTask.id, HumanTask.name, HumanTask.instance_id, HumanTask.unit_code,
                 HumanTask.post_code, HumanTask.due_at, HumanTask.assignee, HumanTask.state,
                 ProcessDefinition.name)


def _tasks(uow: UnitOfWork, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, _Task]:
    found: dict[uuid.UUID, _Task] = {}
    for chunk in _chunks(sorted(set(ids))):
        for row in uow.session.execute(
                select(*_TASK_COLUMNS).join(ProcessDefinition,
                                            ProcessDefinition.id == HumanTask.definition_id)
                .where(HumanTask.id.in_(chunk))):
            found[row[0]] = _Task(*row)
    return found


def _row(task: _Task, kind: str, recipient: str, now: datetime, *, actor: str | None = None,
         detail: str | None = None, dedupe: bool = False) -> dict[str, Any]:
    return {"recipient": recipient, "kind": kind, "task_id": task.id,
            "instance_id": task.instance_id, "feedback_id": None, "subject": task.name[:255],
            "process_name": task.process_name[:255], "unit_code": task.unit_code,
            "post_code": task.post_code, "due_at": task.due_at, "actor": actor,
            "detail": detail, "created_at": now, "read_at": None,
            "dedupe_key": f"{kind}:{task.id}:{recipient}" if dedupe else None}


_RETURNED = (Notification.id, Notification.recipient, Notification.kind, Notification.task_id,
             Notification.subject, Notification.process_name, Notification.unit_code,
             Notification.post_code, Notification.due_at, Notification.actor,
             Notification.detail, Notification.feedback_id)


@dataclass(frozen=True)
class Made:
    """A notification just written (what e-mail needs)."""

    id: int
    recipient: str
    kind: str
    task_id: uuid.UUID | None
    subject: str
    process_name: str | None
    unit_code: str | None
    post_code: str | None
    due_at: datetime | None
    actor: str | None
    detail: str | None
    feedback_id: int | None


def create(uow: UnitOfWork, rows: list[dict[str, Any]]) -> list[Made]:
    """Insert notification rows (a row whose ``dedupe_key`` exists is skipped) in the
    caller's transaction, with their e-mails in the outbox (sent once it commits). Does not
    commit."""
    made: list[Made] = []
    insert = (postgresql.insert if not uow.is_sqlite else sqlite.insert)(Notification)
    stmt = insert.on_conflict_do_nothing(index_elements=["dedupe_key"]).returning(*_RETURNED)
    for chunk in _chunks(rows):
        made += [Made(**row._asdict()) for row in uow.session.execute(stmt, list(chunk))]
    if made:
        _queue_mail(uow, made)
    return made


def notify_events(uow: UnitOfWork, events: list[dict[str, Any]]) -> list[Made]:
    """Notifications for ``task_created`` and ``task_delegated`` events (as the engine wrote
    them: ``data`` holds the candidates, or who handed the task to whom and why). Commits."""
    tasks = _tasks(uow, (e["task_id"] for e in events if e.get("type") in EVENTS))
    now = clock.now(uow)
    created = [e for e in events if e["type"] == EventType.TASK_CREATED.value]
    groups = {g for e in created for g in (e.get("data") or {}).get("groups") or ()}
    expanded = members(uow, groups)
    rows = []
    for event in events:
        task, data = tasks.get(event["task_id"]), event.get("data") or {}
        if task is None or task.state != TaskState.OPEN:
            continue  # gone again (cancelled in the same step) or rolled back
        if event["type"] == EventType.TASK_CREATED.value:
            people = _recipients(uow, data.get("users") or (), data.get("groups") or (),
                                 expanded)
            rows += [_row(task, NotificationKind.TASK.value, person, now)
                     for person in sorted(people)]
        elif event["type"] == EventType.TASK_DELEGATED.value and data.get("to"):
            rows.append(_row(task, NotificationKind.DELEGATED.value, str(data["to"]), now,
                             actor=event.get("actor"), detail=data.get("reason")))
    made = create(uow, rows)
    uow.commit()
    return made


@dataclass(frozen=True)
class CardScan:
    """What ``scan_due_cards`` did: cards written, and the tasks it looked at."""

    yellow: int = 0
    red: int = 0
    tasks: int = 0


def scan_due_cards(uow: UnitOfWork, now: datetime | None = None, *,
                   near_due: timedelta | None = None) -> CardScan:
    """Yellow cards (黄牌) for open tasks due within ``near_due`` (default: the runtime's
    setting, 3 days), red cards (红牌) for overdue ones — each task once per colour, to its
    assignee, else to its candidates. Idempotent; commits after every batch."""
    now = now or clock.now(uow)
    horizon = now + (near_due or config_of(uow).near_due)
    yellow = red = seen = 0
    after: tuple[datetime, uuid.UUID] | None = None
    while True:
        stmt = (select(*_TASK_COLUMNS)
                .join(ProcessDefinition, ProcessDefinition.id == HumanTask.definition_id)
                .where(HumanTask.state == TaskState.OPEN, HumanTask.due_at.is_not(None),
                       HumanTask.due_at < horizon)
                .order_by(HumanTask.due_at, HumanTask.id).limit(CHUNK))
        if after is not None:
            stmt = stmt.where(or_(HumanTask.due_at > after[0],
                                  and_(HumanTask.due_at == after[0], HumanTask.id > after[1])))
        batch = [_Task(*row) for row in uow.session.execute(stmt)]
        if not batch:
            break
        last = batch[-1]
        assert last.due_at is not None
        after, seen = (last.due_at, last.id), seen + len(batch)
        made = create(uow, _card_rows(uow, batch, now))
        yellow += sum(m.kind == NotificationKind.YELLOW_CARD for m in made)
        red += sum(m.kind == NotificationKind.RED_CARD for m in made)
        uow.commit()
    return CardScan(yellow=yellow, red=red, tasks=seen)


def _card_rows(uow: UnitOfWork, batch: list[_Task], now: datetime) -> list[dict[str, Any]]:
    ids = [t.id for t in batch]
    carded = {(task_id, kind) for task_id, kind in uow.session.execute(
        select(Notification.task_id, Notification.kind).where(
            Notification.task_id.in_(ids), Notification.kind.in_(CARDS)).distinct())}
    due: list[tuple[_Task, str]] = []
    for task in batch:
        assert task.due_at is not None
        kind = (NotificationKind.RED_CARD if task.due_at < now
                else NotificationKind.YELLOW_CARD).value
        if (task.id, kind) not in carded:
            due.append((task, kind))
    unassigned = [t.id for t, _k in due if t.assignee is None]
    candidates: dict[uuid.UUID, tuple[list[str], list[str]]] = defaultdict(lambda: ([], []))
    if unassigned:
        for task_id, kind, name in uow.session.execute(
                select(TaskCandidate.task_id, TaskCandidate.kind, TaskCandidate.name)
                .where(TaskCandidate.task_id.in_(unassigned))):
            candidates[task_id][0 if kind == "user" else 1].append(name)
    expanded = members(uow, {g for _u, gs in candidates.values() for g in gs})
    rows = []
    for task, kind in due:
        if task.assignee is not None:
            people = {task.assignee}
        else:
            users, groups = candidates[task.id]
            people = _recipients(uow, users, groups, expanded)
        rows += [_row(task, kind, person, now, dedupe=True) for person in sorted(people)]
    return rows


# ---------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class NotificationPage:
    rows: list[Notification]
    total: int
    unread: int


def list_notifications(uow: UnitOfWork, username: str, *, unread_only: bool = False,
                       limit: int = 25, offset: int = 0) -> NotificationPage:
    """A person's notifications, newest first."""
    where = [Notification.recipient == username]
    if unread_only:
        where.append(Notification.read_at.is_(None))
    rows = list(uow.session.scalars(select(Notification).where(*where)
                                    .order_by(Notification.id.desc())
                                    .limit(limit).offset(offset)))
    total = uow.session.scalar(select(func.count()).select_from(Notification).where(*where))
    return NotificationPage(rows, int(total or 0), unread_count(uow, username))


def unread_count(uow: UnitOfWork, username: str, cap: int = UNREAD_CAP) -> int:
    """Unread notifications of ``username``, counted up to ``cap``."""
    inner = (select(Notification.id).where(Notification.recipient == username,
                                           Notification.read_at.is_(None))
             .limit(cap).subquery())
    return int(uow.session.scalar(select(func.count()).select_from(inner)) or 0)


def get_notification(uow: UnitOfWork, username: str, notification_id: int) -> Notification:
    """One of ``username``'s notifications (someone else's is as good as missing)."""
    found = uow.session.get(Notification, notification_id)
    if found is None or found.recipient != username:
        raise NotFound(f"no notification {notification_id} for {username}")
    return found


def mark_read(uow: UnitOfWork, username: str, ids: Iterable[int] | None = None) -> int:
    """Mark ``ids`` (default: all) of ``username``'s notifications read; how many changed."""
    stmt = (update(Notification).where(Notification.recipient == username,
                                       Notification.read_at.is_(None))
            .values(read_at=clock.now(uow)).execution_options(synchronize_session=False))
    if ids is not None:
        wanted = sorted(set(ids))
        if not wanted:
            return 0
        stmt = stmt.where(Notification.id.in_(wanted))
    changed = int(getattr(uow.session.execute(stmt), "rowcount", 0) or 0)
    uow.commit()
    return changed


# ----------------------------------------------------------------------------- e-mail


def get_email(uow: UnitOfWork, username: str) -> str | None:
    row = uow.session.get(NotificationAddress, username)
    return row.email if row is not None else None


def set_email(uow: UnitOfWork, username: str, email: str | None) -> str | None:
    """Where ``username``'s notifications are e-mailed; empty or None: nowhere."""
    address = (email or "").strip()
    if address and (len(address) > 254 or not EMAIL.match(address)):
        raise ValidationFailed(f"'{address}' is not an e-mail address",
                               {"email": ["not an e-mail address"]})
    if uow.session.scalar(select(Account.id).where(Account.username == username)) is None:
        raise NotFound(f"no account '{username}'")
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


def _queue_mail(uow: UnitOfWork, made: list[Made]) -> None:
    """Queue the e-mails of ``made`` in the outbox (same transaction), for those who gave
    an address; they are sent once it commits, and retried if that fails."""
    settings = config_of(uow).smtp
    if not settings.enabled:
        return
    people = sorted({m.recipient for m in made})
    addresses: dict[str, str] = {}
    for chunk in _chunks(people):
        addresses.update((username, email) for username, email in uow.session.execute(
            select(NotificationAddress.username, NotificationAddress.email)
            .where(NotificationAddress.username.in_(chunk))))
    mail_outbox.queue(uow, [
        mail_outbox.Queued(m.recipient, compose(m, addresses[m.recipient], settings.base_url),
                           m.id) for m in made if m.recipient in addresses])


#: Subject lines per kind (Chinese first: the programme's language; English after).
SUBJECTS = {
    NotificationKind.TASK: "新任务:{subject} · New task",
    NotificationKind.DELEGATED: "转办给您的任务:{subject} · Task delegated to you",
    NotificationKind.YELLOW_CARD: "黄牌提醒:{subject} 即将到期 · Due soon",
    NotificationKind.RED_CARD: "红牌警示:{subject} 已逾期 · Overdue",
    NotificationKind.FEEDBACK: "群众意见待处理:{subject} · Public feedback to handle",
}
LEADS = {
    NotificationKind.TASK: "您有一项新任务。You have a new task.",
    NotificationKind.DELEGATED: "{actor} 把一项任务转办给您。{actor} handed you a task.",
    NotificationKind.YELLOW_CARD: "您的任务即将到期(黄牌)。A task of yours is due soon "
                                  "(yellow card).",
    NotificationKind.RED_CARD: "您的任务已经逾期(红牌)。A task of yours is overdue (red card).",
    NotificationKind.FEEDBACK: "公示期间收到一条群众意见,没有流程在等待受理,请您处理。"
                               "Public feedback arrived that no process was waiting for; "
                               "please handle it.",
}


#: A card without a task is a milestone's (``engine.programme.services.milestones``): about the
#: unit.
MILESTONE_LEADS = {
    NotificationKind.YELLOW_CARD: "您单位的工作进度未达到即将到期的工作节点要求(黄牌)。"
                                  "Your unit is not on track for a milestone due soon "
                                  "(yellow card).",
    NotificationKind.RED_CARD: "您单位未按期达到工作节点要求(红牌)。Your unit missed a milestone "
                               "(red card).",
}


def compose(made: Made, to: str, base_url: str | None = None) -> Mail:
    """The e-mail for one notification."""
    kind = NotificationKind(made.kind)
    lead = MILESTONE_LEADS.get(kind) if made.task_id is None else None
    lines = [lead or LEADS[kind].format(actor=made.actor or ""), "", f"  {made.subject}"]
    if made.process_name:
        lines.append(f"  流程 Process: {made.process_name}")
    if made.post_code:
        lines.append(f"  岗位 Post: {made.post_code}")
    if made.due_at is not None:
        due = made.due_at.astimezone(CHINA).strftime("%Y-%m-%d %H:%M")
        lines.append(f"  办理期限 Due: {due} (北京时间 Beijing time)")
    if made.detail:
        lines.append(f"  说明 Details: {made.detail}")
    if base_url:
        path = f"/tasks/{made.task_id}" if made.task_id else "/notifications"
        lines += ["", f"{base_url}{path}"]
    lines += ["", "—— 廉政风险防范管理 IRPM(本邮件由系统自动发送,请勿回复 · automatic message)"]
    subject = SUBJECTS[kind].format(subject=made.subject)
    return Mail(to=to, subject=f"【IRPM】{subject}", body="\n".join(lines))
