"""The instance list's query string, validated with marshmallow into an engine
``InstanceQuery``; a bad value is reported (field and reason), never silently dropped, so
an administrator never acts on a batch chosen by a filter other than the one they typed."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any

import marshmallow as ma
from flask import request, url_for
from werkzeug.datastructures import MultiDict

from engine.models import InstanceStatus
from engine.services.console_list import PAGE_SIZES, SORTS, InstanceQuery

#: Dates in the filter are Beijing calendar days.
CHINA = timezone(timedelta(hours=8))
PARAMS = ("process", "version", "status", "unit", "business_key", "step", "overdue",
          "started_from", "started_to", "updated_from", "updated_to", "var_name", "var_value",
          "sort", "dir", "limit", "after")


class QueryArgs(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE

    process = ma.fields.String(validate=ma.validate.Length(max=255))
    version = ma.fields.Integer(validate=ma.validate.Range(min=1))
    status = ma.fields.String(validate=ma.validate.OneOf([s.value for s in InstanceStatus]))
    unit = ma.fields.String(validate=ma.validate.Length(max=64))
    business_key = ma.fields.String(validate=ma.validate.Length(max=255))
    step = ma.fields.String(validate=ma.validate.Length(max=255))
    overdue = ma.fields.Boolean()
    started_from = ma.fields.Date()
    started_to = ma.fields.Date()
    updated_from = ma.fields.Date()
    updated_to = ma.fields.Date()
    var_name = ma.fields.String(validate=ma.validate.Length(max=64))
    var_value = ma.fields.String(validate=ma.validate.Length(max=255))
    sort = ma.fields.String(validate=ma.validate.OneOf(list(SORTS)))
    dir = ma.fields.String(validate=ma.validate.OneOf(["asc", "desc"]))
    limit = ma.fields.Integer(validate=ma.validate.OneOf(PAGE_SIZES))
    after = ma.fields.String(validate=ma.validate.Length(max=80))


def _day(value: date | None, *, end: bool = False) -> datetime | None:
    """A Beijing calendar day as a UTC instant; ``end``: the start of the next day."""
    if value is None:
        return None
    return datetime.combine(value + timedelta(days=1 if end else 0), time(),
                            tzinfo=CHINA).astimezone(UTC)


def parse(args: MultiDict[str, str]) -> tuple[InstanceQuery, dict[str, str], dict[str, Any]]:
    """The query, the cleaned parameters (for links and the form), and errors by field."""
    raw = {k: v.strip() for k in PARAMS if (v := args.get(k, "")) and v.strip()}
    try:
        loaded = QueryArgs().load(raw)
        errors: dict[str, Any] = {}
    except ma.ValidationError as exc:
        errors = exc.normalized_messages() if isinstance(exc.messages, dict) else {}
        loaded = QueryArgs().load({k: v for k, v in raw.items() if k not in errors})
    query = InstanceQuery(
        process=loaded.get("process"), version=loaded.get("version"),
        status=loaded.get("status"), unit=loaded.get("unit"),
        business_key=loaded.get("business_key"), step=loaded.get("step"),
        overdue=bool(loaded.get("overdue", False)),
        started_from=_day(loaded.get("started_from")),
        started_to=_day(loaded.get("started_to"), end=True),
        updated_from=_day(loaded.get("updated_from")),
        updated_to=_day(loaded.get("updated_to"), end=True),
        var_name=loaded.get("var_name"), var_value=loaded.get("var_value"),
        sort=loaded.get("sort", "updated"), descending=loaded.get("dir", "desc") == "desc",
        limit=loaded.get("limit", 50), after=loaded.get("after"))
    clean = {k: v for k, v in raw.items() if k not in errors}
    return query, clean, errors


def to_args(query: InstanceQuery) -> dict[str, str]:
    """A stored query (``InstanceQuery.as_params``) back as query-string parameters."""
    out: dict[str, str] = {}
    for key, value in query.as_params().items():
        if key in ("started_from", "updated_from") and isinstance(value, str):
            out[key] = datetime.fromisoformat(value).astimezone(CHINA).date().isoformat()
        elif key in ("started_to", "updated_to") and isinstance(value, str):
            moment = datetime.fromisoformat(value).astimezone(CHINA)
            out[key] = (moment.date() - timedelta(days=1)).isoformat()
        elif key == "descending":
            out["dir"] = "desc" if value else "asc"
        elif key == "overdue":
            out[key] = "true" if value else ""
        else:
            out[key] = str(value)
    return {k: v for k, v in out.items() if v}


def url_with(**changes: Any) -> str:
    """The list's URL with some parameters changed (None removes one); any change but the
    page position starts again from the first page."""
    args: dict[str, Any] = {k: v for k, v in request.args.items() if k in PARAMS and v}
    if "after" not in changes:
        args.pop("after", None)
    for key, value in changes.items():
        if value is None or value == "":
            args.pop(key, None)
        else:
            args[key] = str(value)
    return url_for("console.instances", **args)


def list_url(args: dict[str, Any]) -> str:
    return url_for("console.instances", **args)
