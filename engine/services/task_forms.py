"""What a task's page needs to know about its BPMN element: its form (the ``formSchema``
JSON Schema the element declares, the same one ``complete_task`` validates against), its
documentation and lane, and the names of the process's other elements (for the history)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ..db import UnitOfWork
from ..execution.checkout import load_definition
from ..forms import compile_form
from ..models import HumanTask

__all__ = ["TaskForm", "element_names", "task_form"]


@dataclass(frozen=True)
class TaskForm:
    process_name: str
    element_id: str
    name: str
    lane_name: str | None
    documentation: str | None
    #: The element's ``formSchema`` (parsed and known to compile), or None: no fields.
    schema: dict[str, Any] | None
    #: The element's other extension properties (``dueIn`` …), as text.
    properties: dict[str, str]


def task_form(uow: UnitOfWork, task: HumanTask) -> TaskForm:
    definition = load_definition(uow, task.definition_id)
    element = definition.element(task.element_id)
    properties = dict(element.get("properties") or {})
    raw = properties.pop("formSchema", None)
    schema = None
    if raw:
        compile_form(raw)  # the engine accepts it (it was checked when deployed)
        schema = json.loads(raw)
    return TaskForm(definition.name, task.element_id, element.get("name") or task.name,
                    element.get("lane_name"), element.get("documentation"), schema, properties)


def element_names(uow: UnitOfWork, definition_id: int) -> dict[str, str]:
    """Element id -> name, for every element of the definition (embedded subprocesses'
    included)."""
    catalog = load_definition(uow, definition_id).catalog
    return {key: str(value.get("name") or key) for key, value in catalog.items()}
