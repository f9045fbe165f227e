"""我参与的, row by row: where each instance the actor took part in stands now — its open
steps and who has each (the assignee, else its candidate groups) — and the actor's own
latest task in it, which the row opens. One page's rows are looked up together: two
indexed queries for the page, never one per row."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select

from ..actors import Actor
from ..db import UnitOfWork
from ..models import (
    ACTIVE_STATUSES,
    CandidateKind,
    HumanTask,
    ProcessInstance,
    TaskCandidate,
    TaskState,
)

__all__ = ["Involvement", "OpenStep", "halted", "involvement", "offered_to"]


@dataclass(frozen=True)
class OpenStep:
    name: str
    #: Who holds the step; None: nobody yet, its candidate ``groups`` may take it.
    assignee: str | None
    groups: tuple[str, ...] = ()


@dataclass(frozen=True)
class Involvement:
    #: The actor's latest completed task in the instance (what the row opens), or None.
    task_id: uuid.UUID | None = None
    current: list[OpenStep] = field(default_factory=list)


def involvement(uow: UnitOfWork, actor: Actor,
                instance_ids: Sequence[int]) -> dict[int, Involvement]:
    """For each of ``instance_ids``: the actor's latest task and the open steps."""
    ids = sorted(set(instance_ids))
    if not ids:
        return {}
    latest: dict[int, uuid.UUID] = {}
    for instance_id, task_id in uow.session.execute(
            select(HumanTask.instance_id, HumanTask.id)
            .where(HumanTask.instance_id.in_(ids), HumanTask.completed_by == actor.user)
            .order_by(HumanTask.completed_at.desc(), HumanTask.id)):
        latest.setdefault(instance_id, task_id)
    open_tasks = list(uow.session.scalars(
        select(HumanTask).where(HumanTask.instance_id.in_(ids),
                                HumanTask.state == TaskState.OPEN)
        .order_by(HumanTask.created_at, HumanTask.name)))
    groups = offered_to(uow, [t.id for t in open_tasks if not t.assignee])
    steps: dict[int, list[OpenStep]] = {}
    for task in open_tasks:
        steps.setdefault(task.instance_id, []).append(
            OpenStep(task.name, task.assignee, groups.get(task.id, ())))
    return {i: Involvement(latest.get(i), steps.get(i, [])) for i in ids}


def offered_to(uow: UnitOfWork, task_ids: Sequence[uuid.UUID]
               ) -> dict[uuid.UUID, tuple[str, ...]]:
    """The candidate groups of each of ``task_ids`` (one query), by name."""
    groups: dict[uuid.UUID, list[str]] = {}
    if task_ids:
        for task_id, name in uow.session.execute(
                select(TaskCandidate.task_id, TaskCandidate.name)
                .where(TaskCandidate.task_id.in_(sorted(set(task_ids), key=str)),
                       TaskCandidate.kind == CandidateKind.GROUP)
                .order_by(TaskCandidate.name)):
            groups.setdefault(task_id, []).append(name)
    return {task_id: tuple(names) for task_id, names in groups.items()}


def halted(uow: UnitOfWork, instance_ids: Sequence[int]) -> dict[int, str]:
    """Of ``instance_ids``, those suspended, ended or in error, with their status: their
    tasks are listed but cannot be worked on, and a list says so (one query)."""
    ids = sorted(set(instance_ids))
    if not ids:
        return {}
    return {instance_id: str(status) for instance_id, status in uow.session.execute(
        select(ProcessInstance.id, ProcessInstance.status).where(
            ProcessInstance.id.in_(ids), ProcessInstance.status.not_in(ACTIVE_STATUSES)))}
