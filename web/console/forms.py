"""The console's operation forms, validated with marshmallow before any service is called:
each field's error is specific and the request is refused whole (nothing is changed)."""

from __future__ import annotations

import json
from typing import Any

import marshmallow as ma
from werkzeug.datastructures import MultiDict

from engine.services.admin_rule import MAX_REASON

_REASON = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=MAX_REASON),
                           error_messages={"required": "Give a reason: it is kept in the "
                                                       "audit log."})


class ReasonForm(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE

    reason = _REASON


class VariableForm(ReasonForm):
    name = ma.fields.String(required=True, validate=[
        ma.validate.Length(min=1, max=64),
        ma.validate.Regexp(r"^[A-Za-z][A-Za-z0-9_]*$",
                           error="A variable name starts with a letter and has only letters, "
                                 "digits and _.")])
    value = ma.fields.String(required=True, validate=ma.validate.Length(max=100_000))


class ReassignForm(ReasonForm):
    to = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=255))


class MoveForm(ReasonForm):
    from_task = ma.fields.UUID(required=True)
    to = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=255))


class MigrateForm(ReasonForm):
    version = ma.fields.Integer(required=True, validate=ma.validate.Range(min=1))


class BatchForm(ReasonForm):
    operation = ma.fields.String(required=True, validate=ma.validate.OneOf(
        ["suspend", "resume", "terminate", "retry", "migrate"]))
    target_version = ma.fields.Integer(validate=ma.validate.Range(min=1), allow_none=True)


def load(schema: type[ma.Schema], form: MultiDict[str, str]) -> dict[str, Any]:
    """The form's values, stripped and validated; raises ``ma.ValidationError``."""
    raw = {k: v.strip() for k, v in form.items() if k != "csrf_token"}
    if raw.get("target_version") == "":
        raw.pop("target_version")
    return dict(schema().load(raw))


def json_or_text(value: str) -> Any:
    """A typed value: JSON when it parses (2012, true, "x", [1]), otherwise the text itself,
    so 财政局 need not be quoted."""
    try:
        return json.loads(value)
    except ValueError:
        return value


def first_error(exc: ma.ValidationError) -> str:
    messages = exc.normalized_messages()
    return "; ".join(f"{field}: {' '.join(map(str, msgs)) if isinstance(msgs, list) else msgs}"
                     for field, msgs in messages.items())
