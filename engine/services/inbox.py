"""The inbox: which tasks an actor sees — filtered, searched, sorted and paged.

One indexed statement over the task table for a page's ids, then its rows (joined by
primary keys to their instance and definition) and the names behind their unit, department
and post codes — asked of the runtime's ``TaskColumns`` for the page's few codes at once
(``engine.task_columns``) — no workflow is ever deserialized here; plus a count capped at
``COUNT_CAP``, so a page of an inbox of hundreds of thousands of tasks costs about what a
page of a small one does. Who is a candidate for what is ``task_access``'s rule.

Warnings follow the glossary: a task due within ``near_due`` carries a yellow card (黄牌),
one past its due time a red card (红牌).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Select, and_, func, or_, select, union

from ..actors import Actor
from ..db import UnitOfWork
from ..errors import Forbidden, ValidationFailed
from ..models import HumanTask, ProcessDefinition, ProcessInstance, TaskState
from ..task_columns import TaskColumns, TaskLabels
from . import clock, task_access

VIEWS = ("mine", "claimable", "open", "done", "all")
DUE_STATES = ("overdue", "near", "later", "none")
#: Sort keys, each a column of the listing.
SORT_KEYS = ("name", "process", "unit", "post", "business_key", "created", "due", "completed")
#: Counts stop here: "more than 10,000" is all a person needs to know.
COUNT_CAP = 10_000
#: A search counts no further: each match costs a LIKE over the name and the post (no index
#: serves ``%text%``), and "1000+" tells a searcher to narrow it as well as "10000+" does.
SEARCH_COUNT_CAP = 1_000
_S = TypeVar("_S", bound=Select[*tuple[Any, ...]])
DEFAULT_NEAR_DUE = timedelta(days=3)
YELLOW_CARD, RED_CARD = "yellow_card", "red_card"


@dataclass(frozen=True)
class TaskFilter:
    """Inbox views: ``mine`` (assigned to me), ``claimable`` (my groups, unclaimed), ``open``
    (both), ``done`` (completed by me), ``all`` (admins). ``due`` is one of ``DUE_STATES``;
    ``search`` matches the task's name and its post (its code, and whatever the runtime's
    ``task_columns`` adds: the programme's post names); ``sort`` is one of ``SORT_KEYS``
    (default: due date ascending, or completion descending for ``done``)."""

    view: str = "mine"
    process_id: str | None = None
    unit_code: str | None = None
    due: str | None = None
    search: str | None = None
    sort: str | None = None
    descending: bool = False
    limit: int = 100
    offset: int = 0
    near_due: timedelta = field(default=DEFAULT_NEAR_DUE)


def _view(actor: Actor, view: str) -> list[Any]:
    is_open = HumanTask.state == TaskState.OPEN
    if view == "mine":
        return [is_open, HumanTask.assignee == actor.user]
    if view == "claimable":  # joined to the candidate task ids in _joined
        return [is_open, HumanTask.assignee.is_(None)]
    if view == "open":
        return [is_open, or_(HumanTask.assignee == actor.user, and_(
            HumanTask.assignee.is_(None),
            HumanTask.id.in_(task_access.candidate_task_ids(actor))))]
    if view == "done":
        return [HumanTask.state == TaskState.COMPLETED, HumanTask.completed_by == actor.user]
    if view == "all" and actor.is_admin:
        return []
    if view == "all":
        raise Forbidden("only administrators can list every task")
    raise ValidationFailed(f"unknown view '{view}'; use one of {', '.join(VIEWS)}",
                           {"view": ["unknown"]})


def _due(state: str, now: datetime | None, near_due: timedelta) -> Any:
    if state not in DUE_STATES:
        raise ValidationFailed(f"unknown due state '{state}'; use one of "
                               f"{', '.join(DUE_STATES)}", {"due": ["unknown"]})
    if state == "none":
        return HumanTask.due_at.is_(None)
    if now is None:
        raise ValueError("filtering by due state needs the current time")
    if state == "overdue":
        return HumanTask.due_at < now
    if state == "near":
        return and_(HumanTask.due_at >= now, HumanTask.due_at < now + near_due)
    return HumanTask.due_at >= now + near_due


def like_pattern(text: str) -> str:
    """``text`` as a LIKE pattern matching it anywhere, wildcards in it taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _search(pattern: str, columns: TaskColumns) -> Any:
    """The task's name or post code matches, or what the runtime's task columns add (the
    programme: the post's name)."""
    matches = [HumanTask.name.ilike(pattern, escape="\\"),
               HumanTask.post_code.ilike(pattern, escape="\\")]
    extra = columns.search(pattern)
    return or_(*matches, *([extra] if extra is not None else []))


