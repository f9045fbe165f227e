"""The audit page (/console/audit): every administrative action, newest first, filtered by
who, what, which instance or target text and dates, in keyset pages."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

import marshmallow as ma
from flask import render_template, request, url_for

from engine.services import audit as audit_service
from engine.services.audit import AuditFilter

from ..runtime import runtime
from . import bp
from .query import CHINA

PARAMS = ("actor", "action", "instance", "target", "since", "until", "before")


class AuditArgs(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE

    actor = ma.fields.String(validate=ma.validate.Length(max=255))
    action = ma.fields.String(validate=ma.validate.Length(max=64))
    instance = ma.fields.Integer(validate=ma.validate.Range(min=1))
    target = ma.fields.String(validate=ma.validate.Length(max=255))
    since = ma.fields.Date()
    until = ma.fields.Date()
    before = ma.fields.String(validate=ma.validate.Regexp(r"^[0-9T:.+\-]+~[0-9]+$"))


def _cursor(value: str | None) -> tuple[datetime, int] | None:
    if not value:
        return None
    moment, _sep, ident = value.rpartition("~")
    try:
        return datetime.fromisoformat(moment).astimezone(UTC), int(ident)
    except ValueError:
        return None


def _day(value: Any, shift: int = 0) -> datetime | None:
    if value is None:
        return None
    return datetime.combine(value + timedelta(days=shift), time(), tzinfo=CHINA)


@bp.get("/audit")
def audit() -> Any:
    raw = {k: v.strip() for k in PARAMS if (v := request.args.get(k, "")) and v.strip()}
    try:
        args = AuditArgs().load(raw)
        errors: dict[str, Any] = {}
    except ma.ValidationError as exc:
        errors = exc.normalized_messages()
        args = AuditArgs().load({k: v for k, v in raw.items() if k not in errors})
    flt = AuditFilter(actor=args.get("actor"), action=args.get("action"),
                      instance_id=args.get("instance"), target=args.get("target"),
                      since=_day(args.get("since")), until=_day(args.get("until"), 1),
                      before=_cursor(args.get("before")))
    with runtime().uow(write=False) as uow:
        page = audit_service.list_audit(uow, flt)
        actions = audit_service.audit_actions(uow)
    clean: dict[str, Any] = {k: v for k, v in raw.items() if k not in errors and k != "before"}
    next_url = (url_for("console.audit", **clean, before=f"{page.next_before[0].isoformat()}"
                        f"~{page.next_before[1]}") if page.next_before else None)
    return render_template("console/audit.html", page=page, args=clean, errors=errors,
                           actions=actions, next_url=next_url), 400 if errors else 200
