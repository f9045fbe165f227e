"""The service-task operators and the form check of 中期监控制度 (bpmn/institutions.bpmn;
installed on the runtime by ``engine.programme.composition``).

Source: "认真落实廉政谈话、报告个人有关事项、述职述廉、民主生活会、民主评议等制度,加强对党员干部的
监督". Each institution is a dated user task of the unit's yearly ``institutions`` instance; its
answer reaches the register here.

============================== ==========================================================
operator                       what it does
============================== ==========================================================
``institutions.start``         ``unit_code``, ``year`` → the unit's ``institutions``
                               instance of the year, started in the step's transaction
                               (once: key ``institutions:<unit>:<year>``) →
                               ``{institutions_instance, institutions_key}``
``org.unit_leaders``           ``unit_code`` → the unit's leaders with a login
                               (``register_institutions.unit_leaders``): whom 个人有关事项报告
                               and 述职述廉 go to, one task each
``institutions.record``        ``unit_code``, ``year``, ``entries`` (each ``{institution,
                               summary, details, official_code?, score?, post_code?}``) →
                               one register row per entry; a finding starts a ``disposal``
                               of its post (source ``institution``) → the rows' ids and the
                               disposals started
``institutions.talk_posts``    ``unit_code``, ``year`` → the unit's level-2 and level-3 posts
                               of the year (``register_institutions.talk_posts``): one
                               廉政谈话 each, by its responsible leader
``institutions.evaluation_score`` ``unit_code``, ``year`` → the year's 民主评议 score (None if
                               not held): the unit's assessment counts it in 社会评议
============================== ==========================================================

The completion check ``institutions.finding_post`` refuses, at the field, a form that reports
a finding without a post of the unit to dispose of (``finding_post``, else the task's
``default_finding_post`` — the leader's own post, or the principal's for 民主评议 — or
``post_code`` of each decision of 三重一大), before anything changes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from ..completion_checks import CompletionCheckCall
from ..errors import ValidationFailed
from ..operators import OperatorCall
from . import operator_params as params
from .services import register_institutions as register

CHECK = "institutions.finding_post"


def start(call: OperatorCall) -> dict[str, Any]:
    """The unit's institutions of the year (see the table)."""
    instance = register.begin(call.uow, params.text(call, "unit_code"),
                              params.whole_number(call, "year"),
                              params.acting(call) if call.actor else None, now=call.now)
    return {"institutions_instance": instance.id, "institutions_key": instance.business_key}


def unit_leaders(call: OperatorCall) -> list[dict[str, Any]]:
    """The unit's leaders (see the table)."""
    return register.unit_leaders(call.uow, params.text(call, "unit_code"))


def record(call: OperatorCall) -> dict[str, Any]:
    """The institutions held, in the register (see the table)."""
    entries = [register.entry(raw if isinstance(raw, dict) else {}, f"entries.{i}")
               for i, raw in enumerate(params.items(call, "entries"))]
    rows = register.record(call.uow, params.acting(call), params.text(call, "unit_code"),
                           params.whole_number(call, "year"), entries,
                           instance_id=call.instance_id, now=call.now)
    return {"records": [r.id for r in rows],
            "disposals": [r.disposal_instance_id for r in rows if r.disposal_instance_id]}


def evaluation_score(call: OperatorCall) -> int | None:
    """The year's 民主评议 score (see the table)."""
    return register.evaluation_score(call.uow, params.text(call, "unit_code"),
                                     params.whole_number(call, "year"))


def talk_posts(call: OperatorCall) -> list[dict[str, Any]]:
    """The posts for the responsible leaders' 廉政谈话 (see the table)."""
    return register.talk_posts(call.uow, params.text(call, "unit_code"),
                               params.whole_number(call, "year"))


def _answers(answer: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(field of the post, the answer it belongs to): the form, or each decision of 三重一大."""
    decisions = answer.get("decisions")
    if isinstance(decisions, list):
        for i, item in enumerate(decisions):
            if isinstance(item, dict):
                yield f"decisions.{i}.post_code", item
        return
    yield "finding_post", answer


def _is_finding(answer: dict[str, Any]) -> bool:
    score = answer.get("score")
    return (answer.get("meeting_held") is False or answer.get("passed") is False
            or answer.get("problems_found") is True
            or (isinstance(score, int) and not isinstance(score, bool)
                and score < register.LOW_SCORE))


def finding_post(call: CompletionCheckCall) -> None:
    """A finding names a post of the unit: else refused at its field, nothing changed."""
    unit = str(call.data.get("unit_code"))
    for field, answer in _answers(call.answer):
        if not _is_finding(answer):
            continue
        post = answer.get(field.rsplit(".", 1)[-1]) or call.data.get("default_finding_post")
        problem = register.unit_post_problem(call.uow, unit, post)
        if problem:
            message = (f"{field}: this answer is a finding, which starts a disposal (后期处置) "
                       f"of one post — {problem}")
            raise ValidationFailed(message, {field: [message]})


OPERATORS: dict[str, Callable[[OperatorCall], Any]] = {
    "institutions.start": start,
    "org.unit_leaders": unit_leaders,
    "institutions.record": record,
    "institutions.evaluation_score": evaluation_score,
    "institutions.talk_posts": talk_posts,
}
