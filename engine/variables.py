"""Mirroring an instance's scalar variables into ``instance_variable`` on every save, so the
console filters on a variable's value with an index instead of opening 100,000 workflows.

Why a table and not a JSON query: the variables live inside the compressed workflow state,
which neither SQLite nor PostgreSQL can look into, and a JSON copy of all the data would be
large (risk registers, forms) and differently indexable on the two databases. A narrow
``(name, value)`` table is small (scalars only), indexed the same way everywhere, and written
only where it changed.
"""

from __future__ import annotations

import json
from typing import Any

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from sqlalchemy import bindparam, delete, insert, select

from . import writebehind
from .db import UnitOfWork
from .models import Base

MAX_NAME, MAX_VALUE = 64, 255
_TABLE = Base.metadata.tables["instance_variable"]
_INSERT = insert(_TABLE)
_ROWS_OF = select(_TABLE.c.name, _TABLE.c.value).where(
    _TABLE.c.instance_id == bindparam("b_instance"))
_DELETE = delete(_TABLE).where(_TABLE.c.instance_id == bindparam("b_instance"),
                               _TABLE.c.name == bindparam("b_name"))


def current_data(workflow: BpmnWorkflow) -> dict[str, Any]:
    """The instance's variables as the console shows them: the workflow's data under the
    data of its last completed task."""
    last = workflow.last_task or workflow.task_tree
    return dict(workflow.data) | dict(last.data)


def as_text(value: Any) -> str | None:
    """A scalar's indexed spelling (text as is, numbers and booleans as JSON), or None for
    what is not mirrored (lists, objects, long text, null)."""
    if isinstance(value, str):
        return value if len(value) <= MAX_VALUE else None
    if isinstance(value, bool | int | float):
        return json.dumps(value)
    return None


def scalar_variables(data: dict[str, Any]) -> dict[str, str]:
    found = {}
    for name, value in data.items():
        text = as_text(value)
        if text is not None and isinstance(name, str) and 0 < len(name) <= MAX_NAME:
            found[name] = text
    return found


def mirror_variables(uow: UnitOfWork, instance_id: int, workflow: BpmnWorkflow, *,
                     new: bool = False) -> None:
    """Bring the instance's rows in line with its data: delete what went or changed, insert
    what is new (nothing at all when nothing changed, the usual case). ``new``: the instance
    was inserted in this transaction and has no rows yet (saves the read); in a batch
    (``writebehind.batched``) the rows were read for the whole batch (``preload``)."""
    wanted = scalar_variables(current_data(workflow))
    batch = writebehind.current(uow)
    known = batch.variables.get(instance_id) if batch is not None else None
    existing: dict[str, str] = {} if new else known if known is not None else {
        name: value for name, value in uow.session.connection().execute(
            _ROWS_OF, {"b_instance": instance_id})}
    writebehind.write(uow, _DELETE, instance_id, [
        {"b_instance": instance_id, "b_name": name}
        for name, value in existing.items() if wanted.get(name) != value])
    writebehind.write(uow, _INSERT, instance_id, [
        {"instance_id": instance_id, "name": name, "value": value}
        for name, value in wanted.items() if existing.get(name) != value])
    if batch is not None:
        batch.variables[instance_id] = wanted


def preload(uow: UnitOfWork, instance_ids: list[int]) -> None:
    """Read the variable rows of a batch's instances in one statement, for their saves
    (``mirror_variables``) to compare with instead of a read each."""
    batch = writebehind.current(uow)
    if batch is None or not instance_ids:
        return
    for instance_id in instance_ids:
        batch.variables.setdefault(instance_id, {})
    for instance_id, name, value in uow.session.execute(
            select(_TABLE.c.instance_id, _TABLE.c.name, _TABLE.c.value)
            .where(_TABLE.c.instance_id.in_(instance_ids))):
        batch.variables[instance_id][name] = value
