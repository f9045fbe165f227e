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

- SpiffArena's forms as react-jsonschema-form renders them: ``default`` values (``defaults``
  prefills a new form with them), enumerations with their ``enumNames`` (what
  ``engine.forms.normalise`` makes of ``oneOf``/``anyOf`` ``const`` lists), ``format: date``
  / ``date-time`` as date pickers, ``readOnly`` fields, and the ui-schema's ``ui:widget``
  (textarea, radio, select, hidden, password), ``ui:order`` (with ``*``), ``ui:help``,
  ``ui:placeholder``, ``ui:readonly`` and ``ui:options.rows``; file inputs (``format:
  data-url``, one file or an array of them: kinds ``file`` / ``files``) with
  ``ui:options.accept`` — their value is the reference to the stored file
  (``engine.file_inputs``), never its bytes.

The way back from a posted form is ``form_values``; what the page renders the form from
(values and errors) is ``form_state``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from engine.file_inputs import file_fields, is_file_schema, is_reference

#: Row index placeholder of the ``<template>`` rows JavaScript clones, per array depth.
PLACEHOLDER = "__i{depth}__"
#: Longer strings get a text area.
SHORT_TEXT = 200
_LABEL_PAIR = re.compile(r"^\s*([^=\s]+)\s*=\s*(.+?)\s*$")


@dataclass
class Field:
    name: str
    #: string, text, integer, number, boolean, checkbox, select, radio, date, datetime,
    #: password, hidden, object, array, file, files
    kind: str
    title: str
    help: str | None = None
    required: bool = False
    choices: list[tuple[str, str]] = field(default_factory=list)
    #: Object: its fields; array: ``[item]``, the field each row is.
    children: list[Field] = field(default_factory=list)
    spec: dict[str, Any] = field(default_factory=dict)
    #: How many arrays this field is inside (for the row placeholder).
    depth: int = 0
    #: ``ui:placeholder``.
    placeholder_text: str | None = None
    #: ``readOnly`` (schema) or ``ui:readonly``: shown and sent, not editable.
    read_only: bool = False
    #: Text area height (``ui:options.rows``).
    rows: int = 3
    #: A file input's ``accept`` attribute (``ui:options.accept``).
    accept: str = ""
    #: Shown (and then required) only when a sibling field has one of these values:
    #: ``(field name, value as the form sends it)`` pairs read from the schema's
    #: ``if``/``then`` (``conditions``); empty: always shown.
    shown_when: list[tuple[str, str]] = field(default_factory=list)

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


def _ui_options(ui: dict[str, Any]) -> dict[str, Any]:
    options = ui.get("ui:options")
    return options if isinstance(options, dict) else {}


def _ui_value(ui: dict[str, Any], key: str) -> Any:
    """``ui:<key>``, or the same key inside ``ui:options`` (rjsf accepts both)."""
    return ui.get(f"ui:{key}", _ui_options(ui).get(key))


#: ``ui:widget`` values and the kind of field each makes (others keep the default widget).
_WIDGETS = {"textarea": "text", "radio": "radio", "select": "select", "hidden": "hidden",
            "password": "password", "date": "date", "datetime": "datetime",
            "checkbox": "checkbox"}


def _apply_ui(made: Field, ui: dict[str, Any]) -> None:
    help_text = _ui_value(ui, "help")
    if isinstance(help_text, str):
        made.help = help_text
    placeholder = _ui_value(ui, "placeholder")
    if isinstance(placeholder, str):
        made.placeholder_text = placeholder
    if _ui_value(ui, "readonly") is True:
        made.read_only = True
    rows = _ui_value(ui, "rows")
    if isinstance(rows, int) and not isinstance(rows, bool) and 1 <= rows <= 50:
        made.rows = rows
    widget = _WIDGETS.get(str(_ui_value(ui, "widget")))
    if widget is None or made.kind in ("object", "array"):
        return
    if widget in ("radio", "select") and not made.choices:
        if made.data_type == "boolean":
            made.kind = "boolean" if widget == "radio" else made.kind
        return
    if widget == "checkbox" and made.data_type != "boolean":
        return
    if widget in ("text", "password", "date", "datetime") and made.data_type != "string":
        return
    made.kind = widget


