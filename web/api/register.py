"""The risk register (信息档案) of a post: its page for a year, its history, adding risk
points, and its disposals (后期处置). Who may: the post's holder, its department head and
deputy in charge, the unit's principal and discipline officer — and, to read, the city's
discipline commission; to write, administrators (``scope``). A disposal is started by hand
only by the unit's discipline officer or the city's discipline commission, with a reason."""

from __future__ import annotations

from typing import Any

import marshmallow as ma

from engine.programme.models import FoundBy, Harm, Likelihood, RiskCategory
from engine.programme.services import (
    disposals,
    organisation,
    register_pages,
    register_risk_points,
)

from ..runtime import runtime
from .base import Blueprint, NamedSchema, actor, named, require
from .organisation import LeadersSchema
from .scope import FOUND_BY, may_add_risks, may_read_register, relation_to_post

bp = Blueprint("register", __name__, url_prefix="/posts",
               description="A post's risk register: risk points, grading, history")

YEARS = ma.validate.Range(min=2000, max=2100)


def _one_of(values: Any) -> ma.validate.OneOf:
    return ma.validate.OneOf([v.value for v in values])


class YearArgs(ma.Schema):
    year = ma.fields.Integer(validate=YEARS, metadata={
        "description": "the campaign year (default: the latest with any record)"})


class MeasureSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    kind = ma.fields.String(required=True)
    description = ma.fields.String(required=True)
    owner = ma.fields.Nested(NamedSchema, required=True)
    due_date = ma.fields.Date(required=True)
    status = ma.fields.String(required=True)
    done_at = ma.fields.DateTime(allow_none=True)


class RiskPointSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    year = ma.fields.Integer(required=True)
    category = ma.fields.String(required=True)
    description = ma.fields.String(required=True)
    found_by = ma.fields.String(required=True)
    likelihood = ma.fields.String(required=True)
    harm = ma.fields.String(required=True)
    level = ma.fields.Integer(required=True)
    status = ma.fields.String(required=True)
    created_at = ma.fields.DateTime(required=True)
    created_by = ma.fields.String(required=True)
    measures = ma.fields.List(ma.fields.Nested(MeasureSchema), required=True)


class GradingSchema(ma.Schema):
    year = ma.fields.Integer(required=True)
    rule_level = ma.fields.Integer(required=True)
    risk_level = ma.fields.Integer(allow_none=True)
    level = ma.fields.Integer(required=True)
    override_level = ma.fields.Integer(allow_none=True)
    override_reason = ma.fields.String(allow_none=True)
    effective_level = ma.fields.Integer(required=True)
    responsible_role = ma.fields.String(required=True)
    direct_manager_role = ma.fields.String(required=True)
    graded_at = ma.fields.DateTime(required=True)
    published_at = ma.fields.DateTime(allow_none=True)


class RegisterSchema(ma.Schema):
    post = ma.fields.Nested(NamedSchema, required=True)
    department = ma.fields.Nested(NamedSchema, required=True)
    unit = ma.fields.Nested(NamedSchema, required=True)
    attributes = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Boolean(),
                                required=True)
    rule_level = ma.fields.Integer(required=True)
    year = ma.fields.Integer(allow_none=True)
    grading = ma.fields.Nested(GradingSchema, allow_none=True)
    risk_points = ma.fields.List(ma.fields.Nested(RiskPointSchema), required=True)
    leaders = ma.fields.Nested(LeadersSchema, required=True)


class RegisterChangeSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    entity = ma.fields.String(required=True)
    entity_id = ma.fields.Integer(required=True)
    field = ma.fields.String(required=True)
    old_value = ma.fields.String(allow_none=True)
    new_value = ma.fields.String(allow_none=True)
    changed_by = ma.fields.String(required=True)
    changed_at = ma.fields.DateTime(required=True)
    reason = ma.fields.String(allow_none=True)


class NewRiskPoint(ma.Schema):
    category = ma.fields.String(required=True, validate=_one_of(RiskCategory))
    description = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=2000))
    likelihood = ma.fields.String(required=True, validate=_one_of(Likelihood))
    harm = ma.fields.String(required=True, validate=_one_of(Harm))
    found_by = ma.fields.String(validate=_one_of(FoundBy), metadata={
        "description": "default: by who adds it — the holder self_identified, a leader "
                       "leader_pointed, the discipline officer organization_reviewed"})


class AddRiskPointsSchema(ma.Schema):
    year = ma.fields.Integer(required=True, validate=YEARS)
    points = ma.fields.List(ma.fields.Nested(NewRiskPoint), required=True,
                            validate=ma.validate.Length(min=1, max=200))


class StartDisposalSchema(ma.Schema):
    description = ma.fields.String(required=True, validate=ma.validate.Length(max=2000),
                                   metadata={"description": "the finding (问题线索)"})
    reason = ma.fields.String(required=True, validate=ma.validate.Length(max=2000), metadata={
        "description": "why it is started by hand (启动理由); required, not blank"})
    year = ma.fields.Integer(validate=YEARS, metadata={
        "description": "default: the post's latest graded year"})
    found_by = ma.fields.String(validate=_one_of(FoundBy), metadata={
        "description": "the channel it came through (default complaint, 举报投诉)"})
    category = ma.fields.String(validate=_one_of(RiskCategory))
    likelihood = ma.fields.String(validate=_one_of(Likelihood))
    harm = ma.fields.String(validate=_one_of(Harm), metadata={
        "description": "without likelihood and harm the finding is kept at level 3"})