def _conditions(actor: Actor, flt: TaskFilter, now: datetime | None,
                columns: TaskColumns) -> list[Any]:
    conditions = _view(actor, flt.view)
    if flt.process_id:  # the definitions of the process: a handful of ids, no join
        conditions.append(HumanTask.definition_id.in_(
            select(ProcessDefinition.id).where(ProcessDefinition.process_id == flt.process_id)))
    if flt.unit_code:
        conditions.append(HumanTask.unit_code == flt.unit_code)
    if flt.due:
        conditions.append(_due(flt.due, now, flt.near_due))
    if flt.search and flt.search.strip():
        conditions.append(_search(like_pattern(flt.search.strip()), columns))
    return conditions


def _joined(stmt: _S, actor: Actor, flt: TaskFilter, *, for_display: bool,
            for_sort: bool = False) -> _S:
    """The joins a statement needs, and no more: for 待认领, the ids of the tasks the actor is
    a candidate for (a join, so the planner starts from those few ids); the instance and the
    definition only to show them or sort by them. A count, or the ids of a page, reads the
    task table alone whenever it can — a needless join lets a planner start from the joined
    table and visit every task."""
    if flt.view == "claimable":
        eligible = task_access.candidate_task_ids(actor).subquery("eligible")
        stmt = stmt.join(eligible, eligible.c.task_id == HumanTask.id)
    if for_display or (for_sort and flt.sort == "business_key"):
        stmt = stmt.join(ProcessInstance, ProcessInstance.id == HumanTask.instance_id)
    if for_display or (for_sort and flt.sort == "process"):
        stmt = stmt.join(ProcessDefinition, ProcessDefinition.id == HumanTask.definition_id)
    return stmt


def task_query(actor: Actor, flt: TaskFilter, now: datetime | None = None, *,
               columns: TaskColumns) -> Select[HumanTask]:
    """The tasks ``flt`` selects for ``actor``, as ORM rows (unsorted); a search also
    matches what ``columns`` (the runtime's ``task_columns``) adds."""
    return _joined(select(HumanTask), actor, flt, for_display=False, for_sort=True).where(
        *_conditions(actor, flt, now, columns))


_SORT_COLUMNS: dict[str, Any] = {
    "name": HumanTask.name, "process": ProcessDefinition.name, "unit": HumanTask.unit_code,
    "post": HumanTask.post_code, "business_key": ProcessInstance.business_key,
    "created": HumanTask.created_at, "due": HumanTask.due_at,
    "completed": HumanTask.completed_at,
}


def order_by(flt: TaskFilter) -> tuple[Any, ...]:
    """Empty values last either way; ties broken by creation, then id (a stable order)."""
    key, descending = flt.sort, flt.descending
    if key is None:
        key, descending = ("completed", True) if flt.view == "done" else ("due", False)
    if key not in SORT_KEYS:
        raise ValidationFailed(f"cannot sort by '{key}'; use one of {', '.join(SORT_KEYS)}",
                               {"sort": ["unknown"]})
    column = _SORT_COLUMNS[key]
    # ``IS NULL`` first rather than NULLS LAST: it keeps planners from walking a date index
    # in order through every open task; a person's inbox is filtered first, then sorted.
    return (column.is_(None), column.desc() if descending else column.asc(),
            HumanTask.created_at, HumanTask.id)


