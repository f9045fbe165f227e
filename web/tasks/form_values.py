"""The way back from a posted task form: the posted fields read into raw values, and raw
values into the typed data the task is completed with.

- ``parse(fields, form)`` reads the posted form into *raw* values — the text exactly as
  typed, arrays as lists of rows — which is what a draft stores and what the page shows
  again after a rejected submit: nothing typed is lost. ``compact`` drops rows left
  completely blank; ``add_row`` appends a blank row and ``parse(…, skip=…)`` leaves one out —
  the row buttons, when the form is posted without JavaScript.
- ``to_data`` turns raw values into the typed data ``complete_task`` validates (numbers as
  numbers, empty optional fields left out, rows left completely blank dropped).

The fields come from ``schema_form.build``; both directions walk the same ``Field`` tree.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

from engine.file_inputs import is_reference

from .schema_form import Field

#: Hidden marker every row carries, so a row is seen even when all its inputs are empty.
ROW_MARKER = "_row"
#: A row index in a posted name; more rows than this are not read.
MAX_ROWS = 200
_INT = re.compile(r"^[+-]?\d{1,18}$")
MISSING: Any = object()


# ------------------------------------------------------------------------------ posted form


def _indices(form: Mapping[str, Any], path: str) -> list[int]:
    row = re.compile(rf"^{re.escape(path)}\.(\d{{1,4}})(?:\.|$)")
    found = {int(m.group(1)) for key in form if (m := row.match(key))}
    return sorted(found)[:MAX_ROWS]


def _reference(text: Any) -> Any:
    """A file reference the page carried in a hidden input (JSON), or ``""``: whether it is
    one of the task's files is the engine's check (``file_references``)."""
    try:
        value = json.loads(text) if isinstance(text, str) and text else None
    except ValueError:
        return ""
    return value if is_reference(value) else ""


def _parse_value(f: Field, form: Mapping[str, Any], path: str, skip: str | None) -> Any:
    if f.kind == "file":
        return "" if path == skip else _reference(form.get(path))
    if f.kind == "files":
        found = (_reference(form.get(f"{path}.{i}"))
                 for i in _indices(form, path) if f"{path}.{i}" != skip)
        return [ref for ref in found if ref]
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


def kept_rows(f: Field, rows: list[Any]) -> list[Any]:
    """The rows of array ``f`` that are not left blank — unless all are and the list must
    have some: then its first ``minItems`` rows as they are, so the fields on screen are told
    what they miss instead of the list that it has no row while an empty one shows."""
    filled = [row for row in rows if not _blank(row)]
    return filled if filled or not f.min_items else rows[:f.min_items]


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
                for row in kept_rows(f, rows)]
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
    if f.kind == "file":
        return value if is_reference(value) else MISSING
    if f.kind == "files":
        refs = [v for v in value if is_reference(v)] if isinstance(value, list) else []
        return refs or MISSING
    if f.kind == "object":
        data = to_data(f.children, value if isinstance(value, dict) else {})
        return data if data or f.required else MISSING
    if f.kind == "array":
        rows = kept_rows(f, value if isinstance(value, list) else [])
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