class ChannelDisposalSchema(ma.Schema):
    channel = ma.fields.String(required=True, validate=ma.validate.OneOf(
        disposals.CHANNELS), metadata={"description": "the special channel the finding came "
                                       "through: complaint 举报投诉, financial_audit 财务审计, "
                                       "enforcement_inspection 执法检查, questionnaire 问卷调查"})
    description = ma.fields.String(required=True, validate=ma.validate.Length(max=2000),
                                   metadata={"description": "the finding (问题线索)"})
    reason = ma.fields.String(validate=ma.validate.Length(max=2000), metadata={
        "description": "optional: the channel says why"})
    year = ma.fields.Integer(validate=YEARS, metadata={
        "description": "default: the post's latest graded year"})
    category = ma.fields.String(validate=_one_of(RiskCategory))
    likelihood = ma.fields.String(validate=_one_of(Likelihood))
    harm = ma.fields.String(validate=_one_of(Harm), metadata={
        "description": "without likelihood and harm the finding is kept at level 3"})


class DisposalSchema(ma.Schema):
    instance_id = ma.fields.Integer(required=True)
    business_key = ma.fields.String(allow_none=True)
    status = ma.fields.String(required=True)
    started_at = ma.fields.DateTime(required=True)
    started_by = ma.fields.String(allow_none=True)
    completed_at = ma.fields.DateTime(allow_none=True)


def _post(uow: Any, code: str, may: Any) -> Any:
    post = organisation.get_post(uow, code)
    require(may(actor(), post), "You may not see or change this post's register.")
    return post


def _register(page: register_pages.PostRegister) -> dict[str, Any]:
    department = page.post.department
    return {"post": named(page.post), "department": named(department),
            "unit": named(department.unit), "attributes": page.attributes,
            "rule_level": page.rule_level, "year": page.year, "grading": page.grading,
            "risk_points": page.risk_points, "leaders": page.leaders}


@bp.route("/<code>/register")
@bp.arguments(YearArgs, location="query")
@bp.response(200, RegisterSchema)
@bp.refuses(401, 403, 404)
def get_register(args: dict[str, Any], code: str) -> Any:
    """The post's register for a year: grading, risk points and their measures"""
    with runtime().uow(write=False) as uow:
        _post(uow, code, may_read_register)
        return _register(register_pages.post_register(uow, code, args.get("year")))


@bp.route("/<code>/history")
@bp.response(200, RegisterChangeSchema(many=True))
@bp.refuses(401, 403, 404)
def get_history(code: str) -> Any:
    """Every change to the post's register, newest first"""
    with runtime().uow(write=False) as uow:
        _post(uow, code, may_read_register)
        return register_pages.post_history(uow, code)


@bp.route("/<code>/risk-points", methods=["POST"])
@bp.arguments(AddRiskPointsSchema)
@bp.response(201, RiskPointSchema(many=True))
@bp.refuses(401, 403, 404, 422)
def add_risk_points(body: dict[str, Any], code: str) -> Any:
    """Record risk points found at the post (all or none)"""
    who = actor()
    with runtime().uow() as uow:
        post = _post(uow, code, may_add_risks)
        found_by = FOUND_BY[relation_to_post(who, post)]
        points = [{"found_by": found_by, **point} for point in body["points"]]
        rows = register_risk_points.add_risk_points(uow, {"post": post.code}, body["year"],
                                                    points, who)
        return [{**_point_columns(row), "measures": []} for row in rows]


def _point_columns(row: Any) -> dict[str, Any]:
    return {name: getattr(row, name) for name in (
        "id", "year", "category", "description", "found_by", "likelihood", "harm", "level",
        "status", "created_at", "created_by")}


@bp.route("/<code>/disposals")
@bp.response(200, DisposalSchema(many=True))
@bp.refuses(401, 403, 404)
def get_disposals(code: str) -> Any:
    """The post's disposals (后期处置), newest first"""
    with runtime().uow(write=False) as uow:
        _post(uow, code, may_read_register)
        return [vars(row) for row in disposals.post_disposals(uow, code)]


@bp.route("/<code>/disposals", methods=["POST"])
@bp.arguments(StartDisposalSchema)
@bp.response(201, DisposalSchema)
@bp.refuses(401, 403, 404, 422)
def start_disposal(body: dict[str, Any], code: str) -> Any:
    """Start a disposal (后期处置) of the post by hand, with a reason: the unit's discipline
    officer or the city's discipline commission only"""
    with runtime().uow() as uow:
        instance = disposals.start_by_hand(uow, actor(), code, body["description"],
                                           body["reason"], **{
                                               k: body[k] for k in ("year", "found_by",
                                                                    "category", "likelihood",
                                                                    "harm") if k in body})
        return _started(instance)


@bp.route("/<code>/channel-disposals", methods=["POST"])
@bp.arguments(ChannelDisposalSchema)
@bp.response(201, DisposalSchema)
@bp.refuses(401, 403, 404, 422)
def start_channel_disposal(body: dict[str, Any], code: str) -> Any:
    """Start a disposal (后期处置) of the post from a finding of a special channel (举报投诉、
    财务审计、执法检查、问卷调查): the unit's discipline officer or the city's discipline
    commission only"""
    with runtime().uow() as uow:
        instance = disposals.start_from_channel(
            uow, actor(), code, body["channel"], body["description"], **{
                k: body[k] for k in ("year", "reason", "category", "likelihood", "harm")
                if k in body})
        return _started(instance)


def _started(instance: Any) -> dict[str, Any]:
    return {"instance_id": instance.id, "business_key": instance.business_key,
            "status": instance.status, "started_at": instance.started_at,
            "started_by": instance.started_by, "completed_at": instance.completed_at}