@dataclass(frozen=True)
class InboxRow:
    id: Any
    name: str
    element_id: str
    state: str
    assignee: str | None
    instance_id: int
    process_id: str
    process_name: str
    business_key: str | None
    unit_code: str | None
    unit_name: str | None
    department_code: str | None
    department_name: str | None
    post_code: str | None
    post_name: str | None
    created_at: datetime
    due_at: datetime | None
    completed_at: datetime | None
    completed_by: str | None
    #: ``yellow_card`` / ``red_card`` for an open task near or past its due time.
    card: str | None = None
    #: The post's risk level (1–3) as last graded (the programme: ``PostGrading``, the latest
    #: year, an override counts), None while the post has none — what decides who answers
    #: for it. Names and level come from the runtime's ``task_columns``.
    post_level: int | None = None
    #: An administrators' task: no lane, no candidates (``task_access``) — only
    #: administrators may take it, and the inbox says so.
    administrators_only: bool = False


_ROW_COLUMNS = (HumanTask.id, HumanTask.name, HumanTask.element_id, HumanTask.state,
                HumanTask.assignee, HumanTask.instance_id, ProcessInstance.process_id,
                ProcessDefinition.name.label("process_name"), ProcessInstance.business_key,
                HumanTask.unit_code, HumanTask.department_code, HumanTask.post_code,
                HumanTask.created_at, HumanTask.due_at, HumanTask.completed_at,
                HumanTask.completed_by, HumanTask.administrators_only)


def due_card(state: str, due_at: datetime | None, now: datetime,
             near_due: timedelta = DEFAULT_NEAR_DUE) -> str | None:
    """红牌 when an open task is overdue, 黄牌 when it falls due within ``near_due``."""
    if state != TaskState.OPEN or due_at is None:
        return None
    if due_at < now:
        return RED_CARD
    return YELLOW_CARD if due_at < now + near_due else None


@dataclass(frozen=True)
class InboxPage:
    rows: list[InboxRow]
    #: How many tasks match, counted up to ``COUNT_CAP`` (``capped`` says it stopped there).
    total: int
    capped: bool
    now: datetime


def count_tasks(uow: UnitOfWork, actor: Actor, flt: TaskFilter, now: datetime | None = None,
                cap: int = COUNT_CAP) -> int:
    """How many tasks ``flt`` selects, counting no further than ``cap + 1``."""
    ids = _joined(select(HumanTask.id), actor, flt, for_display=False).where(
        *_conditions(actor, flt, now, uow.runtime.task_columns)).limit(cap + 1)
    return uow.session.scalar(select(func.count()).select_from(ids.subquery())) or 0


def inbox_page(uow: UnitOfWork, actor: Actor, flt: TaskFilter | None = None) -> InboxPage:
    """One page of the actor's inbox, with names for display and due cards, as of the
    engine's clock (simulated or not)."""
    flt = flt or TaskFilter()
    now = clock.now(uow)
    cap = SEARCH_COUNT_CAP if flt.search and flt.search.strip() else COUNT_CAP
    total = count_tasks(uow, actor, flt, now, cap)
    columns = uow.runtime.task_columns
    # The page's ids first, from the task table (and what the filter or sort needs); then
    # the rows to show and the names behind their codes, for those few ids only.
    ids = list(uow.session.scalars(
        _joined(select(HumanTask.id), actor, flt, for_display=False, for_sort=True)
        .where(*_conditions(actor, flt, now, columns)).order_by(*order_by(flt))
        .limit(flt.limit).offset(flt.offset)))
    found = []
    if ids:
        position = {task_id: index for index, task_id in enumerate(ids)}
        found = sorted(uow.session.execute(
            _joined(select(*_ROW_COLUMNS).select_from(HumanTask), actor,
                    TaskFilter(view="all"), for_display=True).where(HumanTask.id.in_(ids))),
            key=lambda row: position[row.id])
    labels = _labels(uow, columns, found)
    rows = [InboxRow(**row._asdict(), unit_name=labels.unit_names.get(row.unit_code or ""),
                     department_name=labels.department_names.get(row.department_code or ""),
                     post_name=labels.post_names.get(row.post_code or ""),
                     card=due_card(row.state, row.due_at, now, flt.near_due),
                     post_level=labels.post_levels.get(row.post_code or ""))
            for row in found]
    return InboxPage(rows, min(total, cap), total > cap, now)


