"""Task form validation: the JSON Schema a user task declares, enforced with marshmallow
field by field and then, for the rest of the schema, with ``jsonschema``.

A user task may carry a ``formSchema`` property (a JSON Schema subset the BPMN editor can
edit), inline or from SpiffArena's ``formJsonSchemaFilename`` file (``engine.form_files``).
``normalise`` first rewrites the spellings react-jsonschema-form accepts into the ones the
compiler and the page's form generator read: local ``$ref``s (``#/definitions/…``,
``#/$defs/…``) replaced by what they point to, and enumerations written as ``oneOf`` /
``anyOf`` of ``{"const", "title"}`` turned into ``enum`` with their titles kept in
``enumNames`` (rjsf's own name for them), and file inputs (``format: data-url``) as
the reference to the stored file that task data keeps (``engine.file_inputs``). It is
compiled once per definition version and
element into a marshmallow schema,
and completion data is validated against it before the workflow sees anything. Tasks
without a form still get the generic checks: a JSON object of identifier-like keys, within
the size limit, because every key becomes a variable in scripts and gateways.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from functools import lru_cache
from typing import Any

import orjson
from jsonschema import Draft7Validator
from jsonschema.exceptions import SchemaError
from jsonschema.validators import validator_for
from marshmallow import EXCLUDE, RAISE, Schema, fields, validate
from marshmallow import ValidationError as MarshmallowError

from .errors import DeploymentError, ValidationFailed
from .file_inputs import nested_file_inputs, normalise_file_input

_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
#: Names the script sandbox defines; task data under them would break every script task.
RESERVED_KEYS = frozenset({"datetime", "date", "timedelta"})
_SIMPLE = {
    "string": fields.String,
    "integer": fields.Integer,
    "number": fields.Float,
    "boolean": fields.Boolean,
}


#: How deep ``$ref``s may nest (a schema referring to itself would never end).
MAX_REF_DEPTH = 16


def _resolve(root: dict[str, Any], ref: str) -> dict[str, Any]:
    if not ref.startswith("#/"):
        raise DeploymentError(f"form $ref '{ref}' is not local; only references into the "
                              "schema itself (#/definitions/… or #/$defs/…) are supported")
    target: Any = root
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(target, dict) or part not in target:
            raise DeploymentError(f"form $ref '{ref}' points to nothing in the schema; "
                                  "add it under definitions (or $defs)")
        target = target[part]
    if not isinstance(target, dict):
        raise DeploymentError(f"form $ref '{ref}' must point to a schema object")
    return target


def _const_choices(options: Any) -> tuple[list[Any], list[str]] | None:
    """``[{"const": "a", "title": "A"}, …]`` -> (values, titles), if every option is one."""
    if not isinstance(options, list) or not options:
        return None
    if not all(isinstance(o, dict) and "const" in o for o in options):
        return None
    return [o["const"] for o in options], [str(o.get("title", o["const"])) for o in options]


def _normalised(root: dict[str, Any], spec: Any, depth: int) -> Any:
    if isinstance(spec, list):
        return [_normalised(root, item, depth) for item in spec]
    if not isinstance(spec, dict):
        return spec
    if "$ref" in spec:
        if depth >= MAX_REF_DEPTH:
            raise DeploymentError(f"form $ref '{spec['$ref']}' nests more than "
                                  f"{MAX_REF_DEPTH} deep (does it refer to itself?)")
        target = _resolve(root, str(spec["$ref"]))
        merged = {**target, **{k: v for k, v in spec.items() if k != "$ref"}}
        return _normalised(root, merged, depth + 1)
    out = {key: (_normalised(root, value, depth)
                 if key not in ("definitions", "$defs", "default", "enum", "const") else value)
           for key, value in spec.items() if key not in ("definitions", "$defs")}
    _lift_conditional_properties(out)
    for spelling in ("oneOf", "anyOf"):
        choices = _const_choices(out.get(spelling))
        if choices is not None and "enum" not in out:
            out["enum"], out["enumNames"] = choices
            del out[spelling]
            if "type" not in out:
                out["type"] = "integer" if all(isinstance(v, int) and not isinstance(v, bool)
                                               for v in choices[0]) else "string"
    return normalise_file_input(out)


def _conditional_parts(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """The sub-schemas that may add properties under a condition: ``then`` / ``else``,
    ``dependencies`` given as schemas (``dependentSchemas`` in 2020-12), and ``allOf`` /
    ``oneOf`` / ``anyOf`` members."""
    parts: list[Any] = [spec.get("then"), spec.get("else")]
    for key in ("dependencies", "dependentSchemas"):
        given = spec.get(key)
        if isinstance(given, dict):
            parts.extend(given.values())
    for key in ("allOf", "oneOf", "anyOf"):
        given = spec.get(key)
        if isinstance(given, list):
            parts.extend(given)
    return [p for p in parts if isinstance(p, dict)]


def _lift_conditional_properties(spec: dict[str, Any]) -> None:
    """Properties a condition adds (``then: {properties: {…}}``, rjsf's dependent fields)
    become optional properties of the object itself, so the form shows them and the
    field-by-field compiler knows them; whether they are required stays the condition's,
    which the ``jsonschema`` validator judges."""
    if spec.get("type", "object") != "object" or "properties" not in spec:
        return
    properties = spec["properties"]
    if not isinstance(properties, dict):
        return
    pending = _conditional_parts(spec)
    while pending:  # rjsf nests them: dependencies: {a: {oneOf: [{properties: …}]}}
        part = pending.pop(0)
        pending.extend(_conditional_parts(part))
        for name, sub in (part.get("properties") or {}).items():
            if name not in properties and isinstance(sub, dict) and "const" not in sub:
                properties[name] = sub


def normalise(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema as the compiler and the form generator read it: ``$ref``s resolved,
    ``oneOf``/``anyOf`` enumerations as ``enum`` (+ ``enumNames``)."""
    result = _normalised(schema, schema, 0)
    return result if isinstance(result, dict) else {}


def _date_check(kind: str) -> Any:
    """A validator for ``format: date`` / ``date-time`` strings (ISO 8601, as the browser's
    date and datetime-local inputs send them)."""
    parse = date.fromisoformat if kind == "date" else datetime.fromisoformat

    def check(value: str) -> None:
        try:
            parse(value)
        except (TypeError, ValueError):
            raise MarshmallowError(f"Not a valid {kind}.") from None
    return check


def _validators(kind: str, spec: dict[str, Any]) -> list[Any]:
    validators: list[Any] = []
    if kind == "string" and spec.get("format") in ("date", "date-time"):
        validators.append(_date_check("date" if spec["format"] == "date" else "datetime"))
    if "enum" in spec:
        validators.append(validate.OneOf(spec["enum"]))
    if "minimum" in spec or "maximum" in spec:
        validators.append(validate.Range(min=spec.get("minimum"), max=spec.get("maximum")))
    if kind == "string" and ("minLength" in spec or "maxLength" in spec):
        validators.append(validate.Length(min=spec.get("minLength"), max=spec.get("maxLength")))
    return validators


def _field_for(name: str, spec: dict[str, Any], required: bool) -> fields.Field:
    kind = spec.get("type", "string")
    validators = _validators(kind, spec)
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
    if not isinstance(spec, dict) or spec.get("type", "object") != "object":
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
    if not isinstance(spec, dict):
        raise DeploymentError("a formSchema must describe an object")
    return _form_class(json.dumps(normalise(spec), sort_keys=True))


@lru_cache(maxsize=1024)
def _form_class(schema_json: str) -> type[Schema]:
    """The marshmallow class of a whole form, carrying the ``jsonschema`` validator of the
    same schema (``JSON_VALIDATOR``): marshmallow types and checks each field (its messages
    are the ones the task page words for people); the validator then judges what a field
    by field compiler cannot — ``dependencies``, ``if``/``then``/``else``, ``pattern``,
    ``const``, ``allOf``/``anyOf``/``oneOf`` of schemas — as the JSON Schema draft the form
    declares (``$schema``; draft 7, react-jsonschema-form's, when none)."""
    spec = json.loads(schema_json)
    nested = nested_file_inputs(spec)
    if nested:
        raise DeploymentError(f"file inputs (format: data-url) are taken as the form's own "
                              f"properties only, one file or a list of files; move "
                              f"{', '.join(nested)} up to the top of the form")
    validator_class = validator_for(spec, default=Draft7Validator)
    try:
        validator_class.check_schema(spec)
    except SchemaError as exc:
        where = "/".join(str(p) for p in exc.path) or "the top"
        raise DeploymentError(f"the form's JSON Schema is not valid at {where}: "
                              f"{exc.message}") from None
    form = type("TaskForm", (schema_class(schema_json),), {})
    setattr(form, JSON_VALIDATOR, validator_class(spec))
    return form


#: The attribute of a compiled form holding its ``jsonschema`` validator.
JSON_VALIDATOR = "json_schema_validator"


def form_schema(form: type[Schema] | None) -> dict[str, Any] | None:
    """The normalised JSON Schema a compiled form (``compile_form``) validates with."""
    validator = getattr(form, JSON_VALIDATOR, None)
    schema = getattr(validator, "schema", None)
    return schema if isinstance(schema, dict) else None
_MISSING_NAME = re.compile(r"^'([^']+)' is a (?:required property|dependency of )")


def _schema_errors(validator: Any, data: dict[str, Any]) -> dict[str, Any]:
    """The validator's errors nested like the data (as marshmallow's are), a missing
    property keyed by its own name and said as marshmallow says it."""
    out: dict[str, Any] = {}
    errors = [e for error in validator.iter_errors(data) for e in _chosen(error)]
    for error in sorted(errors, key=lambda e: list(map(str, e.absolute_path))):
        path = [str(p) for p in error.absolute_path]
        message = error.message
        missing = _MISSING_NAME.match(message)
        if missing and error.validator in ("required", "dependencies", "dependentRequired"):
            path.append(missing.group(1))
            message = "Missing data for required field."
        target = out
        for part in path:
            target = target.setdefault(part, {})
        target.setdefault("_messages", []).append(message)
    return _lists(out)


def _chosen(error: Any) -> list[Any]:
    """A failed ``oneOf`` / ``anyOf`` as the errors of the one member it meant: the only
    member whose ``const`` / ``enum`` conditions the data meets (rjsf's dependent fields:
    the member for the value chosen) — else the error itself."""
    if error.validator not in ("oneOf", "anyOf") or not error.context:
        return [error]
    by_member: dict[Any, list[Any]] = {}
    for sub in error.context:
        by_member.setdefault(sub.relative_schema_path[0], []).append(sub)
    members = error.validator_value if isinstance(error.validator_value, list) else []
    meant = [errors for index, errors in by_member.items()
             if not any(e.validator in ("const", "enum") for e in errors)]
    failed_all = len(by_member) == len(members)
    if failed_all and len(meant) == 1:
        return [e for sub in meant[0] for e in _chosen(sub)]
    return [error]


def _without_nulls(value: Any) -> Any:
    """The data without its ``null`` members: marshmallow takes null for "not given" in an
    optional field, and so does the validator then."""
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def _lists(node: dict[str, Any]) -> Any:
    messages = node.pop("_messages", [])
    if not node:
        return messages
    nested: dict[str, Any] = {key: _lists(value) for key, value in node.items()}
    if messages:
        nested["_schema"] = messages
    return nested


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
        clean = dict(form().load(data))
    except MarshmallowError as exc:
        messages = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
        fields_named = ", ".join(sorted(str(k) for k in messages))
        raise ValidationFailed(f"invalid form data in: {fields_named}", messages) from None
    validator = getattr(form, JSON_VALIDATOR, None)
    if validator is not None:
        found = _schema_errors(validator, _without_nulls(clean))
        if found:
            messages = found if isinstance(found, dict) else {"_schema": found}
            fields_named = ", ".join(sorted(str(k) for k in messages))
            raise ValidationFailed(f"invalid form data in: {fields_named}", messages)
    return clean
