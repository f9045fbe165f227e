"""The service-task operators of 后期处置 (``OPERATORS``; installed on the runtime by
``engine.programme.composition``): starting a disposal from a post's cycle, and what each
step of bpmn/disposal.bpmn writes to the risk register.

Source: "对有明显风险表现的个人及时进行提醒和纠错……对群众有投诉、社会有反映、不按照规定落实廉政
风险防范措施的,采取谈话提醒、诫勉纠错等措施,帮助和督促其及时纠正工作中的失误和偏差。对整改不力,
群众仍有反映的,按照相关规定予以追究。"

============================== ==========================================================
operator                       what it does
============================== ==========================================================
``disposal.start``             ``post_code``, ``year``, ``source`` (self_check, monitoring,
                               complaint), ``description`` and optionally ``category``,
                               ``likelihood``, ``harm``: starts a ``disposal`` instance of
                               its own (key ``disposal:<post>:<source>:<n>``) in the step's
                               transaction → ``{disposal_instance, disposal_key}``
``register.record_disposal``   ``step``: ``finding`` (``post_code``, ``year``,
                               ``finding``) → the risk point and the post's level and roles;
                               ``reminder`` / ``talk`` / ``admonishment`` / ``correction``
                               / ``verification`` (``risk_point``, ``text``, ``owner_role``
                               for the leader's steps) → a disposal measure; ``corrected`` /
                               ``accountability`` (``risk_point``, ``text``) → the outcome
``register.disposal_outcomes`` ``post_code``, ``year`` → the post's disposals of the year by
                               outcome ``{total, open, corrected, accountability}``
============================== ==========================================================

Like ``engine.programme.operators``, each checks its parameters (a bad one fails the step
naming the parameter), writes in the engine's transaction and returns JSON.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..operators import OperatorCall
from . import operator_params as params
from .services import disposals, register_disposal

#: The sources a post's cycle starts a disposal from (by hand: ``disposals.start_by_hand``).
CYCLE_SOURCES = ("self_check", "monitoring", "complaint")
#: Why each source's finding is in the register (the reason of its register history).
WHY = {"self_check": "后期处置:定期自查发现问题",
       "monitoring": "后期处置:中期监控发现问题",
       "complaint": "后期处置:群众投诉经纪检监察员审核属实",
       "channel": "后期处置:专用监督渠道发现问题",
       "register": "后期处置:由信息档案手工启动",
       "institution": "后期处置:中期监控制度发现问题"}
MEASURES = ("reminder", "talk", "admonishment", "correction", "verification")
OUTCOMES = ("corrected", "accountability")












def start(call: OperatorCall) -> dict[str, Any]:
    """Start a disposal of the post with the finding as its start data (see the table)."""
    finding = {"source": params.choice(call, "source", CYCLE_SOURCES),
               "description": params.text(call, "description")}
    for name in ("category", "likelihood", "harm"):
        if call.params.get(name):
            finding[name] = call.params[name]
    instance = disposals.begin(call.uow, params.text(call, "post_code"),
                               params.whole_number(call, "year"), finding,
                               params.acting(call) if call.actor else None, now=call.now)
    return {"disposal_instance": instance.id, "disposal_key": instance.business_key}


def record_disposal(call: OperatorCall) -> dict[str, Any]:
    """One step of a disposal in the register (see the table)."""
    step = params.choice(call, "step", ("finding", *MEASURES, *OUTCOMES))
    actor = params.acting(call)
    if step == "finding":
        finding = call.params.get("finding")
        if not isinstance(finding, dict):
            raise params.fail(call, "finding",
                              "must be the disposal's finding {source, description}")
        post_code, year = params.text(call, "post_code"), params.whole_number(call, "year")
        source = str(finding.get("source"))
        finding = {**finding, "found_by": finding.get("found_by")
                   or disposals.FOUND_BY.get(source)}
        point = register_disposal.record_finding(
            call.uow, post_code, year, finding, actor, instance_id=call.instance_id,
            why=_why(finding))
        assert point.post is not None
        standing = register_disposal.post_standing(call.uow, point.post, year)
        return {"risk_point": point.id, **standing.as_data()}
    risk_point = params.whole_number(call, "risk_point")
    if step in OUTCOMES:
        row = register_disposal.record_outcome(call.uow, risk_point, step,
                                               params.text(call, "text", step), actor)
        return {"risk_point": row.id, "outcome": step}
    owner = call.params.get("owner_role")
    measure = register_disposal.record_step(call.uow, risk_point, step, params.text(call, "text"),
                                            actor, owner_role=owner or None)
    return {"measure": measure.id}


def _why(finding: dict[str, Any]) -> str:
    why = WHY.get(str(finding.get("source")), "后期处置")
    reason = finding.get("reason")
    return f"{why}:{reason}" if isinstance(reason, str) and reason.strip() else why


def disposal_outcomes(call: OperatorCall) -> dict[str, int]:
    """The post's disposals of the year by outcome (see the table)."""
    return register_disposal.disposal_outcomes(call.uow, params.text(call, "post_code"),
                                               params.whole_number(call, "year"))


OPERATORS: dict[str, Callable[[OperatorCall], Any]] = {
    "disposal.start": start,
    "register.record_disposal": record_disposal,
    "register.disposal_outcomes": disposal_outcomes,
}
