"""Process instances: list, read, history; start (administrators and the city's discipline
commission); steer (administrators only).

Administrators and the commission list every instance; anyone else lists the instances
they took part in (started, or completed a task in — 我参与的) and may read any instance
they started, acted in or may see a task of (``scope.may_see_instance``).

Steering an instance (suspend, resume, terminate, retry, move its token, migrate it, change
its variables, reassign its task) is an administrative act: ``web.api.instance_admin``."""

from __future__ import annotations

from typing import Any

import marshmallow as ma

from engine.actors import Actor
from engine.models import InstanceStatus
from engine.services import inbox, instances
from engine.services.instances import InstanceFilter

from ..runtime import runtime
from .base import Blueprint, PageArgs, actor, offset, oversees_all, page_of, page_schema, require
from .errors import fields_under
from .scope import may_see_instance, may_start

bp = Blueprint("instances", __name__, url_prefix="/instances",
               description="Process instances: list, read, history, start and steer")

STARTING = "Only administrators and the city's discipline commission may start instances."


class InstanceArgs(PageArgs):
    status = ma.fields.String(validate=ma.validate.OneOf([s.value for s in InstanceStatus]))
    process = ma.fields.String(validate=ma.validate.Length(min=1, max=255))
    business_key = ma.fields.String(validate=ma.validate.Length(min=1, max=255))


class InstanceSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    process_id = ma.fields.String(required=True)
    business_key = ma.fields.String(allow_none=True)
    status = ma.fields.String(required=True)
    started_at = ma.fields.DateTime(required=True)
    updated_at = ma.fields.DateTime(required=True)
    started_by = ma.fields.String(allow_none=True)


class InstanceDetailSchema(InstanceSchema):
    definition_id = ma.fields.Integer(required=True)
    completed_at = ma.fields.DateTime(allow_none=True)
    suspended_from = ma.fields.String(allow_none=True)
    error_message = ma.fields.String(allow_none=True)
    error_element = ma.fields.String(allow_none=True)
    parent_instance_id = ma.fields.Integer(allow_none=True)


class EventSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    at = ma.fields.DateTime(required=True)
    type = ma.fields.String(required=True)
    actor = ma.fields.String(allow_none=True)
    task_id = ma.fields.UUID(allow_none=True)
    element_id = ma.fields.String(allow_none=True)
    data = ma.fields.Dict(allow_none=True)


class StartSchema(ma.Schema):
    process_id = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=255))
    business_key = ma.fields.String(validate=ma.validate.Length(min=1, max=255))
    version = ma.fields.Integer(validate=ma.validate.Range(min=1))
    data = ma.fields.Dict(keys=ma.fields.String(), load_default=dict)


InstancePage = page_schema(InstanceSchema, "InstancePage")


def _involved(who: Actor, args: dict[str, Any]) -> tuple[list[Any], int]:
    """我参与的, filtered: a person takes part in few instances, so the filters beyond the
    process apply to that short list."""
    with runtime().uow(write=False) as uow:
        rows, _total = inbox.involved_instances(uow, who, process_id=args.get("process"),
                                                   limit=inbox.COUNT_CAP)
    rows = [r for r in rows if args.get("status") in (None, r.status)
            and args.get("business_key") in (None, r.business_key)]
    start = offset(args)
    return rows[start:start + args["page_size"]], len(rows)


@bp.route("")
@bp.arguments(InstanceArgs, location="query")
@bp.response(200, InstancePage)
@bp.refuses(401)
def list_instances(args: dict[str, Any]) -> Any:
    """Instances, newest first: every one for administrators and the city's discipline
    commission, else those the caller took part in"""
    who = actor()
    if not oversees_all(who):
        return page_of(*_involved(who, args), args)
    flt = InstanceFilter(status=args.get("status"), process_id=args.get("process"),
                         business_key=args.get("business_key"), limit=args["page_size"],
                         offset=offset(args))
    with runtime().uow(write=False) as uow:
        rows, total = instances.list_instances(uow, flt)
    return page_of(rows, total, args)


def _visible(instance_id: int) -> Any:
    who = actor()
    with runtime().uow(write=False) as uow:
        instance = instances.get_instance(uow, instance_id)
        require(may_see_instance(uow, who, instance), "You may not see this instance.")
    return instance


@bp.route("/<int:instance_id>")
@bp.response(200, InstanceDetailSchema)
@bp.refuses(401, 403, 404)
def get_instance(instance_id: int) -> Any:
    """One instance"""
    return _visible(instance_id)


@bp.route("/<int:instance_id>/events")
@bp.response(200, EventSchema(many=True))
@bp.refuses(401, 403, 404)
def instance_events(instance_id: int) -> Any:
    """The instance's history, oldest first"""
    _visible(instance_id)
    with runtime().uow(write=False) as uow:
        return instances.instance_events(uow, instance_id)


@bp.route("", methods=["POST"])
@bp.arguments(StartSchema)
@bp.response(201, InstanceDetailSchema)
@bp.refuses(400, 401, 403, 404, 422)
def start_instance(body: dict[str, Any]) -> Any:
    """Start the latest (or the given) version of a process and run it until it waits"""
    who = actor()
    require(may_start(who), STARTING)
    with runtime().uow() as uow, fields_under("data"):
        return instances.start_instance(uow, body["process_id"], body.get("business_key"),
                                       body["data"], version=body.get("version"), actor=who)
