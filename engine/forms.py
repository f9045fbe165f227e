"""Task form validation: the JSON Schema a user task declares, enforced with marshmallow.

A user task may carry a ``formSchema`` property (a JSON Schema subset the BPMN editor can
edit). It is compiled once per definition version and element into a marshmallow schema,
and completion data is validated against it before the workflow sees anything. Tasks
without a form still get the generic checks: a JSON object of identifier-like keys, within
the size limit, because every key becomes a variable in scripts and gateways.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any

import orjson
from marshmallow import EXCLUDE, RAISE, Schema, fields, validate
from marshmallow import ValidationError as MarshmallowError

from .errors import DeploymentError, ValidationFailed

_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
#: Names the script sandbox defines; task data under them would break every script task.
RESERVED_KEYS = frozenset({"datetime", "date", "timedelta"})
_SIMPLE = {
    "string": fields.String,
    "integer": fields.Integer,
    "number": fields.Float,
    "boolean": fields.Boolean,
}


def _field_for(name: str, spec: dict[str, Any], required: bool) -> fields.Field:
    kind = spec.get("type", "string")
    validators: list[Any] = []
    if "enum" in spec:
        validators.append(validate.OneOf(spec["enum"]))
    if "minimum" in spec or "maximum" in spec:
        validators.append(validate.Range(min=spec.get("minimum"), max=spec.get("maximum")))
    if kind == "string" and ("minLength" in spec or "maxLength" in spec):
        validators.append(validate.Length(min=spec.get("minLength"), max=spec.get("maxLength")))
    options: dict[str, Any] = {"required": required, "validate": validators,
                               "allow_none": not required}
    if kind in _SIMPLE:
        if kind == "integer":
            options["strict"] = True
        if kind == "string" and required and spec.get("minLength", 1) > 0:
            validators.append(validate.Length(min=max(1, spec.get("minLength", 1))))
        return _SIMPLE[kind](**options)
    if kind == "array":
        if "minItems" in spec or "maxItems" in spec:
            validators.append(validate.Length(min=spec.get("minItems"), max=spec.get("maxItems")))
        items = spec.get("items", {"type": "string"})
        inner = (fields.Nested(schema_class(json.dumps(items, sort_keys=True)))
                 if items.get("type") == "object" else _field_for(name, items, True))
        return fields.List(inner, **options)
    if kind == "object":
        return fields.Nested(schema_class(json.dumps(spec, sort_keys=True)), **options)
    raise DeploymentError(f"form field '{name}' has unsupported type '{kind}'")


@lru_cache(maxsize=1024)
def schema_class(schema_json: str) -> type[Schema]:
    """Compile a JSON Schema object (as canonical JSON text) into a marshmallow class."""
    spec = json.loads(schema_json)
    if spec.get("type", "object") != "object":
        raise DeploymentError("a formSchema must describe an object")
    required = set(spec.get("required", []))
    attrs: dict[str, Any] = {
        name: _field_for(name, field_spec, name in required)
        for name, field_spec in spec.get("properties", {}).items()
    }
    unknown = EXCLUDE if spec.get("additionalProperties") is True else RAISE
    attrs["Meta"] = type("Meta", (), {"unknown": unknown})
    return Schema.from_dict(attrs, name="TaskForm")


def compile_form(raw: str | None) -> type[Schema] | None:
    if not raw:
        return None
    try:
        spec = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise DeploymentError(f"formSchema is not valid JSON: {exc.msg} at column {exc.colno}")\
            from None
    return schema_class(json.dumps(spec, sort_keys=True))


def validate_task_data(data: Any, form: type[Schema] | None, *, max_bytes: int) -> dict[str, Any]:
    """Return the cleaned data or raise ``ValidationFailed`` naming each bad field."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ValidationFailed("task data must be a JSON object", {"_schema": ["not an object"]})
    bad_keys = [k for k in data
                if not isinstance(k, str) or not _KEY.match(k) or k in RESERVED_KEYS]
    if bad_keys:
        raise ValidationFailed(
            "field names must start with a letter, use only letters, digits and _, and not be "
            f"one of {', '.join(sorted(RESERVED_KEYS))}",
            {str(k): ["invalid field name"] for k in bad_keys})
    try:
        size = len(orjson.dumps(data))
    except TypeError as exc:
        raise ValidationFailed(f"task data must be JSON: {exc}") from None
    if size > max_bytes:
        raise ValidationFailed(f"task data is {size} bytes; the limit is {max_bytes}",
                               {"_schema": ["too large"]})
    if form is None:
        return dict(data)
    try:
        return dict(form().load(data))
    except MarshmallowError as exc:
        messages = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
        fields_named = ", ".join(sorted(str(k) for k in messages))
        raise ValidationFailed(f"invalid form data in: {fields_named}", messages) from None
