"""The service-task operators of the campaign's milestones (bpmn/campaign.bpmn).

They run inside the campaign's transaction, like the register operators of
``engine.programme``, so a milestone's cards and report are committed with the step that
fired its timer, or not at all:

======================= ==============================================================
operator                what it does
======================= ==============================================================
``milestones.plan``     ``year``, ``units``, ``milestones`` (start data, may be empty) →
                        stores the plan; returns the timers' dates ``{name: {warn_at,
                        due_at}}`` (``milestone_plan``)
``milestones.warn``     ``milestone`` → yellow cards to the units not on track; returns
                        how many
``milestones.evaluate`` ``milestone`` → coverage, red cards, the report; returns its
                        summary for the checkpoint task (``<milestone>_report``)
======================= ==============================================================
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..operators import OperatorCall
from . import operator_params as params
from .milestoneschema import NAMES
from .services import milestones


def _name(call: OperatorCall) -> str:
    value = call.params.get("milestone")
    if value not in NAMES:
        raise params.fail(call, "milestone", f"must be one of {', '.join(NAMES)}, not {value!r}")
    return str(value)


def plan(call: OperatorCall) -> dict[str, dict[str, str]]:
    year, units = call.params.get("year"), call.params.get("units")
    if isinstance(year, bool) or not isinstance(year, int):
        raise params.fail(call, "year", f"must be a whole number, not {year!r}")
    if not isinstance(units, list) or not all(isinstance(u, str) and u for u in units):
        raise params.fail(call, "units", "must be a list of unit codes")
    created = milestones.create_plan(call.uow, call.instance_id, call.business_key, year,
                                     units, call.params.get("milestones"), call.now)
    return milestones.timer_dates(created)


def warn(call: OperatorCall) -> int:
    return milestones.send_warnings(call.uow, call.instance_id, _name(call), call.now)


def evaluate(call: OperatorCall) -> dict[str, Any]:
    report = milestones.close_milestone(call.uow, call.instance_id, _name(call), call.now)
    return milestones.report_summary(report)


OPERATORS: dict[str, Callable[[OperatorCall], Any]] = {
    "milestones.plan": plan,
    "milestones.warn": warn,
    "milestones.evaluate": evaluate,
}
