"""Notifications (通知): in the app, and by e-mail when SMTP is configured.

Who is told what:

- ``task`` — a task was created: its candidate users and the members of its groups, but
  not whom it excludes (回避);
- ``delegated`` — a task was handed to someone (转办): that person;
- ``yellow_card`` / ``red_card`` — an open task falls due within ``near_due`` (黄牌; default
  3 days) / is overdue (红牌): its assignee, else its candidates
  (``engine.services.due_cards``);
- ``feedback`` — public feedback no process took (``engine.programme.services.feedback``): the
  unit's discipline officer.

New tasks and delegations come from the engine itself: ``install(rt)`` (done by
``engine.programme.composition``) registers ``notify_events`` as an event writer of the
runtime, which hands it the ``task_created`` / ``task_rerouted`` / ``task_delegated`` events
of every transaction just before that transaction commits; the notifications (and their
e-mails, in the outbox) are written in it — the step and whom it tells commit together,
once, with no second transaction after every step.

A group is turned into its people when the notification is made — the runtime's directory
says who is in it (``Directory.members``) — so the list of a person is one indexed query, and
e-mail knows whom to write to. ``create`` writes the rows and queues their e-mails in the same
transaction (``engine.services.notification_mail``).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from ..db import UnitOfWork
from ..errors import NotFound
from ..mail import SmtpSettings
from ..models import (
    EventType,
    HumanTask,
    Notification,
    NotificationKind,
    ProcessDefinition,
    TaskState,
)
from ..runtime import Runtime
from ..settings import DEFAULT_NEAR_DUE
from . import clock, notification_mail

if TYPE_CHECKING:
    pass

log = logging.getLogger(__name__)

KEY = "notifications"
#: The events that make notifications.
EVENTS = frozenset({EventType.TASK_CREATED.value, EventType.TASK_DELEGATED.value,
                    EventType.TASK_REROUTED.value})
#: Events after which a task's notifications have nothing left to ask (``tasks_done``).
_ENDED = frozenset({EventType.TASK_COMPLETED.value, EventType.TASK_CANCELLED.value})
#: Events that hand a task to candidates: each new candidate is told, as of a new task.
_TO_CANDIDATES = (EventType.TASK_CREATED.value, EventType.TASK_REROUTED.value)
#: Rows per statement when looking up or inserting many.
CHUNK = 500
#: Unread counts stop here ("99+" is all a badge needs).
UNREAD_CAP = 1000


@dataclass(frozen=True)
class NotificationConfig:
    """What a runtime's notifications use: SMTP (off unless configured) and the yellow-card
    horizon."""

    smtp: SmtpSettings = field(default_factory=SmtpSettings)
    near_due: timedelta = DEFAULT_NEAR_DUE


def install(rt: Runtime, *, smtp: SmtpSettings | None = None,
            near_due: timedelta | None = None) -> Runtime:
    """Notify people of new and delegated tasks made through ``rt``; e-mail through ``smtp``
    and card tasks due within ``near_due`` (defaults: the runtime's settings,
    ``engine.settings``)."""
    rt.extensions[KEY] = NotificationConfig(smtp if smtp is not None else rt.settings.smtp,
                                            near_due or rt.settings.near_due)
    rt.add_event_writer(notify_events)
    return rt


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


def tasks_done(uow: UnitOfWork, task_ids: Sequence[uuid.UUID], now: datetime) -> int:
    """Mark read every unread notification of ``task_ids`` — tasks completed or cancelled:
    a 新任务 or a card that stays unread once the task is done sends people to a task with
    nothing left to do. How many changed; does not commit (the step's own transaction)."""
    changed = 0
    for part in chunks(list(task_ids)):
        result = uow.session.execute(
            update(Notification).where(Notification.task_id.in_(part),
                                       Notification.read_at.is_(None))
            .values(read_at=now).execution_options(synchronize_session=False))
        changed += int(getattr(result, "rowcount", 0) or 0)
    return changed


# ----------------------------------------------------------------------------- who


def recipients(uow: UnitOfWork, users: Iterable[str], groups: Iterable[str],
               expanded: dict[str, set[str]] | None = None) -> set[str]:
    """``users`` and the members of ``groups`` (``expanded``: their members, if known; else
    the runtime's directory is asked)."""
    groups = list(groups)
    expanded = expanded if expanded is not None else uow.runtime.directory.members(uow, groups)
    people = set(users)
    for group in groups:
        people |= expanded.get(group, set())
    return people


def chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


# ---------------------------------------------------------------------------- making


@dataclass(frozen=True)
class TaskFacts:
    """What a notification about a task copies from it (``TASK_COLUMNS``, in this order)."""

    id: uuid.UUID
    name: str
    instance_id: int
    unit_code: str | None
    post_code: str | None
    due_at: datetime | None
    assignee: str | None
    state: str
    process_name: str


TASK_COLUMNS = (HumanTask.id, HumanTask.name, HumanTask.instance_id, HumanTask.unit_code,
                HumanTask.post_code, HumanTask.due_at, HumanTask.assignee, HumanTask.state,
                ProcessDefinition.name)


#: Built once: read in the transaction of every step that creates tasks.
_FACTS = (select(*TASK_COLUMNS)
          .join(ProcessDefinition, ProcessDefinition.id == HumanTask.definition_id)
          .where(HumanTask.id.in_(bindparam("b_ids", expanding=True))))


def task_facts(uow: UnitOfWork, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, TaskFacts]:
    """The facts of the tasks ``ids`` that exist, by id (columns only: on the connection,
    past the ORM's execution layer)."""
    found: dict[uuid.UUID, TaskFacts] = {}
    connection = uow.session.connection()
    for chunk in chunks(sorted(set(ids))):
        for row in connection.execute(_FACTS, {"b_ids": list(chunk)}):
            found[row[0]] = TaskFacts(*row)
    return found


def task_row(task: TaskFacts, kind: str, recipient: str, now: datetime, *,
             actor: str | None = None, detail: str | None = None,
             dedupe: bool = False) -> dict[str, Any]:
    """A notification row about ``task`` for ``create``; ``dedupe``: at most one of its
    ``kind`` per task and recipient (the cards)."""
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
    for chunk in chunks(rows):
        made += [Made(**row._asdict()) for row in uow.session.execute(stmt, list(chunk))]
    if made:
        notification_mail.queue(uow, made, config_of(uow).smtp)
    return made


def notify_events(uow: UnitOfWork, events: list[dict[str, Any]]) -> list[Made]:
    """Notifications for ``task_created``, ``task_rerouted`` and ``task_delegated`` events (as
    the engine wrote them: ``data`` holds the candidates — for a re-routed task also whom it
    had before, who are not told again — or who handed the task to whom and why), made as
    of the event, in the transaction that wrote the events (the runtime's event writer,
    called just before it commits: a task cancelled again by then is nobody's news).
    Notifications of the tasks these events completed or cancelled are marked read in the
    same transaction (``tasks_done``). Does not commit."""
    ended = sorted({uuid.UUID(str(e["task_id"])) for e in events
                    if e.get("type") in _ENDED and e.get("task_id") is not None}, key=str)
    if ended:
        tasks_done(uow, ended, max(e["at"] for e in events if e.get("type") in _ENDED))
    events = [e for e in events if e.get("type") in EVENTS and e.get("task_id") is not None]
    if not events:
        return []
    tasks = task_facts(uow, (e["task_id"] for e in events))
    created = [e for e in events if e["type"] in _TO_CANDIDATES]
    groups = {g for e in created for g in (e.get("data") or {}).get("groups") or ()}
    expanded = uow.runtime.directory.members(uow, groups)
    rows = []
    for event in events:
        task, data = tasks.get(event["task_id"]), event.get("data") or {}
        if task is None or task.state != TaskState.OPEN:
            continue  # gone again (cancelled in the same step) or rolled back
        if event["type"] in _TO_CANDIDATES:
            people = recipients(uow, data.get("users") or (), data.get("groups") or (),
                                expanded)
            if event["type"] == EventType.TASK_REROUTED.value:  # only the new candidates
                before = [str(name) for name in data.get("from") or ()]
                people -= recipients(uow, before, before)
            # 回避: whom the task excludes is not told of it (engine.separation).
            people -= set((data.get("excluded") or {}).get("logins") or ())
            rows += [task_row(task, NotificationKind.TASK.value, person, event["at"],
                              detail=data.get("reason"))
                     for person in sorted(people)]
        elif event["type"] == EventType.TASK_DELEGATED.value and data.get("to"):
            rows.append(task_row(task, NotificationKind.DELEGATED.value, str(data["to"]),
                                 event["at"], actor=event.get("actor"),
                                 detail=data.get("reason")))
    return create(uow, rows)


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
