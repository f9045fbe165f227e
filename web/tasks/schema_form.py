"""HTML forms generated from a user task's ``formSchema`` — the JSON Schema subset that
``engine.forms`` validates with marshmallow: the schema as ``Field``s the template renders.

- ``build(schema)`` turns the schema into ``Field``s: strings (a text area when long),
  integers, numbers, booleans (yes / no), enums (a select, with the labels the schema's
  description gives: ``duty=岗位职责风险; process=业务流程风险``), objects (a group of fields)
  and arrays (repeatable rows, of objects or of single values).
- Inputs are named by their data path, ``risks.1.description`` (``dom_id`` gives their HTML
  id), which is also how the engine's errors are keyed once flattened
  (``form_state.flatten_errors``), so every error lands next to its input; ``walk`` and
  ``pattern`` match a concrete path to its field.

The way back from a posted form is ``form_values``; what the page renders the form from
(values and errors) is ``form_state``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

#: Row index placeholder of the ``<template>`` rows JavaScript clones, per array depth.
PLACEHOLDER = "__i{depth}__"
#: Longer strings get a text area.
SHORT_TEXT = 200
_LABEL_PAIR = re.compile(r"^\s*([^=\s]+)\s*=\s*(.+?)\s*$")


@dataclass
class Field:
    name: str
    kind: str  #: string, text, integer, number, boolean, checkbox, select, object, array
    title: str
    help: str | None = None
    required: bool = False
    choices: list[tuple[str, str]] = field(default_factory=list)
    #: Object: its fields; array: ``[item]``, the field each row is.
    children: list[Field] = field(default_factory=list)
    spec: dict[str, Any] = field(default_factory=dict)
    #: How many arrays this field is inside (for the row placeholder).
    depth: int = 0

    @property
    def item(self) -> Field:
        return self.children[0]

    @property
    def placeholder(self) -> str:
        """The row index JavaScript replaces in this array's row template."""
        return PLACEHOLDER.format(depth=self.depth)

    @property
    def max_length(self) -> int | None:
        value = self.spec.get("maxLength")
        return int(value) if isinstance(value, int) else None

    @property
    def min_items(self) -> int:
        value = self.spec.get("minItems")
        return int(value) if isinstance(value, int) else 0

    @property
    def max_items(self) -> int | None:
        value = self.spec.get("maxItems")
        return int(value) if isinstance(value, int) else None

    @property
    def data_type(self) -> str:
        """The JSON Schema type (``kind`` is the widget)."""
        return str(self.spec.get("type", "string"))



def _labels(description: Any, values: Iterable[Any]) -> dict[str, str] | None:
    """``duty=岗位职责风险; process=业务流程风险`` -> labels, if every value has one."""
    if not isinstance(description, str):
        return None
    pairs = {}
    for part in re.split(r"[;；,，]", description):
        match = _LABEL_PAIR.match(part)
        if match:
            pairs[match.group(1)] = match.group(2)
    wanted = [str(v) for v in values]
    if not wanted or any(v not in pairs for v in wanted):
        return None
    return {v: pairs[v] for v in wanted}


def _field(name: str, spec: dict[str, Any], required: bool, depth: int) -> Field:
    kind = str(spec.get("type", "string"))
    title = str(spec.get("title") or name.replace("_", " "))
    description = spec.get("description")
    made = Field(name=name, kind=kind, title=title,
                 help=description if isinstance(description, str) else None,
                 required=required, spec=spec, depth=depth)
    if kind == "object":
        made.children = _fields(spec, depth)
    elif kind == "array":
        items = spec.get("items") or {"type": "string"}
        made.children = [_field("", items, True, depth + 1)]
        made.children[0].title = title
    elif "enum" in spec:
        values = list(spec["enum"])
        labels = _labels(description, values)
        made.kind = "select"
        made.choices = [(str(v), labels[str(v)] if labels else str(v)) for v in values]
        if labels:
            made.help = None
    elif kind == "integer" and _small_range(spec):
        values = list(range(int(spec["minimum"]), int(spec["maximum"]) + 1))
        labels = _labels(description, values)
        if labels:
            made.kind = "select"
            made.choices = [(str(v), labels[str(v)]) for v in values]
            made.help = None
    elif kind == "boolean":
        made.kind = "boolean" if required else "checkbox"
    elif kind == "string":
        long = (spec.get("maxLength") or 0) > SHORT_TEXT or spec.get("format") == "textarea"
        made.kind = "text" if long else "string"
    return made


def _small_range(spec: dict[str, Any]) -> bool:
    low, high = spec.get("minimum"), spec.get("maximum")
    return isinstance(low, int) and isinstance(high, int) and 0 <= high - low <= 12


def _fields(spec: dict[str, Any], depth: int) -> list[Field]:
    required = set(spec.get("required") or [])
    properties = spec.get("properties") or {}
    return [_field(name, sub or {}, name in required, depth)
            for name, sub in properties.items()]


def build(schema: dict[str, Any] | None) -> list[Field]:
    """The fields of a task's form (none without a schema)."""
    return _fields(schema, 0) if schema else []


def walk(fields: Iterable[Field], prefix: str = "") -> Iterable[tuple[str, Field]]:
    """Every field with its path pattern (``risks.[].category``)."""
    for f in fields:
        path = f"{prefix}{f.name}"
        yield path, f
        if f.kind == "object":
            yield from walk(f.children, f"{path}.")
        elif f.kind == "array":
            item_path = f"{path}.[]"
            yield item_path, f.item
            if f.item.kind == "object":
                yield from walk(f.item.children, f"{item_path}.")


def pattern(path: str) -> str:
    """``risks.1.description`` -> ``risks.[].description``."""
    return ".".join("[]" if part.isdigit() else part for part in path.split("."))


def dom_id(path: str) -> str:
    """The HTML id of the input for ``path``."""
    return "f-" + path.replace(".", "-")
