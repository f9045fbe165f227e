"""Everything the console's instance page shows, read in one unit of work: the row, its
version, its variables, where its tokens are and the path already taken (for the diagram),
its tasks with who did what, its event log with what each step changed (``StepChange``), its
audit trail, and what an administrator may do next (move targets, newer versions).

The workflow is opened once (from the cache when it is there) and given back unchanged.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from SpiffWorkflow.util.task import TaskState as SpiffState
from sqlalchemy import select

from ..db import UnitOfWork
from ..errors import NotFound, StateUnreadable
from ..execution.checkout import check_out
from ..execution.pruning import pruned_done
from ..execution.workflow import all_tasks
from ..models import (
    AuditEntry,
    EventType,
    HumanTask,
    InstanceEvent,
    ProcessDefinition,
    ProcessInstance,
)
from ..variables import current_data
from .token_move import ACTIVE, Token, element_name, targets_in

__all__ = ["InstanceView", "StepChange", "element_names", "instance_view", "step_changes"]


@dataclass(frozen=True)
class StepChange:
    """One variable a step set: its value before (``known_before`` is false when the log
    does not say: the variable was new, or last set by a step that recorded no values) and
    after."""

    name: str
    before: Any
    after: Any
    known_before: bool


@dataclass
class InstanceView:
    instance: ProcessInstance
    definition: ProcessDefinition
    tasks: list[HumanTask]
    events: list[InstanceEvent]
    audit: list[AuditEntry]
    #: (definition id, version) of newer versions of the process, newest first.
    newer: list[tuple[int, int]] = field(default_factory=list)
    variables: dict[str, Any] = field(default_factory=dict)
    #: BPMN element ids: where tokens are now, and every element already completed.
    current: list[str] = field(default_factory=list)
    done: list[str] = field(default_factory=list)
    tokens: list[Token] = field(default_factory=list)
    #: BPMN element id → its name in the version's catalog (ids stay the key everywhere).
    names: dict[str, str] = field(default_factory=dict)
    #: Event id → the variables that event's step changed (see ``step_changes``).
    changes: dict[int, list[StepChange]] = field(default_factory=dict)
    move_targets: list[tuple[str, str]] = field(default_factory=list)
    #: Why the workflow could not be read (a damaged state): then the fields above it are
    #: empty, and the instance is put into error once this transaction is over.
    state_error: str | None = None


def instance_view(uow: UnitOfWork, instance_id: int) -> InstanceView:
    instance = uow.session.get(ProcessInstance, instance_id)
    if instance is None:
        raise NotFound(f"process instance {instance_id} does not exist")
    definition = uow.session.get(ProcessDefinition, instance.definition_id)
    assert definition is not None
    try:
        live = check_out(uow, instance, instance.updated_at)
    except StateUnreadable as exc:  # the page still shows the row, tasks, events, audit
        return _rows(uow, instance, definition, state_error=exc.message)
    try:
        tasks = all_tasks(live.workflow)
        bpmn = [t for t in tasks if getattr(t.task_spec, "bpmn_id", None)]
        current = sorted({t.task_spec.bpmn_id for t in bpmn
                          if t.state in (*ACTIVE, SpiffState.STARTED)})
        done = sorted({t.task_spec.bpmn_id for t in bpmn if t.state == SpiffState.COMPLETED}
                      | pruned_done(live.workflow))
        tokens = [Token(t.id, t.task_spec.name, element_name(t.task_spec),
                        SpiffState.get_name(t.state)) for t in bpmn if t.state in ACTIVE]
        targets = sorted((n, element_name(s))
                         for n, s in targets_in(live.workflow.spec).items())
        variables = copy.deepcopy(current_data(live.workflow))
    finally:
        uow.runtime.workflows.checkin(instance.id, instance.revision, live.workflow)
    return _rows(uow, instance, definition, variables=variables, current=current, done=done,
                 tokens=tokens, move_targets=targets)


def _rows(uow: UnitOfWork, instance: ProcessInstance, definition: ProcessDefinition,
          **from_workflow: Any) -> InstanceView:
    """The view with what the database holds besides the workflow."""
    rows = list(uow.session.scalars(select(HumanTask).where(HumanTask.instance_id == instance.id)
                                    .order_by(HumanTask.created_at, HumanTask.element_id)))
    events = list(uow.session.scalars(select(InstanceEvent)
                                      .where(InstanceEvent.instance_id == instance.id)
                                      .order_by(InstanceEvent.id)))
    audit = list(uow.session.scalars(select(AuditEntry).where(
        AuditEntry.instance_id == instance.id).order_by(AuditEntry.at.desc()).limit(100)))
    newer = [(i, v) for i, v in uow.session.execute(
        select(ProcessDefinition.id, ProcessDefinition.version)
        .where(ProcessDefinition.process_id == instance.process_id,
               ProcessDefinition.version > definition.version)
        .order_by(ProcessDefinition.version.desc()))]
    return InstanceView(instance, definition, tasks=rows, events=events, audit=audit,
                        newer=newer, names=element_names(definition),
                        changes=step_changes(events), **from_workflow)


def element_names(definition: ProcessDefinition) -> dict[str, str]:
    """The name of each element of the version (an unnamed element is left out: the page
    then shows its id alone)."""
    return {element: str(entry["name"]) for element, entry in (definition.catalog or {}).items()
            if isinstance(entry, dict) and entry.get("name")}



def step_changes(events: list[InstanceEvent]) -> dict[int, list[StepChange]]:
    """Replay the log in order to say, per completed task (and per amendment that recorded
    its values), which variables it changed from what to what.

    The log is what records values: the start data, each completed task's submitted data
    and an amendment's ``values``. An administrator's change records only the names, so
    those variables' next "before" is unknown rather than guessed; script tasks record
    nothing, so a value they set shows up as the "before" of the next step that changes it.
    """
    known: dict[str, Any] = {}
    changes: dict[int, list[StepChange]] = {}
    for event in events:
        data = event.data if isinstance(event.data, dict) else {}
        if event.type == EventType.VARIABLES_CHANGED.value and "values" not in data:
            for name in data.get("names") or []:
                known.pop(name, None)
            continue
        values = _values(event.type, data)
        if not isinstance(values, dict):
            continue
        if event.type != EventType.STARTED.value:
            changes[event.id] = [StepChange(name, known.get(name), value, name in known)
                                 for name, value in values.items()
                                 if name not in known or known[name] != value]
        known.update(values)
    return changes


def _values(kind: str, data: dict[str, Any]) -> Any:
    """The variables an event says were written: the start's ``data``, a completed task's
    whole data, an amendment's ``values``; None for any other event."""
    if kind == EventType.STARTED.value:
        return data.get("data")
    if kind == EventType.TASK_COMPLETED.value:
        return data
    if kind == EventType.VARIABLES_CHANGED.value:
        return data.get("values")
    return None
