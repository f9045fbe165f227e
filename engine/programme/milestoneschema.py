"""Marshmallow schemas for a campaign's milestone plan: the ``milestones`` start data of
``campaign`` and an edit of one milestone after the start.

A deadline is a day (``2011-06-30``: checked at 09:00 Beijing time, as the source's dates
are read) or a date-time with its offset; a naive date-time is refused rather than guessed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from ..errors import ValidationFailed

CHINA = timezone(timedelta(hours=8), "+08:00")
#: A milestone day is checked at this local time.
CHECK_TIME = time(9, 0)
DEFAULT_WARN_DAYS = 14
MAX_WARN_DAYS = 365


@dataclass(frozen=True)
class MilestoneSpec:
    name: str
    title: str
    default_day: date
    #: ``engine.programme.coverage.RULES``; by default the rule of the same name.
    rule: str


#: The source's timetable: "2010年底前启动……2011年6月,在全市所有部门和单位推开;2011年底,初步
#: 形成……工作网络……;2012年底,形成比较完善的……长效机制".
MILESTONES = (
    MilestoneSpec("launch", "启动", date(2010, 12, 31), "launch"),
    MilestoneSpec("rollout", "全面推开", date(2011, 6, 30), "rollout"),
    MilestoneSpec("initial_network", "初步形成网络", date(2011, 12, 31), "initial_network"),
    MilestoneSpec("long_term_mechanism", "形成长效机制", date(2012, 12, 31),
                  "long_term_mechanism"),
)
NAMES = tuple(m.name for m in MILESTONES)


def at_check_time(day: date) -> datetime:
    return datetime.combine(day, CHECK_TIME, CHINA).astimezone(UTC)


class Deadline(fields.Field):
    """A day (at 09:00 +08:00) or an aware ISO 8601 date-time → aware UTC datetime."""

    def _deserialize(self, value: Any, attr: str | None, data: Any,
                     **kwargs: Any) -> datetime:
        if isinstance(value, datetime):
            parsed = value
        elif isinstance(value, date):
            return at_check_time(value)
        elif isinstance(value, str) and value.strip():
            text = value.strip()
            try:
                if len(text) == 10:
                    return at_check_time(date.fromisoformat(text))
                parsed = datetime.fromisoformat(text)
            except ValueError:
                raise ValidationError(f"'{text}' is not a date (2011-06-30) or a date-time "
                                      "(2011-06-30T09:00:00+08:00)") from None
        else:
            raise ValidationError("give a date (2011-06-30) or a date-time with its offset")
        if parsed.tzinfo is None:
            raise ValidationError("a date-time needs its offset, e.g. +08:00")
        return parsed.astimezone(UTC)


class MilestoneEntry(Schema):
    due = Deadline(required=True)
    warn_days = fields.Integer(strict=True, validate=validate.Range(0, MAX_WARN_DAYS))


class MilestoneEdit(Schema):
    """One milestone changed after the start: a new deadline, a new warning, or both."""

    name = fields.String(required=True, validate=validate.OneOf(NAMES))
    due = Deadline()
    warn_days = fields.Integer(strict=True, validate=validate.Range(0, MAX_WARN_DAYS))


def _errors(exc: ValidationError, prefix: str) -> dict[str, object]:
    messages = exc.normalized_messages()
    if isinstance(messages, dict):
        return {f"{prefix}.{k}" if prefix else str(k): v for k, v in messages.items()}
    return {prefix or "_schema": messages}


def _fail(what: str, errors: dict[str, object]) -> ValidationFailed:
    detail = "; ".join(f"{field}: {' '.join(map(str, m)) if isinstance(m, list) else m}"
                       for field, m in errors.items())
    return ValidationFailed(f"invalid {what}: {detail}", errors)


def load_plan(raw: Any) -> dict[str, dict[str, Any]]:
    """The ``milestones`` start data → ``{name: {due_at, warn_days}}`` for all four.

    Each entry may be a deadline (``"2011-05-31"``) or ``{"due": …, "warn_days": n}``;
    a milestone not named keeps the source's date and 14 days' warning.
    """
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise _fail("milestones", {"milestones": [
            "must be an object such as {\"rollout\": \"2011-06-30\"}"]})
    unknown = sorted(set(raw) - set(NAMES))
    if unknown:
        raise _fail("milestones", {f"milestones.{n}": [
            f"unknown milestone (known: {', '.join(NAMES)})"] for n in unknown})
    plan: dict[str, dict[str, Any]] = {}
    errors: dict[str, object] = {}
    for spec in MILESTONES:
        entry = raw.get(spec.name)
        if entry is None:
            plan[spec.name] = {"due_at": at_check_time(spec.default_day),
                               "warn_days": DEFAULT_WARN_DAYS}
            continue
        try:
            loaded = MilestoneEntry().load(entry if isinstance(entry, Mapping)
                                           else {"due": entry})
        except ValidationError as exc:
            errors.update(_errors(exc, f"milestones.{spec.name}"))
            continue
        plan[spec.name] = {"due_at": loaded["due"],
                           "warn_days": loaded.get("warn_days", DEFAULT_WARN_DAYS)}
    if errors:
        raise _fail("milestones", errors)
    return plan


def load_edit(raw: Mapping[str, Any]) -> dict[str, Any]:
    """An edit: ``name`` and at least one of ``due`` and ``warn_days``."""
    try:
        loaded: dict[str, Any] = MilestoneEdit().load(
            {k: v for k, v in raw.items() if v is not None})
    except ValidationError as exc:
        raise _fail("milestone edit", _errors(exc, "")) from None
    if "due" not in loaded and "warn_days" not in loaded:
        raise _fail("milestone edit", {"_schema": [
            "nothing to change: give a new deadline (due) or warning days (warn_days)"]})
    return loaded
