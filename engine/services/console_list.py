"""The console's instance list: every filter an administrator needs to find instances among
100,000, answered from indexes without opening a workflow.

Pages are keyset-paginated on ``(sort column, id)``: the next page starts after the last
row's values, so page 400 costs what page 1 costs (an OFFSET would scan every skipped row).
The unit and a variable's value come from ``instance_variable`` (see ``engine.variables``),
the current step and "overdue" from the open rows of the task mirror.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, or_, select

from ..db import UnitOfWork
from ..errors import ValidationFailed
from ..models import (
    HumanTask,
    InstanceStatus,
    InstanceVariable,
    ProcessDefinition,
    ProcessInstance,
    TaskState,
)
from ..variables import MAX_NAME, MAX_VALUE
from . import clock

__all__ = [
    "COUNT_CAP",
    "SORTS",
    "DefinitionChoice",
    "InstancePage",
    "InstanceQuery",
    "InstanceRow",
    "definition_choices",
    "list_console_instances",
    "matching_instance_ids",
    "step_choices",
]

#: The unit an instance belongs to is its ``unit_code`` variable.
UNIT_VARIABLE = "unit_code"
#: The list counts matches up to here ("1000+"): counting 80,000 waiting instances of a
#: unit probes every one of them; the batch form says the exact number when it is created.
COUNT_CAP = 1_000
SORTS = {"updated": ProcessInstance.updated_at, "started": ProcessInstance.started_at,
         "id": ProcessInstance.id}
PAGE_SIZES = (25, 50, 100)


@dataclass(frozen=True)
class InstanceQuery:
    process: str | None = None
    version: int | None = None
    status: str | None = None
    unit: str | None = None
    #: A prefix of the business key (a post code finds all its cycles).
    business_key: str | None = None
    #: The element id of an open task (where instances wait).
    step: str | None = None
    overdue: bool = False
    started_from: datetime | None = None
    started_to: datetime | None = None
    updated_from: datetime | None = None
    updated_to: datetime | None = None
    var_name: str | None = None
    var_value: str | None = None
    sort: str = "updated"
    descending: bool = True
    limit: int = 50
    #: Keyset cursor: the last row of the previous page, as ``cursor()`` spelled it.
    after: str | None = None

    def as_params(self) -> dict[str, Any]:
        """The query as JSON (for saved filters and batches), without its page position."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "after" or value is None or value == f.default:
                continue
            out[f.name] = value.isoformat() if isinstance(value, datetime) else value
        return out

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> InstanceQuery:
        """The inverse of ``as_params`` (trusted input: what ``as_params`` wrote)."""
        values = dict(params)
        for name in ("started_from", "started_to", "updated_from", "updated_to"):
            if isinstance(values.get(name), str):
                values[name] = datetime.fromisoformat(values[name])
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})


@dataclass(frozen=True)
class InstanceRow:
    id: int
    process_id: str
    process_name: str | None
    version: int
    business_key: str | None
    status: str
    started_at: datetime
    updated_at: datetime
    unit: str | None = None
    error_element: str | None = None
    #: The open tasks: (element id, name), and whether one is overdue.
    steps: list[tuple[str, str]] = field(default_factory=list)
    overdue: bool = False


@dataclass(frozen=True)
class InstancePage:
    rows: list[InstanceRow]
    #: Cursor of the next page, or None on the last page.
    next_after: str | None
    total: int
    capped: bool


def validate(query: InstanceQuery) -> None:
    """Refuse a query that cannot mean anything, naming the field and the fix."""
    errors = _choice_errors(query) | _value_errors(query)
    if query.after is not None and _parse_cursor(query) is None:
        errors["after"] = ["not a page position this list gave out; start from the first page"]
    if errors:
        raise ValidationFailed("the instance filter is invalid: " + "; ".join(
            f"{name}: {messages[0]}" for name, messages in errors.items()),
            dict(errors))


def _choice_errors(query: InstanceQuery) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    statuses = [s.value for s in InstanceStatus]
    if query.status is not None and query.status not in statuses:
        errors["status"] = [f"unknown status; use one of {', '.join(statuses)}"]
    if query.version is not None and not query.process:
        errors["version"] = ["a version needs a process: choose the process first"]
    if query.sort not in SORTS:
        errors["sort"] = [f"sort by one of {', '.join(SORTS)}"]
    if query.limit not in PAGE_SIZES:
        errors["limit"] = [f"a page has {', '.join(map(str, PAGE_SIZES))} rows"]
    return errors


