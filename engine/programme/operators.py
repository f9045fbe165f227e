"""The service-task operators the process models in bpmn/ call (``OPERATORS``; installed on
the runtime by ``engine.programme.composition``).

``programme_runtime(settings)`` is the ``Runtime`` web/, the CLI and the scheduler use:
``engine.programme.routing.org_resolver`` turns a lane (岗位人员, 内设机构领导, 负责领导 …) into the
scoped
group of the instance's post, department or unit, and ``install`` registers the operators
below. Each operator checks its parameters (a bad one fails the step with a message naming
the operator and the parameter), writes through the register and organisation services in
the engine's transaction — never committing itself — and returns JSON. A failing operator's
writes are rolled back to a savepoint, so the instance goes to ``error`` with the register
as it was before the step.

=========================== ==========================================================
operator                    what it does
=========================== ==========================================================
``org.unit_posts``          a unit's posts as post-cycle start data (business key =
                            post code): "覆盖每项权力、每个岗位、每个人"
``org.unit_departments``    a unit's departments (内设机构)
``register.record_risks``   a discovery form's risks at one tier, ``found_by`` the method
                            (自己找、群众提、互相查、领导点、组织评) → risk point ids (each
                            graded by the version's risk_grading.dmn)
``register.grade_post``     确定风险等级: the post's level, the highest of its post rule
                            and its risk points, and the roles answering for it — by
                            the decision tables deployed with the instance's version
``register.override_level`` 严格审核把关: the reviewer's level, with a written reason
``register.publish_post``   公示 of the post's level
``register.archive``        建立信息档案 once publicity is over
``register.add_measures``   健全防控措施 against the post's risk points (→ controlled)
``milestones.*``            the campaign's milestone plan, cards and reports
                            (``engine.programme.milestone_operators``)
=========================== ==========================================================
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta, timezone
from typing import Any

from ..models import ProcessInstance
from ..operators import OperatorCall
from . import operator_params as params
from .grading import post_floor
from .models import Official, Post, PostGrading
from .services import organisation, register_cycle, register_grading, register_risk_points

#: The programme's local time: due dates of measures are calendar days in Beijing.
CHINA = timezone(timedelta(hours=8), "+08:00")
TIERS = ("unit", "department", "post")
#: Leaders a measure's owner may be named by (``owner_role`` of register.add_measures).
OWNER_ROLES = ("post_holder", "department_head", "deputy_in_charge", "principal",
               "discipline_officer")


# ------------------------------------------------------------------------------ params














def _version(call: OperatorCall) -> int:
    """The process version the instance runs (its ``definition_id``): the register grades by
    the decision tables deployed with it, so an instance keeps its version's rules while
    instances started after a redeploy follow the new tables. The instance row is already in
    the session (the engine locked it for this step), so this costs no query."""
    instance = call.uow.session.get(ProcessInstance, call.instance_id)
    if instance is None:
        raise params.fail(call, "instance", f"names no process instance ({call.instance_id})")
    return instance.definition_id


# --------------------------------------------------------------------------- org.*


def unit_posts(call: OperatorCall) -> list[dict[str, Any]]:
    """``unit_code`` → every post of the unit as post-cycle start data."""
    unit = params.text(call, "unit_code")
    return [{"post_code": p.code, "post_name": p.name, "department_code": p.department.code,
             "unit_code": unit, **p.attributes(), "business_key": p.code}
            for p in organisation.posts_of(call.uow, unit)]


def unit_departments(call: OperatorCall) -> list[dict[str, Any]]:
    """``unit_code`` → the unit's departments."""
    unit = params.text(call, "unit_code")
    return [{"department_code": d.code, "department_name": d.name, "unit_code": unit}
            for d in organisation.departments_of(call.uow, unit)]


# ---------------------------------------------------------------------- register.*


def record_risks(call: OperatorCall) -> list[int]:
    """``tier`` (unit, department, post; default post), ``code``, ``year``, ``risks`` (a
    discovery form's list) and ``found_by`` (the method, unless a risk names its own)."""
    tier = params.choice(call, "tier", TIERS, "post")
    code, year = params.text(call, "code"), params.whole_number(call, "year")
    risks = params.items(call, "risks")
    found_by = params.text(call, "found_by")
    if not risks:
        return []
    points = []
    for index, risk in enumerate(risks):
        if not isinstance(risk, dict):
            raise params.fail(call, "risks", f"item {index} must be an object")
        points.append({"found_by": found_by, **risk})
    rows = register_risk_points.record_risk_points(
        call.uow, {tier: code}, year, points, params.acting(call),
        source_instance=call.instance_id, definition_id=_version(call))
    return [row.id for row in rows]


