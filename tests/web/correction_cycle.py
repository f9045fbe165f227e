"""Drive a post's cycle (bpmn/post_cycle.bpmn) from publicity (``publicity_cycle``) to its
纠正问题 task: the simulated clock past publicity and the year's quarterly self-checks, each
step completed by an administrator, then an assessment naming one shortfall. Used by the
task context tests, web and browser."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from engine.models import HumanTask, TaskState
from engine.runtime import Runtime
from engine.services import clock, timers

from .publicity_cycle import complete, open_task

ADMIN = "admin"
SCORES = {"score_information_monitoring": 85, "score_self_check": 90,
          "score_superior_inspection": 80, "score_social_evaluation": 75}
#: The element id of the multi-instance correction's instances (SpiffWorkflow names them).
CORRECTION = "correct_shortfall [child]"


def to_correction(rt: Runtime, iid: int, shortfall: str) -> uuid.UUID:
    """The open correction task of ``shortfall``, assessed with ``SCORES`` (82 on average)
    and the remarks 总体良好."""
    with rt.uow() as uow:
        timers.advance_to(uow, clock.now(uow) + timedelta(days=8))
    complete(rt, iid, "prevention", ADMIN, {"measures": [{"description": "公开办事程序",
                                                          "due_in_days": 30}]})
    with rt.uow() as uow:
        timers.advance_to(uow, clock.now(uow) + timedelta(days=370))
    done = _finish_all(rt, iid, {"self_check": {"self_check_report": "未发现问题"},
                                 "integrity_talk": {"talk_summary": "严守纪律"},
                                 "monitoring": {"monitoring_report": "未发现问题"}})
    assert "monitoring" in done
    complete(rt, iid, "assessment", ADMIN, {**SCORES, "shortfalls": [shortfall],
                                            "assessment_remarks": "总体良好"})
    return open_task(rt, iid, CORRECTION)


def _finish_all(rt: Runtime, iid: int, answers: dict[str, dict[str, Any]]) -> set[str]:
    """Complete every open task of ``iid`` whose element ``answers`` names, until none is
    left; the elements done."""
    done: set[str] = set()
    while True:
        with rt.uow(write=False) as uow:
            open_ones = [t.element_id for t in uow.session.scalars(select(HumanTask).where(
                HumanTask.instance_id == iid, HumanTask.state == TaskState.OPEN))
                if t.element_id in answers]
        if not open_ones:
            return done
        complete(rt, iid, open_ones[0], ADMIN, answers[open_ones[0]])
        done.add(open_ones[0])