def _value_errors(query: InstanceQuery) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if query.var_value is not None and not query.var_name:
        errors["var_name"] = ["name the variable whose value to match"]
    if query.var_name is not None and len(query.var_name) > MAX_NAME:
        errors["var_name"] = [f"a variable name has at most {MAX_NAME} characters"]
    if query.var_value is not None and len(query.var_value) > MAX_VALUE:
        errors["var_value"] = [f"a value has at most {MAX_VALUE} characters"]
    for low, high in (("started_from", "started_to"), ("updated_from", "updated_to")):
        a, b = getattr(query, low), getattr(query, high)
        if a is not None and b is not None and a > b:
            errors[low] = [f"the range starts after it ends ({high})"]
    return errors


def _parse_cursor(query: InstanceQuery) -> tuple[Any, int] | None:
    value, sep, ident = (query.after or "").rpartition("~")
    if not sep or not ident.isdigit():
        return None
    if query.sort == "id":
        return (int(ident), int(ident)) if value == ident else None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)), int(ident)


def _cursor(query: InstanceQuery, row: InstanceRow) -> str:
    if query.sort == "id":
        return f"{row.id}~{row.id}"
    value = row.updated_at if query.sort == "updated" else row.started_at
    return f"{value.isoformat()}~{row.id}"


def _conditions(uow: UnitOfWork, query: InstanceQuery) -> list[ColumnElement[bool]]:
    pi = ProcessInstance
    where: list[ColumnElement[bool]] = []
    if query.process:
        where.append(pi.process_id == query.process)
    if query.version is not None:
        where.append(pi.definition_id.in_(select(ProcessDefinition.id).where(
            ProcessDefinition.process_id == query.process,
            ProcessDefinition.version == query.version).scalar_subquery()))
    if query.status:
        where.append(pi.status == query.status)
    if query.business_key:
        # A range, not LIKE: it uses the index on both databases whatever the collation.
        where.append(and_(pi.business_key >= query.business_key,
                          pi.business_key < query.business_key + "\uffff"))
    for lo, hi, column in ((query.started_from, query.started_to, pi.started_at),
                           (query.updated_from, query.updated_to, pi.updated_at)):
        if lo is not None:
            where.append(column >= lo)
        if hi is not None:
            where.append(column < hi)
    return where + _variable_conditions(query) + _task_conditions(uow, query)


def _variable_conditions(query: InstanceQuery) -> list[ColumnElement[bool]]:
    pi, iv = ProcessInstance, InstanceVariable
    wanted: list[tuple[str, str | None]] = [(UNIT_VARIABLE, query.unit)] if query.unit else []
    if query.var_name:
        wanted.append((query.var_name, query.var_value))
    return [exists().where(iv.instance_id == pi.id, iv.name == name,
                           *([iv.value == value] if value is not None else []))
            for name, value in wanted]


def _task_conditions(uow: UnitOfWork, query: InstanceQuery) -> list[ColumnElement[bool]]:
    pi, task = ProcessInstance, HumanTask
    where: list[ColumnElement[bool]] = []
    if query.step:
        where.append(exists().where(task.instance_id == pi.id, task.state == TaskState.OPEN,
                                    task.element_id == query.step))
    if query.overdue:
        where.append(exists().where(task.instance_id == pi.id, task.state == TaskState.OPEN,
                                    task.due_at < clock.now(uow)))
    return where


def _keyset(query: InstanceQuery) -> ColumnElement[bool] | None:
    parsed = _parse_cursor(query) if query.after else None
    if parsed is None:
        return None
    value, ident = parsed
    column, pid = SORTS[query.sort], ProcessInstance.id
    if query.sort == "id":
        return pid < ident if query.descending else pid > ident
    if query.descending:
        return or_(column < value, and_(column == value, pid < ident))
    return or_(column > value, and_(column == value, pid > ident))


