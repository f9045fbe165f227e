"""What a task's page needs to know about its BPMN element: its form (the ``formSchema``
JSON Schema the element declares inline or in SpiffArena's ``formJsonSchemaFilename`` file —
the same one ``complete_task`` validates against — and the ui-schema of its
``formUiSchemaFilename`` file), its documentation and lane, and the names of the process's
other elements (for the history). Both files were written into the deployed version's
catalog at deploy (``engine.form_files``), so an instance keeps the form it started with."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ..db import UnitOfWork
from ..execution.checkout import load_definition
from ..form_files import UI_PROPERTY
from ..forms import compile_form, normalise
from ..models import HumanTask

__all__ = ["TaskForm", "element_names", "task_form"]


@dataclass(frozen=True)
class TaskForm:
    process_name: str
    element_id: str
    name: str
    lane_name: str | None
    documentation: str | None
    #: The element's ``formSchema`` (parsed, known to compile, and ``normalise``d: ``$ref``s
    #: resolved, ``oneOf``/``anyOf`` enumerations as ``enum``), or None: no fields.
    schema: dict[str, Any] | None
    #: The ui-schema (react-jsonschema-form's ``ui:*`` keys) of the element's
    #: ``formUiSchemaFilename`` file, or an empty dict.
    ui_schema: dict[str, Any]
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
        schema = normalise(json.loads(raw))
    ui_raw = properties.pop(UI_PROPERTY, None)
    ui_schema = json.loads(ui_raw) if ui_raw else {}
    return TaskForm(definition.name, task.element_id, element.get("name") or task.name,
                    element.get("lane_name"), element.get("documentation"), schema,
                    ui_schema if isinstance(ui_schema, dict) else {}, properties)


def element_names(uow: UnitOfWork, definition_id: int) -> dict[str, str]:
    """Element id -> name, for every element of the definition (embedded subprocesses'
    included)."""
    catalog = load_definition(uow, definition_id).catalog
    return {key: str(value.get("name") or key) for key, value in catalog.items()}
