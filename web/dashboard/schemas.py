"""What the dashboard and the clock controls accept. Messages are lazy translations, so a
refusal reads in the user's language; every error names the field and says what to enter.

Times typed into the page are China time (the programme's) unless they carry an offset.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import marshmallow as ma
from flask_babel import lazy_gettext as _l

from engine.programme.services.dashboard_milestones import CHINA
from engine.services.admin_rule import MAX_REASON

FIRST_YEAR, LAST_YEAR = 2000, 2100
#: The longest single move of the clock: the whole 2010–2012 programme and then some.
MAX_ADVANCE_DAYS = 1830


class LocalDateTime(ma.fields.Field):
    """``2011-01-04T09:00`` (an ``<input type="datetime-local">``), China time without an
    offset."""

    default_error_messages = {  # noqa: RUF012  (marshmallow's own convention)
        "invalid": _l("Enter a date and time like 2011-01-04T09:00 (China time)."),
        "range": _l("Enter a time between the years %(first)d and %(last)d.",
                    first=FIRST_YEAR, last=LAST_YEAR),
    }

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        if not isinstance(value, str):
            raise self.make_error("invalid")
        try:
            found = datetime.fromisoformat(value.strip())
        except ValueError as exc:
            raise self.make_error("invalid") from exc
        if not FIRST_YEAR <= found.year <= LAST_YEAR:
            raise self.make_error("range")
        return found if found.tzinfo is not None else found.replace(tzinfo=CHINA)


def _reason() -> ma.fields.String:
    return ma.fields.String(
        required=True, validate=ma.validate.Length(
            min=1, max=MAX_REASON,
            error=_l("Give a reason of 1 to %(max)d characters.", max=MAX_REASON)),
        error_messages={"required": _l("Give a reason: it is kept in the audit log."),
                        "invalid": _l("Give a reason as text.")})


class _Form(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE  # the CSRF token and the submit button

    @ma.pre_load
    def _strip(self, data: Any, **_: Any) -> Any:
        """Blank fields count as missing; text is trimmed."""
        if not hasattr(data, "items"):
            return data
        return {k: v.strip() for k, v in data.items() if isinstance(v, str) and v.strip()}


class SetClockSchema(_Form):
    at = LocalDateTime(required=True, error_messages={
        "required": _l("Enter the time to move the clock to.")})
    reason = _reason()


class AdvanceClockSchema(_Form):
    days = ma.fields.Integer(load_default=0, strict=False, validate=ma.validate.Range(
        min=0, max=MAX_ADVANCE_DAYS,
        error=_l("Enter whole days from 0 to %(max)d.", max=MAX_ADVANCE_DAYS)),
        error_messages={"invalid": _l("Enter whole days as a number, e.g. 7.")})
    hours = ma.fields.Integer(load_default=0, strict=False, validate=ma.validate.Range(
        min=0, max=23, error=_l("Enter hours from 0 to 23.")),
        error_messages={"invalid": _l("Enter hours as a number, e.g. 12.")})
    reason = _reason()

    @ma.validates_schema
    def _forward(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("days", 0) == 0 and data.get("hours", 0) == 0:
            raise ma.ValidationError(_l("Advance by at least one hour."), "days")


class YearSchema(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE

    year = ma.fields.Integer(load_default=None, validate=ma.validate.Range(
        min=FIRST_YEAR, max=LAST_YEAR,
        error=_l("Choose a year between %(first)d and %(last)d.", first=FIRST_YEAR,
                 last=LAST_YEAR)),
        error_messages={"invalid": _l("The year is a number, e.g. 2011.")})


def errors_text(errors: dict[str, Any]) -> dict[str, list[str]]:
    """marshmallow's errors with the lazy messages turned into text (in the request's
    language)."""
    return {name: [str(m) for m in (found if isinstance(found, list) else [found])]
            for name, found in errors.items()}
