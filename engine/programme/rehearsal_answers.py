"""What the people of the rehearsal write: the data each task is completed with.

Every task of the programme's processes gets a fixed, plausible answer by its BPMN element
(``FORMS``: a risk or two found in discovery, a review approved, a self-check report, an
assessment with one shortfall…); a risk's description starts with the post's or unit's code
so what each one found stays traceable. The city's discipline commission answers the
campaign's milestone checkpoints from the milestone's report: met if no unit is late.

财政局 (CZJ, the demo city's showcase unit) brings findings to 后期处置 from every source
("对有明显风险表现的个人及时进行提醒和纠错……对群众有投诉、社会有反映……的,采取谈话提醒、诫勉纠错等
措施……对整改不力,群众仍有反映的,按照相关规定予以追究"):

- **monitoring** (中期监控) of each department's second post finds a problem (``MONITORING``);
- **self_check**: the 副局长's first quarterly self-check (定期自查) finds one
  (``SELF_CHECK_FINDS``) — a leader's own post, so the principal reminds him;
- **complaint**: a citizen's feedback on the 科员(政务公开)'s post during its publicity
  (``engine.programme.rehearsal_events``) is upheld by the discipline officer at 审核群众意见
  (``COMPLAINED_OF``); corrected on paper, the public still complains at both verifications
  (群众仍有反映), so the case ends in accountability (追究) by the city's commission;
- **register**: the discipline officer starts one by hand (``rehearsal_events``);
- **channel**: the discipline officer starts one from a suppliers' questionnaire (问卷调查)
  that showed problems (``rehearsal_events``).
- **institution** (中期监控制度, bpmn/institutions.bpmn): the principal's 三重一大 register
  lists one decision taken without a meeting of the leadership team (``_major_decisions``),
  disposed of on the unit's first post.

Every unit holds its institutions on their dates (``INSTITUTION_FORMS``): every leader reports
personal matters and reports on duty and integrity, both passed; each level-2 and level-3
post gets its 廉政谈话 from its responsible leader; the 民主生活会 is held with
its record; the 民主评议 scores 85; 回访座谈 and 明察暗访 find nothing.

Every other disposal is corrected at the first verification: the responsible leader talks to
the holder (谈话提醒), the holder corrects it, the discipline officer finds it corrected and
the case is closed (``DISPOSAL_FORMS``; an overdue step's 督办 is answered as well).

Kept apart from the rehearsal's driver (``engine.programme.rehearsal``) because this is the
part that follows the forms in bpmn/: a new or changed form is an edit here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from ..db import UnitOfWork
from ..errors import InvalidState
from ..models import HumanTask, TaskState
from ..services import clock
from .models import Department, MilestoneReport, Post, Unit
from .services.register_disposal import CHINA

#: The posts whose monitoring finds a problem: 财政局's second post of each department.
MONITORING = ("CZJ-", "-02")
#: 财政局's 副局长 (level 1): his first quarterly self-check finds a problem.
SELF_CHECK_FINDS = "CZJ-LDBZ-03"
#: 财政局's 科员(政务公开) (level 2): the complaint upheld, and the public still complaining.
COMPLAINED_OF = "CZJ-BGS-07"
SUPERVISION = {"supervision": "请于三日内办结"}


@dataclass(frozen=True)
class Asked:
    """A task as the rehearsal answers it."""

    element: str  #: its BPMN element
    code: str  #: the post (or else the unit) it is about
    instance_id: int


def _monitoring(code: str) -> dict[str, Any]:
    prefix, suffix = MONITORING
    if code.startswith(prefix) and code.endswith(suffix):
        return {"monitoring_report": "发现办件超时未说明理由", "monitoring_problems_found": True,
                "monitoring_problems": f"{code}:办件超时未说明理由"}
    return {"monitoring_report": "全年未发现苗头性、倾向性问题"}


def _risk(code: str, text: str, category: str = "duty") -> dict[str, str]:
    return {"category": category, "description": f"{code}:{text}", "likelihood": "low",
            "harm": "minor"}


def _suggestion_review(code: str) -> dict[str, Any]:
    """Feedback on ``COMPLAINED_OF`` is upheld as a complaint; any other is declined."""
    if code == COMPLAINED_OF:
        return {"suggestion_accepted": False, "suggestion_category": "duty",
                "suggestion_likelihood": "low", "suggestion_harm": "disciplinary",
                "complaint_upheld": True,
                "suggestion_remarks": "经核实,反映的办事拖延、索要好处问题属实"}
    return {"suggestion_accepted": False, "suggestion_category": "external",
            "suggestion_likelihood": "low", "suggestion_harm": "minor"}


def _verification(code: str) -> dict[str, Any]:
    """Corrected — but on ``COMPLAINED_OF`` the public still complains (群众仍有反映)."""
    if code == COMPLAINED_OF:
        return {"corrected": True, "public_still_complaining": True,
                "findings": "账面已整改,群众仍来信反映办事拖延"}
    return {"corrected": True, "public_still_complaining": False, "findings": "已整改到位"}


#: What each person writes, by the BPMN element of the task.
FORMS: dict[str, Callable[[str], dict[str, Any]]] = {
    "mobilization": lambda _c: {"mobilization_notice": "召开全市廉政风险防范管理工作动员部署会议",
                                "mobilization_meeting": "2011年3月1日推进会议"},
    "self_identified": lambda c: {"risks": [_risk(c, "办事程序公开不及时", "process")]},
    "peer_checked": lambda _c: {"risks": []},
    "leader_pointed": lambda c: {"risks": [_risk(c, "台账登记不全", "institutional")]},
    "organization_reviewed": lambda _c: {"risks": []},
    "review": lambda _c: {"approved": True, "review_comment": "同意"},
    "suggestion_review": _suggestion_review,
    "prevention": lambda _c: {"measures": [{"description": "办事程序和时限对外公开",
                                            "due_in_days": 30}]},
    "integrity_talk": lambda _c: {"talk_summary": "严守纪律,规范用权"},
    "lift_talk": lambda _c: {"talk_summary": "等级提升,严守纪律,规范用权"},
    "self_check": lambda _c: {"self_check_report": "按季自查,未发现问题"},
    "monitoring": _monitoring,
    "assessment": lambda _c: {"score_information_monitoring": 85, "score_self_check": 90,
                              "score_superior_inspection": 80, "score_social_evaluation": 75,
                              "shortfalls": ["自查记录不够详细"]},
    "correct_shortfall [child]": lambda _c: {"correction": "已完善自查记录"},
    "unit_discovery": lambda c: {"risks": [_risk(c, "重大项目安排未经领导班子集体研究",
                                                 "institutional")]},
    "department_discovery [child]": lambda c: {"risks": [_risk(c, "工作时限没有明确规定",
                                                               "process")]},
    "unit_assessment": lambda _c: {"score_information_monitoring": 92, "score_self_check": 88,
                                   "score_superior_inspection": 90,
                                   "score_social_evaluation": 86,
                                   "shortfalls": ["三重一大事项会议记录不全"]},
    "unit_correction [child]": lambda _c: {"correction": "补齐会议记录"},
    "city_summary": lambda _c: {"city_summary": "全市廉政风险防范管理工作基本完成"},
}
#: 后期处置 (bpmn/disposal.bpmn): corrected at the first verification, but for
#: ``COMPLAINED_OF`` (admonishment, then accountability).
DISPOSAL_FORMS: dict[str, Callable[[str], dict[str, Any]]] = {
    "reminder": lambda _c: {"kind": "talk", "notes": "谈话提醒:指出办件超时问题,限期纠正"},
    "correction": lambda _c: {"actions": "建立办件时限台账,逐件说明超时理由"},
    "verification": _verification,
    "admonishment": lambda _c: {"notes": "诫勉谈话", "requirements": "十五日内整改到位"},
    "recorrection": lambda _c: {"actions": "调整岗位分工,公开办理时限"},
    "reverification": _verification,
    "accountability": lambda _c: {"referred_to": "discipline_commission",
                                  "details": "整改不力,群众仍有反映,按照相关规定予以追究"},
    **{f"escalate_{step}": lambda _c: SUPERVISION for step in (
        "reminder", "correction", "verification", "admonishment", "recorrection",
        "reverification")},
}
FORMS.update(DISPOSAL_FORMS)


def _major_decisions(uow: UnitOfWork, unit: str, today: str) -> dict[str, Any]:
    """A decision taken at a meeting; for 财政局 also one without (a finding)."""
    met = {"matter": f"{unit}:年度预算安排", "kind": "funds", "decided_on": today,
           "meeting_held": True, "members": 5, "attendance": 5, "votes_for": 5,
           "votes_against": 0}
    if unit != SHOWCASE:
        return {"decisions": [met]}
    post = uow.session.scalar(select(Post.code).join(Post.department).join(Department.unit)
                              .where(Unit.code == unit).order_by(Post.code).limit(1))
    return {"decisions": [met, {"matter": f"{unit}:项目招标代理未经集体研究即确定",
                                "kind": "project", "decided_on": today,
                                "meeting_held": False, "post_code": post}]}


#: The unit whose 三重一大 register shows a decision without a meeting.
SHOWCASE = "CZJ"
#: 中期监控制度 (bpmn/institutions.bpmn), by element: (session, unit, today) → the answer.
INSTITUTION_FORMS: dict[str, Callable[[UnitOfWork, str, str], dict[str, Any]]] = {
    "personal_matters_report [child]": lambda _u, _c, _d: {
        "matters": "本人婚姻、房产、投资等事项无变化"},
    "personal_matters_review [child]": lambda _u, _c, _d: {"passed": True,
                                                           "review_notes": "如实完整"},
    "duty_report [child]": lambda _u, _c, _d: {"duty_report": "全年履行职责,廉洁自律,落实廉政承诺"},
    "duty_report_review [child]": lambda _u, _c, _d: {"passed": True, "review_comments": "合格"},
    "leader_talk [child]": lambda _u, _c, d: {"talk_summary": "指出岗位风险,严守纪律,规范用权",
                                              "held_on": d},
    "democratic_life_meeting": lambda _u, _c, d: {
        "held_on": d, "attendees": 5, "meeting_record": "开展批评与自我批评,查摆廉政风险防控问题",
        "rectification": "完善三重一大议事规则"},
    "democratic_evaluation": lambda _u, _c, _d: {"score": 85, "staff_raters": 40,
                                                 "public_raters": 60, "opinions": "总体满意"},
    "major_decisions": _major_decisions,
    "follow_up_visit": lambda _u, _c, d: {"held_on": d, "participants": 12,
                                          "opinions": "干部群众反映良好", "problems_found": False},
    "unannounced_inspection": lambda _u, _c, d: {"inspected_on": d, "method": "covert",
                                                 "checked": "窗口办件和廉政承诺落实",
                                                 "problems_found": False},
}


def answer(uow: UnitOfWork, asked: Asked, campaign_id: int) -> dict[str, Any]:
    """What the person given the task ``asked`` submits."""
    element, code = asked.element, asked.code
    if element in INSTITUTION_FORMS:
        today = clock.now(uow).astimezone(CHINA).date().isoformat()
        return INSTITUTION_FORMS[element](uow, code, today)
    if element.startswith("checkpoint_"):
        return _checkpoint(uow, campaign_id, element.removeprefix("checkpoint_"))
    if element == "self_check" and code == SELF_CHECK_FINDS and \
            _self_checks_done(uow, asked.instance_id) == 0:
        return {"self_check_report": "按季自查,发现问题", "problems_found": True,
                "self_check_problems": f"{code}:分管领域重大事项未经集体研究即签批"}
    make = FORMS.get(element)
    if make is None:
        raise InvalidState(f"the rehearsal does not know how to answer task '{element}'")
    return make(code)


def _self_checks_done(uow: UnitOfWork, instance_id: int) -> int:
    return uow.session.scalar(select(func.count()).select_from(HumanTask).where(
        HumanTask.instance_id == instance_id, HumanTask.element_id == "self_check",
        HumanTask.state == TaskState.COMPLETED)) or 0


def _checkpoint(uow: UnitOfWork, campaign_id: int, name: str) -> dict[str, Any]:
    """The commission reads the milestone's report and says whether it was met."""
    report = uow.session.scalar(select(MilestoneReport).where(
        MilestoneReport.instance_id == campaign_id, MilestoneReport.name == name))
    if report is None:
        return {f"{name}_met": False, f"{name}_notes": "没有节点报告"}
    late = "、".join(report.late_units) or "无"
    return {f"{name}_met": not report.late_units,
            f"{name}_notes": f"按期完成 {report.units_on_track}/{report.units_total} 个单位;"
                             f"滞后单位:{late},已督促整改"}
