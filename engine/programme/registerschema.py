"""Marshmallow schemas for what callers hand the risk-register services.

They check what the input shows on its own — known category, method, likelihood, harm, kind,
status; non-blank text; one tier; a year; a reviewer's written reason — and turn text into
values. Whether a code names a real post (or an official of the right unit) needs the
database: the register's services (``engine.programme.services.register_writes.by_code``)
check that, and report it under the same field.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from .models.register import (
    FoundBy,
    Harm,
    Likelihood,
    MeasureKind,
    MeasureStatus,
    RiskCategory,
    RiskStatus,
)
from .orgschema import CODE_PATTERN

TIERS = ("unit", "department", "post")
#: The programme ran from 2010; anything far outside is a typo.
FIRST_YEAR, LAST_YEAR = 2000, 2100
MAX_TEXT = 2000
#: "严格审核把关": a reviewer who changes a level explains why, in writing.
MIN_REASON = 10


class Text(fields.String):
    """Text with surrounding blanks removed; blank text is refused."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        if not text:
            raise ValidationError("must not be empty")
        return text


class Day(fields.Date):
    """A calendar date (ISO 8601 text or a ``date``); a date-time is refused, not truncated."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> date:
        if isinstance(value, datetime):
            raise ValidationError("a date without a time is required")
        return super()._deserialize(value, attr, data, **kwargs)


def _choice(values: type[StrEnum], *, required: bool = True) -> fields.String:
    return fields.String(required=required,
                         validate=validate.OneOf([v.value for v in values]))


def _text(*, required: bool = True) -> Text:
    return Text(required=required, validate=validate.Length(max=MAX_TEXT))


def _code(*, required: bool = False) -> fields.String:
    return fields.String(
        required=required, allow_none=not required,
        validate=validate.Regexp(CODE_PATTERN, error="'{input}' is not a code"))


def _year() -> fields.Integer:
    return fields.Integer(required=True, validate=validate.Range(FIRST_YEAR, LAST_YEAR))


def _level() -> fields.Integer:
    return fields.Integer(required=True, strict=True, validate=validate.OneOf((1, 2, 3)))


class RiskPointInput(Schema):
    """One risk as a discovery form lists it."""

    category = _choice(RiskCategory)
    description = _text()
    found_by = _choice(FoundBy)
    likelihood = _choice(Likelihood)
    harm = _choice(Harm)


class AddRiskPoints(Schema):
    """Risks found at one tier — exactly one of unit, department, post — in one year."""

    unit = _code()
    department = _code()
    post = _code()
    year = _year()
    points = fields.List(fields.Nested(RiskPointInput), required=True,
                         validate=validate.Length(min=1, max=200))
    source_instance = fields.Integer(allow_none=True, strict=True)

    @validates_schema
    def _one_tier(self, data: dict[str, Any], **kwargs: Any) -> None:
        given = [t for t in TIERS if data.get(t)]
        if not given:
            raise ValidationError({"tier": ["give the unit, department or post the risks "
                                            "were found at"]})
        if len(given) > 1:
            message = (f"a risk point belongs to one tier: give one of unit, department, "
                       f"post, not {' and '.join(given)}")
            raise ValidationError({t: [message] for t in given})


class UpdateRiskPoint(Schema):
    category = _choice(RiskCategory, required=False)
    description = _text(required=False)
    found_by = _choice(FoundBy, required=False)
    likelihood = _choice(Likelihood, required=False)
    harm = _choice(Harm, required=False)
    status = _choice(RiskStatus, required=False)
    reason = Text(allow_none=True, validate=validate.Length(max=MAX_TEXT))


class MeasureInput(Schema):
    kind = _choice(MeasureKind)
    description = _text()
    #: The official who carries the measure out (an official code of the risk's unit).
    owner = _code(required=True)
    due_date = Day(required=True)
    status = _choice(MeasureStatus, required=False)


class UpdateMeasure(Schema):
    kind = _choice(MeasureKind, required=False)
    description = _text(required=False)
    owner = _code(required=False)
    due_date = Day()
    status = _choice(MeasureStatus, required=False)
    reason = Text(allow_none=True, validate=validate.Length(max=MAX_TEXT))


class PostYear(Schema):
    post = _code(required=True)
    year = _year()


class UnitYear(Schema):
    unit = _code(required=True)
    year = _year()


REASON_REQUIRED = (f"a written reason of at least {MIN_REASON} characters is required to "
                   "change a level")


class Reason(fields.String):
    """The reviewer's written reason: at least ``MIN_REASON`` characters besides blanks."""

    def __init__(self) -> None:
        super().__init__(required=True, validate=validate.Length(max=MAX_TEXT),
                         error_messages={"required": REASON_REQUIRED, "null": REASON_REQUIRED})

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        if len(text) < MIN_REASON:
            raise ValidationError(REASON_REQUIRED)
        return text


class OverrideLevel(PostYear):
    level = _level()
    reason = Reason()


def flatten(messages: Mapping[Any, Any], prefix: str = "") -> dict[str, object]:
    """marshmallow's nested messages as ``{"points.0.category": [...]}``."""
    flat: dict[str, object] = {}
    for key, value in messages.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{path}."))
        else:
            flat[path] = value
    return flat