def list_console_instances(uow: UnitOfWork, query: InstanceQuery) -> InstancePage:
    validate(query)
    where = _conditions(uow, query)
    column = SORTS[query.sort]
    order: list[ColumnElement[Any]] = (
        [column.desc(), ProcessInstance.id.desc()] if query.descending
        else [column.asc(), ProcessInstance.id.asc()])
    if query.sort == "id":
        order = order[1:]
    stmt = (
        select(ProcessInstance.id, ProcessInstance.process_id, ProcessDefinition.name,
               ProcessDefinition.version, ProcessInstance.business_key, ProcessInstance.status,
               ProcessInstance.started_at, ProcessInstance.updated_at,
               ProcessInstance.error_element)
        .join(ProcessDefinition, ProcessDefinition.id == ProcessInstance.definition_id)
        .where(*where))
    keyset = _keyset(query)
    if keyset is not None:
        stmt = stmt.where(keyset)
    found = uow.session.execute(stmt.order_by(*order).limit(query.limit + 1)).all()
    more = len(found) > query.limit
    rows = _decorate(uow, [
        InstanceRow(r.id, r.process_id, r.name, r.version, r.business_key, r.status,
                    r.started_at, r.updated_at, error_element=r.error_element)
        for r in found[:query.limit]])
    counted = uow.session.scalar(select(func.count()).select_from(
        select(ProcessInstance.id).where(*where).limit(COUNT_CAP + 1).subquery())) or 0
    return InstancePage(rows, _cursor(query, rows[-1]) if more and rows else None,
                        min(counted, COUNT_CAP), counted > COUNT_CAP)


def _decorate(uow: UnitOfWork, rows: list[InstanceRow]) -> list[InstanceRow]:
    """Add the unit and the open steps of one page's instances (two indexed queries)."""
    ids = [r.id for r in rows]
    if not ids:
        return rows
    units = dict(uow.session.execute(select(InstanceVariable.instance_id, InstanceVariable.value)
                                     .where(InstanceVariable.instance_id.in_(ids),
                                            InstanceVariable.name == UNIT_VARIABLE)).all())
    now = clock.now(uow)
    steps: dict[int, list[tuple[str, str]]] = {}
    late: set[int] = set()
    for instance_id, element_id, name, due_at in uow.session.execute(
            select(HumanTask.instance_id, HumanTask.element_id, HumanTask.name,
                   HumanTask.due_at)
            .where(HumanTask.instance_id.in_(ids), HumanTask.state == TaskState.OPEN)):
        steps.setdefault(instance_id, []).append((element_id, name))
        if due_at is not None and due_at < now:
            late.add(instance_id)
    return [replace(r, unit=units.get(r.id), steps=steps.get(r.id, []), overdue=r.id in late)
            for r in rows]


def matching_instance_ids(uow: UnitOfWork, query: InstanceQuery, *,
                          cap: int) -> Iterator[int]:
    """The ids of every instance the query finds, oldest first, at most ``cap``."""
    validate(replace(query, limit=PAGE_SIZES[0], after=None))
    stmt = (select(ProcessInstance.id).where(*_conditions(uow, query))
            .order_by(ProcessInstance.id).limit(cap))
    yield from uow.session.scalars(stmt)


def step_choices(uow: UnitOfWork, process: str | None) -> list[tuple[str, str]]:
    """The human steps (user and manual tasks) of a process — of every deployed process when
    none is named — as (element id, name), for the step filter. From the definitions'
    catalogs, a handful of rows: grouping the open tasks instead would scan 100,000."""
    stmt = select(ProcessDefinition.catalog)
    if process:
        stmt = stmt.where(ProcessDefinition.process_id == process)
    found: dict[str, str] = {}
    for catalog in uow.session.scalars(stmt.order_by(ProcessDefinition.version)):
        for element_id, entry in (catalog or {}).items():
            if entry.get("manual"):
                found[element_id] = str(entry.get("name") or element_id)
    return sorted(found.items())


@dataclass(frozen=True)
class DefinitionChoice:
    id: int
    process_id: str
    version: int
    name: str


def definition_choices(uow: UnitOfWork) -> list[DefinitionChoice]:
    """Every deployed version (for the process and version filters and the heatmap), without
    counting instances — that count is a scan of 100,000 rows the list does not need."""
    return [DefinitionChoice(i, p, v, n or p) for i, p, v, n in uow.session.execute(
        select(ProcessDefinition.id, ProcessDefinition.process_id, ProcessDefinition.version,
               ProcessDefinition.name)
        .order_by(ProcessDefinition.process_id, ProcessDefinition.version))]