def _field(name: str, spec: dict[str, Any], required: bool, depth: int,
           ui: dict[str, Any] | None = None) -> Field:
    ui = ui if isinstance(ui, dict) else {}
    kind = str(spec.get("type", "string"))
    title = str(spec.get("title") or name.replace("_", " "))
    description = spec.get("description")
    made = Field(name=name, kind=kind, title=title,
                 help=description if isinstance(description, str) else None,
                 required=required, spec=spec, depth=depth,
                 read_only=spec.get("readOnly") is True)
    if is_file_schema(spec) or (kind == "array" and is_file_schema(spec.get("items"))):
        made.kind = "file" if kind == "object" else "files"
        made.accept = ",".join(file_fields({"properties": {name: spec}}, {name: ui})
                               [name].accept)
    elif kind == "object":
        made.children = _fields(spec, depth, ui)
    elif kind == "array":
        items = spec.get("items") or {"type": "string"}
        item_ui = ui.get("items")
        made.children = [_field("", items, True, depth + 1,
                                item_ui if isinstance(item_ui, dict) else None)]
        made.children[0].title = title
    elif "enum" in spec:
        values = list(spec["enum"])
        names = spec.get("enumNames")
        labels = ({str(v): str(n) for v, n in zip(values, names, strict=True)}
                  if isinstance(names, list) and len(names) == len(values)
                  else _labels(description, values))
        made.kind = "select"
        made.choices = [(str(v), labels[str(v)] if labels else str(v)) for v in values]
        if labels and not isinstance(names, list):
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
        made.kind = _string_kind(spec)
    _apply_ui(made, ui)
    return made


def _string_kind(spec: dict[str, Any]) -> str:
    if spec.get("format") in ("date", "date-time"):
        return "date" if spec["format"] == "date" else "datetime"
    long = (spec.get("maxLength") or 0) > SHORT_TEXT or spec.get("format") == "textarea"
    return "text" if long else "string"


def _small_range(spec: dict[str, Any]) -> bool:
    low, high = spec.get("minimum"), spec.get("maximum")
    return isinstance(low, int) and isinstance(high, int) and 0 <= high - low <= 12


def ordered(names: list[str], order: Any) -> list[str]:
    """``names`` in ``ui:order``: the names it lists first, in its order, the rest where its
    ``*`` stands (at the end without one); names it lists that do not exist are ignored."""
    if not isinstance(order, list):
        return names
    listed = [n for n in order if isinstance(n, str) and n in names]
    rest = [n for n in names if n not in listed]
    if "*" not in order:
        return listed + rest
    star = order.index("*")
    before = [n for n in order[:star] if n in listed]
    after = [n for n in order[star + 1:] if n in listed]
    return before + rest + after


def _fields(spec: dict[str, Any], depth: int, ui: dict[str, Any] | None = None
            ) -> list[Field]:
    ui = ui if isinstance(ui, dict) else {}
    required = set(spec.get("required") or [])
    properties = spec.get("properties") or {}
    made = [_field(name, properties[name] or {}, name in required, depth, ui.get(name))
            for name in ordered(list(properties), ui.get("ui:order"))]
    when = conditions(spec)
    for f in made:
        if f.name not in required:
            f.shown_when = when.get(f.name, [])
    return made


def _form_text(value: Any) -> str:
    """A value as the form sends it (``true`` / ``false`` for booleans)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def conditions(spec: dict[str, Any]) -> dict[str, list[tuple[str, str]]]:
    """Fields an answer asks for: the ``then`` of each ``if`` (the object's own, or in its
    ``allOf``) whose condition is one sibling's ``const`` — ``if: {properties: {accepted:
    {const: true}}}, then: {required: [category]}`` makes ``category`` shown (and required)
    when ``accepted`` is yes. Other conditions are left to the server, fields shown."""
    members = [spec, *[m for m in spec.get("allOf") or [] if isinstance(m, dict)]]
    found: dict[str, list[tuple[str, str]]] = {}
    for member in members:
        cond, then = member.get("if"), member.get("then")
        if not isinstance(cond, dict) or not isinstance(then, dict):
            continue
        tests = cond.get("properties") or {}
        if len(tests) != 1:
            continue
        [(name, test)] = tests.items()
        if not isinstance(test, dict) or "const" not in test:
            continue
        asked = [*(then.get("required") or []), *(then.get("properties") or {})]
        for target in dict.fromkeys(a for a in asked if isinstance(a, str)):
            found.setdefault(target, []).append((name, _form_text(test["const"])))
    return found


def build(schema: dict[str, Any] | None, ui: dict[str, Any] | None = None) -> list[Field]:
    """The fields of a task's form (none without a schema), laid out by its ui-schema."""
    return _fields(schema, 0, ui) if schema else []


def _default_text(f: Field, value: Any) -> Any:
    if f.kind == "file":
        return value if is_reference(value) else ""
    if f.kind == "files":
        return [v for v in value if is_reference(v)] if isinstance(value, list) else []
    if f.kind == "object":
        given = value if isinstance(value, dict) else {}
        return {c.name: _default_text(c, given.get(c.name, c.spec.get("default")))
                for c in f.children}
    if f.kind == "array":
        return [_default_text(f.item, v) for v in value] if isinstance(value, list) else []
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value)


def defaults(fields: list[Field]) -> dict[str, Any]:
    """The raw values a new form starts with: each field's ``default`` (as typed text)."""
    return {f.name: _default_text(f, f.spec.get("default")) for f in fields}


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
