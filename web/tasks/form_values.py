"""HTML forms generated from a user task's ``formSchema`` — the JSON Schema subset that
``engine.forms`` validates with marshmallow — and the way back from a posted form.

- ``build(schema)`` turns the schema into ``Field``s: strings (a text area when long),
  integers, numbers, booleans (yes / no), enums (a select, with the labels the schema's
  description gives: ``duty=岗位职责风险; process=业务流程风险``), objects (a group of fields)
  and arrays (repeatable rows, of objects or of single values).
- Inputs are named by their data path, ``risks.1.description``, which is also how the
  engine's errors are keyed once flattened (``flatten_errors``), so every error lands next to
  its input.
- ``parse(fields, form)`` reads the posted form into *raw* values — the text exactly as
  typed, arrays as lists of rows — which is what a draft stores and what the page shows
  again after a rejected submit: nothing typed is lost. ``to_data`` turns raw values into
  the typed data ``complete_task`` validates (numbers as numbers, empty optional fields
  left out, rows left completely blank dropped).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

#: Row index placeholder of the ``<template>`` rows JavaScript clones, per array depth.
PLACEHOLDER = "__i{depth}__"
#: Hidden marker every row carries, so a row is seen even when all its inputs are empty.
ROW_MARKER = "_row"
#: A row index in a posted name; more rows than this are not read.
MAX_ROWS = 200
#: Longer strings get a text area.
SHORT_TEXT = 200
_LABEL_PAIR = re.compile(r"^\s*([^=\s]+)\s*=\s*(.+?)\s*$")
_INT = re.compile(r"^[+-]?\d{1,18}$")
MISSING: Any = object()


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


# ------------------------------------------------------------------------------ schema


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


# ------------------------------------------------------------------------------ posted form


def _indices(form: Mapping[str, Any], path: str) -> list[int]:
    row = re.compile(rf"^{re.escape(path)}\.(\d{{1,4}})(?:\.|$)")
    found = {int(m.group(1)) for key in form if (m := row.match(key))}
    return sorted(found)[:MAX_ROWS]


def _parse_value(f: Field, form: Mapping[str, Any], path: str, skip: str | None) -> Any:
    if f.kind == "object":
        return _parse_object(f.children, form, f"{path}.", skip)
    if f.kind == "array":
        return [_parse_value(f.item, form, f"{path}.{i}", skip)
                for i in _indices(form, path) if f"{path}.{i}" != skip]
    if f.kind == "checkbox":
        return "true" if form.get(path) else "false"
    value = form.get(path, "")
    return value if isinstance(value, str) else ""


def _parse_object(fields: list[Field], form: Mapping[str, Any], prefix: str,
                  skip: str | None) -> dict[str, Any]:
    return {f.name: _parse_value(f, form, f"{prefix}{f.name}", skip) for f in fields}


def parse(fields: list[Field], form: Mapping[str, Any], *, skip: str | None = None
          ) -> dict[str, Any]:
    """The raw values of a posted form (``skip``: a row path left out, when removing it)."""
    return _parse_object(fields, form, "", skip)


def _blank(value: Any) -> bool:
    if isinstance(value, dict):
        return all(_blank(v) for v in value.values())
    if isinstance(value, list):
        return all(_blank(v) for v in value)
    if isinstance(value, str):
        return value.strip() in ("", "false")
    return value in (None, False)


def compact(fields: list[Field], raw: Mapping[str, Any]) -> dict[str, Any]:
    """``raw`` without rows left completely blank (at every depth), so row numbers are those
    of the data the engine sees."""
    out: dict[str, Any] = {}
    for f in fields:
        value = raw.get(f.name)
        if f.kind == "object":
            out[f.name] = compact(f.children, value if isinstance(value, dict) else {})
        elif f.kind == "array":
            rows = value if isinstance(value, list) else []
            out[f.name] = [
                compact(f.item.children, row if isinstance(row, dict) else {})
                if f.item.kind == "object" else row
                for row in rows if not _blank(row)]
        else:
            out[f.name] = value
    return out


def add_row(fields: list[Field], raw: dict[str, Any], path: str) -> bool:
    """Append a blank row to the array at ``path`` (``risks``); whether there is one."""
    found = _locate(fields, raw, path)
    if found is None:
        return False
    f, rows = found
    rows.append(_blank_value(f.item))
    return True


def _blank_value(f: Field) -> Any:
    if f.kind == "object":
        return {c.name: _blank_value(c) for c in f.children}
    return [] if f.kind == "array" else ""


def _locate(fields: list[Field], raw: dict[str, Any], path: str
            ) -> tuple[Field, list[Any]] | None:
    """The array field at a concrete ``path`` and its rows in ``raw`` (created if absent)."""
    parts = path.split(".")
    current: Any = raw
    level = fields
    target: Field | None = None
    for position, part in enumerate(parts):
        if part.isdigit():
            if target is None or target.kind != "array" or not isinstance(current, list):
                return None
            index = int(part)
            if index >= len(current):
                return None
            current, level = current[index], target.item.children
            target = target.item
            continue
        target = next((f for f in level if f.name == part), None)
        if target is None or not isinstance(current, dict):
            return None
        last = position == len(parts) - 1
        if target.kind == "array":
            current = current.setdefault(part, [])
        elif target.kind == "object" and not last:
            current, level = current.setdefault(part, {}), target.children
        else:
            return None
    if target is None or target.kind != "array" or not isinstance(current, list):
        return None
    return target, current


# ------------------------------------------------------------------------------ typed data


def _number(text: str, integer: bool) -> Any:
    if integer:
        return int(text) if _INT.match(text) else text
    try:
        number = float(text)
    except ValueError:
        return text
    return number if math.isfinite(number) else text


def _scalar(f: Field, value: Any) -> Any:
    text = value.strip() if isinstance(value, str) else ("" if value is None else str(value))
    if f.kind == "checkbox":
        return text == "true"
    if text == "":
        return MISSING
    kind = f.data_type
    if kind == "boolean":
        return {"true": True, "false": False}.get(text, text)
    if kind in ("integer", "number"):
        return _number(text, kind == "integer")
    return text


def _convert(f: Field, value: Any) -> Any:
    if f.kind == "object":
        data = to_data(f.children, value if isinstance(value, dict) else {})
        return data if data or f.required else MISSING
    if f.kind == "array":
        rows = [row for row in (value if isinstance(value, list) else []) if not _blank(row)]
        converted = [_convert(f.item, row) for row in rows]
        return [({} if v is MISSING else v) if f.item.kind == "object" else
                ("" if v is MISSING else v) for v in converted]
    return _scalar(f, value)


def to_data(fields: list[Field], raw: Mapping[str, Any]) -> dict[str, Any]:
    """The data to complete the task with: typed, blank optional fields left out."""
    out = {}
    for f in fields:
        value = _convert(f, raw.get(f.name))
        if value is not MISSING:
            out[f.name] = value
    return out


# ------------------------------------------------------------------------------ errors


def flatten_errors(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """The engine's nested errors (``{"risks": {1: {"description": [...]}}}``) keyed by
    path (``risks.1.description``)."""
    out: dict[str, list[str]] = {}
    if isinstance(messages, Mapping):
        for key, value in messages.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            for sub, found in flatten_errors(value, path).items():
                out.setdefault(sub, []).extend(found)
    elif isinstance(messages, list | tuple):
        for message in messages:
            if isinstance(message, Mapping | list | tuple):
                for sub, found in flatten_errors(message, prefix).items():
                    out.setdefault(sub, []).extend(found)
            else:
                out.setdefault(prefix or "_schema", []).append(str(message))
    elif messages is not None:
        out.setdefault(prefix or "_schema", []).append(str(messages))
    return out


_REQUIRED = {"Missing data for required field.", "Field may not be null.", "required"}
_RULES: list[tuple[re.Pattern[str], Any]] = [
    (re.compile(r"^Not a valid integer\.$"), lambda f, m: _("Enter a whole number.")),
    (re.compile(r"^Not a valid (number|float)\.$"), lambda f, m: _("Enter a number.")),
    (re.compile(r"^Not a valid boolean\.$"), lambda f, m: _("Choose yes or no.")),
    (re.compile(r"^Must be one of: "), lambda f, m: _("Choose one of the options.")),
    (re.compile(r"^Shorter than minimum length (\d+)\.$"),
     lambda f, m: (_("Add at least %(min)d.", min=int(m.group(1))) if _is_list(f) else
                   _("Enter at least %(min)d characters.", min=int(m.group(1))))),
    (re.compile(r"^Longer than maximum length (\d+)\.$"),
     lambda f, m: (_("Add at most %(max)d.", max=int(m.group(1))) if _is_list(f) else
                   _("Enter at most %(max)d characters.", max=int(m.group(1))))),
    (re.compile(r"^Length must be between (\d+) and (\d+)\.$"),
     lambda f, m: (_("Add %(min)d to %(max)d.", min=int(m.group(1)), max=int(m.group(2)))
                   if _is_list(f) else
                   _("Enter %(min)d to %(max)d characters.", min=int(m.group(1)),
                     max=int(m.group(2))))),
    (re.compile(r"^Must be greater than or equal to (\S+) and less than or equal to (\S+)\.$"),
     lambda f, m: _("Enter a value from %(min)s to %(max)s.", min=m.group(1), max=m.group(2))),
    (re.compile(r"^Must be greater than or equal to (\S+)\.$"),
     lambda f, m: _("Enter %(min)s or more.", min=m.group(1))),
    (re.compile(r"^Must be less than or equal to (\S+)\.$"),
     lambda f, m: _("Enter %(max)s or less.", max=m.group(1))),
    (re.compile(r"^(Unknown field\.|invalid field name)$"),
     lambda f, m: _("This field is not part of the form.")),
    (re.compile(r"^too large$"), lambda f, m: _("The form is too large to be sent.")),
    (re.compile(r"^Not a valid (string|list)\.$|^Invalid (input )?type\.$|^not an object$"),
     lambda f, m: _("This value is not valid.")),
]
REQUIRED_MESSAGE = _l("This field is required.")


def _is_list(f: Field | None) -> bool:
    return f is not None and f.kind == "array"


def describe(f: Field | None, messages: list[str]) -> list[str]:
    """The engine's (marshmallow's) messages for one field, in the user's language; a
    missing value is said once, whatever else was wrong."""
    if any(m in _REQUIRED for m in messages):
        return [str(REQUIRED_MESSAGE)]
    out: list[str] = []
    for message in messages:
        text = message
        for rule, say in _RULES:
            match = rule.match(message)
            if match:
                text = str(say(f, match))
                break
        if text not in out:
            out.append(text)
    return out


@dataclass
class FormState:
    """What the page renders the form from: the raw values and the errors by path."""

    fields: list[Field]
    raw: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)
    #: Errors no input shows (e.g. the form as a whole is too large).
    general: list[str] = field(default_factory=list)

    @classmethod
    def with_errors(cls, fields: list[Field], raw: dict[str, Any],
                    engine_errors: Any) -> FormState:
        by_pattern = dict(walk(fields))
        state = cls(fields, raw)
        for path, messages in flatten_errors(engine_errors).items():
            target = by_pattern.get(pattern(path))
            if target is None:
                state.general.extend(m for m in describe(None, messages)
                                     if m not in state.general)
            else:
                state.errors[path] = describe(target, messages)
        return state

    def _get(self, path: str) -> Any:
        current: Any = self.raw
        for part in path.split("."):
            if isinstance(current, dict):
                current = current.get(part)
            elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
                current = current[int(part)]
            else:
                return None
        return current

    def value(self, path: str) -> str:
        value = self._get(path)
        return value if isinstance(value, str) else ""

    def rows(self, path: str) -> int:
        value = self._get(path)
        return len(value) if isinstance(value, list) else 0

    def field_errors(self, path: str) -> list[str]:
        return self.errors.get(path, [])

    def has_errors(self) -> bool:
        return bool(self.errors or self.general)

    def error_links(self) -> list[tuple[str, str]]:
        """(input id, message) for the summary above the form."""
        return [(dom_id(path), message) for path, messages in self.errors.items()
                for message in messages]


def dom_id(path: str) -> str:
    """The HTML id of the input for ``path``."""
    return "f-" + path.replace(".", "-")