def _levels(grading: PostGrading) -> dict[str, Any]:
    return {"post_level": grading.effective_level, "rule_level": grading.rule_level,
            "risk_level": grading.risk_level, "responsible_role": grading.responsible_role,
            "direct_manager_role": grading.direct_manager_role}


def grade_post(call: OperatorCall) -> dict[str, Any]:
    """``post_code``, ``year`` → ``{post_level, rule_level, risk_level, responsible_role,
    direct_manager_role, rule_sentence}``; ``post_level`` is the level in force (a
    reviewer's, if set); ``rule_sentence`` the post rule's own words, which the review
    shows beside the level (its task context)."""
    post_code = params.text(call, "post_code")
    grading = register_grading.grade(call.uow, post_code, params.whole_number(call, "year"),
                                     params.acting(call), definition_id=_version(call))
    floor = post_floor(call.uow, organisation.get_post(call.uow, post_code),
                       definition_id=_version(call))
    return {**_levels(grading), "rule_sentence": floor.sentence}


def override_level(call: OperatorCall) -> dict[str, Any]:
    """``post_code``, ``year``, ``level``, ``reason`` (logged with every change)."""
    grading = register_grading.change_level(
        call.uow, params.text(call, "post_code"), params.whole_number(call, "year"),
        params.whole_number(call, "level"), params.text(call, "reason"), params.acting(call),
        definition_id=_version(call))
    return _levels(grading)


def publish_post(call: OperatorCall) -> dict[str, Any]:
    """``post_code``, ``year`` → the published levels and when."""
    grading = register_cycle.publish_post(call.uow, params.text(call, "post_code"),
                                          params.whole_number(call, "year"), params.acting(call))
    assert grading.published_at is not None
    return {**_levels(grading), "published_at": grading.published_at.isoformat()}


def archive(call: OperatorCall) -> dict[str, Any]:
    """``post_code``, ``year`` → the level and the ids of the year's risk points on file."""
    grading, points = register_cycle.archive_post(
        call.uow, params.text(call, "post_code"), params.whole_number(call, "year"),
        params.acting(call))
    return {**_levels(grading), "risk_points": [p.id for p in points]}


def add_measures(call: OperatorCall) -> list[int]:
    """``post_code``, ``year``, ``measures`` (form items ``{description, due_in_days?,
    risk_points?}``), ``kind`` (default prevention), ``owner_role`` (the leader of the post
    who carries them out, default post_holder; a vacant post falls back to the department
    head), ``status`` (default planned) → the measure ids."""
    post_code, year = params.text(call, "post_code"), params.whole_number(call, "year")
    kind = params.choice(call, "kind", ("prevention", "monitoring", "disposal"), "prevention")
    status = params.choice(call, "status", ("planned", "in_progress", "done"), "planned")
    owner = _owner_code(call, post_code, params.choice(call, "owner_role", OWNER_ROLES,
                                                 "post_holder"))
    today = call.now.astimezone(CHINA).date()
    measures = []
    for index, item in enumerate(params.items(call, "measures")):
        days = item.get("due_in_days", 30) if isinstance(item, dict) else None
        if isinstance(days, bool) or not isinstance(days, int) or days < 0:
            raise params.fail(call, "measures", f"item {index} needs a description and a whole "
                                          "number of days 'due_in_days' (0 or more)")
        measure = {"kind": kind, "description": item.get("description"), "owner": owner,
                   "due_date": (today + timedelta(days=days)).isoformat(), "status": status}
        if "risk_points" in item:
            measure["risk_points"] = item["risk_points"]
        measures.append(measure)
    rows = register_cycle.record_measures(call.uow, post_code, year, measures, params.acting(call))
    return [row.id for row in rows]


#: Who owns a measure, per ``owner_role``: each reads only the one position it names (a
#: mapping of all five loaded every leader of the post, department and unit per call).
_OWNERS: dict[str, Callable[[Post], Official | None]] = {
    "post_holder": lambda post: post.holder or post.department.head,
    "department_head": lambda post: post.department.head,
    "deputy_in_charge": lambda post: post.department.deputy_in_charge,
    "principal": lambda post: post.department.unit.principal,
    "discipline_officer": lambda post: post.department.unit.discipline_officer,
}


def _owner_code(call: OperatorCall, post_code: str, role: str) -> str:
    official = _OWNERS[role](organisation.get_post(call.uow, post_code))
    if official is None:
        raise params.fail(call, "owner_role", f"names a vacant position ({role}) of post "
                                        f"{post_code}")
    return official.code


OPERATORS: dict[str, Callable[[OperatorCall], Any]] = {
    "org.unit_posts": unit_posts,
    "org.unit_departments": unit_departments,
    "register.record_risks": record_risks,
    "register.grade_post": grade_post,
    "register.override_level": override_level,
    "register.publish_post": publish_post,
    "register.archive": archive,
    "register.add_measures": add_measures,
}