def _labels(uow: UnitOfWork, columns: TaskColumns, rows: list[Any]) -> TaskLabels:
    """The names behind the page's codes: one call for the whole page, none for no rows."""
    if not rows:
        return TaskLabels()
    return columns.labels(
        uow, unit_codes={r.unit_code for r in rows if r.unit_code},
        department_codes={r.department_code for r in rows if r.department_code},
        post_codes={r.post_code for r in rows if r.post_code})


def inbox_counts(uow: UnitOfWork, actor: Actor, cap: int = 999) -> dict[str, int]:
    """Open tasks per view for the navigation, each counted up to ``cap + 1``."""
    return {view: count_tasks(uow, actor, TaskFilter(view=view), cap=cap)
            for view in ("mine", "claimable")}


def list_tasks(uow: UnitOfWork, actor: Actor, flt: TaskFilter | None = None
               ) -> tuple[list[HumanTask], int]:
    """Task rows (ORM objects, with their candidates) and how many match, uncapped."""
    flt = flt or TaskFilter()
    now = clock.now(uow) if flt.due else None
    stmt = task_query(actor, flt, now, columns=uow.runtime.task_columns)
    total = uow.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = uow.session.scalars(stmt.order_by(*order_by(flt)).limit(flt.limit)
                               .offset(flt.offset))
    return list(rows), total


# ------------------------------------------------------------------- instances I took part in


@dataclass(frozen=True)
class InvolvedRow:
    id: int
    process_id: str
    process_name: str
    business_key: str | None
    status: str
    started_at: datetime
    updated_at: datetime
    started_by: str | None


def _involved_ids(actor: Actor) -> Any:
    """Instances the actor started or completed a task in — two indexed lookups."""
    return union(select(HumanTask.instance_id).where(HumanTask.completed_by == actor.user),
                 select(ProcessInstance.id).where(ProcessInstance.started_by == actor.user))


def involved_instances(uow: UnitOfWork, actor: Actor, *, process_id: str | None = None,
                       limit: int = 100, offset: int = 0) -> tuple[list[InvolvedRow], int]:
    """我参与的: the instances the actor took part in, most recently changed first, and how
    many there are (up to ``COUNT_CAP``)."""
    ids = _involved_ids(actor).subquery()
    where: list[Any] = [ProcessInstance.id.in_(select(ids.c[0]))]
    if process_id:
        where.append(ProcessInstance.process_id == process_id)
    capped = select(ProcessInstance.id).where(*where).limit(COUNT_CAP + 1).subquery()
    total = uow.session.scalar(select(func.count()).select_from(capped)) or 0
    stmt = (select(ProcessInstance.id, ProcessInstance.process_id, ProcessDefinition.name,
                   ProcessInstance.business_key, ProcessInstance.status,
                   ProcessInstance.started_at, ProcessInstance.updated_at,
                   ProcessInstance.started_by)
            .join(ProcessDefinition, ProcessDefinition.id == ProcessInstance.definition_id)
            .where(*where).order_by(ProcessInstance.updated_at.desc(), ProcessInstance.id.desc())
            .limit(limit).offset(offset))
    return [InvolvedRow(*row) for row in uow.session.execute(stmt)], min(total, COUNT_CAP)


def process_choices(uow: UnitOfWork) -> list[tuple[str, str]]:
    """(process id, name of its latest version) for every deployed process, by name — what an
    inbox filters by. Reads the definitions table only (a handful of rows)."""
    names: dict[str, str] = {}
    for process_id, name in uow.session.execute(
            select(ProcessDefinition.process_id, ProcessDefinition.name)
            .order_by(ProcessDefinition.process_id, ProcessDefinition.version)):
        names[process_id] = name
    return sorted(names.items(), key=lambda item: (item[1], item[0]))
