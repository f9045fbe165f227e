"""Yellow and red cards (黄牌 / 红牌) for open tasks near or past their due date.

``scan_due_cards(uow, now)`` is what a scheduler (or ``irpm notifications scan``) calls. It
is idempotent — a task gets one yellow and one red card, however often it runs: a card's
row carries a ``dedupe_key`` that the insert skips when it exists. A card goes to the
task's assignee, else to its candidates (its users and the members of its groups, less whom
it excludes: 回避); it is
a notification like any other (``engine.services.notifications``), e-mailed when SMTP is
configured.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select

from ..db import UnitOfWork
from ..models import (
    CandidateKind,
    HumanTask,
    Notification,
    NotificationKind,
    ProcessDefinition,
    TaskCandidate,
    TaskState,
)
from . import clock, notifications

CARDS = (NotificationKind.YELLOW_CARD.value, NotificationKind.RED_CARD.value)


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
    horizon = now + (near_due or notifications.config_of(uow).near_due)
    yellow = red = seen = 0
    after: tuple[datetime, uuid.UUID] | None = None
    while True:
        stmt = (select(*notifications.TASK_COLUMNS)
                .join(ProcessDefinition, ProcessDefinition.id == HumanTask.definition_id)
                .where(HumanTask.state == TaskState.OPEN, HumanTask.due_at.is_not(None),
                       HumanTask.due_at < horizon)
                .order_by(HumanTask.due_at, HumanTask.id).limit(notifications.CHUNK))
        if after is not None:
            stmt = stmt.where(or_(HumanTask.due_at > after[0],
                                  and_(HumanTask.due_at == after[0], HumanTask.id > after[1])))
        batch = [notifications.TaskFacts(*row) for row in uow.session.execute(stmt)]
        if not batch:
            break
        last = batch[-1]
        assert last.due_at is not None
        after, seen = (last.due_at, last.id), seen + len(batch)
        made = notifications.create(uow, _card_rows(uow, batch, now))
        yellow += sum(m.kind == NotificationKind.YELLOW_CARD for m in made)
        red += sum(m.kind == NotificationKind.RED_CARD for m in made)
        uow.commit()
    return CardScan(yellow=yellow, red=red, tasks=seen)


def _card_rows(uow: UnitOfWork, batch: list[notifications.TaskFacts],
               now: datetime) -> list[dict[str, Any]]:
    ids = [t.id for t in batch]
    carded = {(task_id, kind) for task_id, kind in uow.session.execute(
        select(Notification.task_id, Notification.kind).where(
            Notification.task_id.in_(ids), Notification.kind.in_(CARDS)).distinct())}
    due: list[tuple[notifications.TaskFacts, str]] = []
    for task in batch:
        assert task.due_at is not None
        kind = (NotificationKind.RED_CARD if task.due_at < now
                else NotificationKind.YELLOW_CARD).value
        if (task.id, kind) not in carded:
            due.append((task, kind))
    unassigned = [t.id for t, _k in due if t.assignee is None]
    # Per task: candidate users, groups, and the users and groups it excludes (回避).
    slot = {CandidateKind.USER: 0, CandidateKind.GROUP: 1, CandidateKind.EXCLUDED_USER: 2,
            CandidateKind.EXCLUDED_GROUP: 3}
    candidates: dict[uuid.UUID, tuple[list[str], ...]] = defaultdict(lambda: ([], [], [], []))
    if unassigned:
        for task_id, kind, name in uow.session.execute(
                select(TaskCandidate.task_id, TaskCandidate.kind, TaskCandidate.name)
                .where(TaskCandidate.task_id.in_(unassigned))):
            candidates[task_id][slot[CandidateKind(kind)]].append(name)
    expanded = uow.runtime.directory.members(
        uow, {g for named in candidates.values() for g in (*named[1], *named[3])})
    rows = []
    for task, kind in due:
        if task.assignee is not None:
            people = {task.assignee}
        else:
            users, groups, ex_users, ex_groups = candidates[task.id]
            people = (notifications.recipients(uow, users, groups, expanded)
                      - notifications.recipients(uow, ex_users, ex_groups, expanded))
        rows += [notifications.task_row(task, kind, person, now, dedupe=True)
                 for person in sorted(people)]
    return rows
