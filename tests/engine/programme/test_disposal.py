"""The disposal process (后期处置, bpmn/disposal.bpmn) through the engine on the simulated clock.

Source: 对有明显风险表现的个人及时进行提醒和纠错……对群众有投诉、社会有反映、不按照规定落实廉政风险
防范措施的,采取谈话提醒、诫勉纠错等措施……对整改不力,群众仍有反映的,按照相关规定予以追究。

Lanes resolve through ``engine.programme.routing.org_resolver`` into scoped groups built from the
instance's ``post_code`` / ``department_code`` / ``unit_code`` and, for the leaders, the post's
level in the register: 预算审核岗 (czj-ysk-sh) manages resources, so it is level 1 by rule — the
principal answers for it (提醒, 诫勉), the deputy in charge manages it directly (督办 of the
holder's correction), the unit's discipline officer verifies, the city's commission pursues
accountability, and the principal's overdue steps go up to the commission. The actors below
hold exactly those groups, so a task completed by the wrong leader is refused. (Other levels
and the four ways a disposal starts: ``test_disposal_sources.py``.)
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from lxml import etree

from engine.actors import Actor
from engine.errors import Forbidden
from engine.models import InstanceStatus, TaskState
from engine.parsing import NS, read_sources
from engine.programme.composition import programme_runtime
from engine.services import deployment, tasks
from engine.settings import Settings
from tests.conftest import BPMN_DIR

from ..test_roundtrip import check_roundtrip
from .conftest import T0, Driver
from .programme_org import City

DISPOSAL = BPMN_DIR / "disposal.bpmn"
DAY = timedelta(days=1)

START = {
    "finding": {"source": "complaint", "description": "群众投诉预算审核窗口办件拖延、要求请托"},
    "post_code": "czj-ysk-sh", "department_code": "czj-ysk", "unit_code": "czj",
    "year": 2011, "official": "王小明",
}
HOLDER = Actor("wangxiaoming", frozenset({"staff", "post:czj-ysk-sh", "dept:czj-ysk"}))
HEAD = Actor("zhouqiang", frozenset({"department_head", "department_head:czj-ysk"}))
DEPUTY = Actor("wumin", frozenset({"deputy_in_charge", "deputy_in_charge:czj-ysk"}))
PRINCIPAL = Actor("sunli", frozenset({"principal", "principal:czj"}))
OFFICER = Actor("liufang", frozenset({"staff", "discipline_officer:czj"}))
COMMISSION = Actor("jiwei", frozenset({"discipline_commission"}))
#: Leaders of another department and another unit: never candidates here.
OTHER_HEAD = Actor("liming", frozenset({"department_head", "department_head:fgw-tzc"}))
OTHER_PRINCIPAL = Actor("wangjianguo", frozenset({"principal", "principal:fgw"}))

#: Who receives each user task of the level-1 post: the scoped group, the actor, the dueIn.
ROUTES: dict[str, tuple[str, Actor, timedelta]] = {
    "reminder": ("principal:czj", PRINCIPAL, timedelta(days=5)),
    "correction": ("post:czj-ysk-sh", HOLDER, timedelta(days=15)),
    "verification": ("discipline_officer:czj", OFFICER, timedelta(days=5)),
    "admonishment": ("principal:czj", PRINCIPAL, timedelta(days=7)),
    "recorrection": ("post:czj-ysk-sh", HOLDER, timedelta(days=15)),
    "reverification": ("discipline_officer:czj", OFFICER, timedelta(days=5)),
    "accountability": ("discipline_commission", COMMISSION, timedelta(days=15)),
}
#: The overdue escalation of each step, due in three days: the holder's correction to the
#: direct manager; the responsible leader's steps one leader up (the principal's: 纪委); the
#: discipline officer's to the principal. The commission's accountability is the top: none.
ESCALATIONS: dict[str, tuple[str, Actor]] = {
    "reminder": ("discipline_commission", COMMISSION),
    "correction": ("deputy_in_charge:czj-ysk", DEPUTY),
    "verification": ("principal:czj", PRINCIPAL),
    "admonishment": ("discipline_commission", COMMISSION),
    "recorrection": ("deputy_in_charge:czj-ysk", DEPUTY),
    "reverification": ("principal:czj", PRINCIPAL),
}
ESCALATION_DUE = timedelta(days=3)

FORMS: dict[str, dict[str, Any]] = {
    "reminder": {"kind": "talk", "notes": "约谈指出办件拖延问题,要求限期纠正"},
    "correction": {"actions": "建立办件时限台账,退还请托财物"},
    "recorrection": {"actions": "调整岗位分工,公开办理时限"},
    "admonishment": {"notes": "诫勉谈话,本人表示接受", "requirements": "十五日内整改到位"},
    "accountability": {"referred_to": "discipline_commission",
                       "details": "诫勉后仍未整改,群众再次投诉,移送纪委处理"},
}
NOT_CORRECTED = {"corrected": False, "public_still_complaining": False, "findings": "仍在拖延"}
CORRECTED = {"corrected": True, "public_still_complaining": False, "findings": "已整改到位"}
SUPERVISION = {"supervision": "请于三日内办结"}


@pytest.fixture
def dp(settings: Settings) -> Iterator[Driver]:
    """The programme's runtime (lanes through the organisation, the register operators) with
    the small city of ``programme_org`` imported, disposal deployed and the simulated clock
    at T0."""
    rt = programme_runtime(settings)
    drv = City(rt)
    drv.set_clock(T0)
    drv.import_org()
    with rt.uow() as uow:
        [deployed] = deployment.deploy(uow, read_sources([DISPOSAL]), deployed_by="tests")
    assert (deployed.process_id, deployed.created) == ("disposal", True)
    yield drv
    rt.close()


def _open(dp: Driver, iid: int) -> dict[str, tuple[str, ...]]:
    """Open tasks: element id -> candidate groups."""
    return {t.element_id: tuple(t.candidate_groups) for t in dp.tasks(iid)}


def _step(dp: Driver, iid: int, element: str, data: dict[str, Any]) -> datetime:
    """Check who receives ``element`` and when it is due, refuse an outsider, complete it as
    the right leader; returns when the task was created."""
    group, actor, due_in = ROUTES[element]
    task = dp.task(iid, element)
    assert task.candidate_groups == [group]
    assert task.candidate_users == []
    assert task.due_at == task.created_at + due_in
    for outsider in (OTHER_HEAD, OTHER_PRINCIPAL, HEAD):
        with pytest.raises(Forbidden, match="not a candidate"):
            dp.complete(task.id, outsider, data)
    assert dp.get_task(task.id).state == TaskState.OPEN
    dp.complete(task.id, actor, data)
    done = dp.get_task(task.id)
    assert (done.state, done.completed_by) == (TaskState.COMPLETED, actor.user)
    return task.created_at


def _fired(dp: Driver, iid: int) -> list[str | None]:
    return [e.element_id for e in dp.events(iid) if e.type == "timer_fired"]


# ------------------------------------------------------------------------------ paths


def test_not_corrected_twice_goes_to_accountability(dp: Driver) -> None:
    """提醒 → 纠错 → 核查(未整改) → 诫勉 → 再次纠错 → 再次核查(整改不力) → 移送追究, each task
    with the scoped group of the instance's post, department and unit, due dueIn after it was
    created on the simulated clock."""
    iid = dp.start("disposal", START, business_key="complaint-2011-001")
    assert _open(dp, iid) == {"reminder": ("principal:czj",)}
    with dp.rt.uow(write=False) as uow:
        inbox, _total = tasks.list_tasks(uow, PRINCIPAL, tasks.TaskFilter(view="claimable"))
        assert [t.element_id for t in inbox] == ["reminder"]
        assert tasks.list_tasks(uow, OTHER_HEAD,
                                   tasks.TaskFilter(view="claimable"))[0] == []

    path = [("reminder", FORMS["reminder"]), ("correction", FORMS["correction"]),
            ("verification", NOT_CORRECTED), ("admonishment", FORMS["admonishment"]),
            ("recorrection", FORMS["recorrection"]), ("reverification", NOT_CORRECTED),
            ("accountability", FORMS["accountability"])]
    created, completed = [], []
    for n, (element, data) in enumerate(path):
        assert list(_open(dp, iid)) == [element]
        completed.append(dp.advance(timedelta(days=1, hours=n)))  # never past a due date
        created.append(_step(dp, iid, element, data))

    # Each task was created when its predecessor was completed, on the simulated clock.
    assert created == [T0, *completed[:-1]]
    instance = dp.instance(iid)
    assert instance.status == InstanceStatus.COMPLETED
    assert instance.completed_at == completed[-1]
    assert _fired(dp, iid) == []  # nothing was overdue
    assert dp.timers(iid) == []
    done = [t.element_id for t in dp.tasks(iid, state=TaskState.COMPLETED)]
    assert done == [element for element, _ in path]
    data = dp.data(iid)
    assert data["referred_to"] == "discipline_commission"
    assert data["correction_deadline"] == "P15D"  # the default
    assert data["finding"] == START["finding"]


def test_corrected_at_the_first_verification_closes_the_case(dp: Driver) -> None:
    iid = dp.start("disposal", {**START, "finding": {"source": "monitoring",
                                                      "description": "差旅费报销不合规"}})
    for element, data in [("reminder", {"kind": "reminder", "notes": "提醒按规定报销"}),
                          ("correction", FORMS["correction"]), ("verification", CORRECTED)]:
        dp.advance(DAY)
        _step(dp, iid, element, data)
    assert dp.instance(iid).status == InstanceStatus.COMPLETED
    assert [t.element_id for t in dp.tasks(iid, state=None)] == \
        ["reminder", "correction", "verification"]
    assert dp.timers(iid) == []
    assert dp.data(iid)["corrected"] is True


def test_corrected_after_admonishment_closes_the_case(dp: Driver) -> None:
    iid = dp.start("disposal", {**START, "finding": {"source": "self_check",
                                                      "description": "自查发现审核时限未公开"}})
    for element, data in [("reminder", FORMS["reminder"]), ("correction", FORMS["correction"]),
                          ("verification", NOT_CORRECTED),
                          ("admonishment", FORMS["admonishment"]),
                          ("recorrection", FORMS["recorrection"]),
                          ("reverification", CORRECTED)]:
        _step(dp, iid, element, data)
    assert dp.instance(iid).status == InstanceStatus.COMPLETED
    assert "accountability" not in {t.element_id for t in dp.tasks(iid, state=None)}


# -------------------------------------------------------------------- due dates, escalation


def test_overdue_correction_escalates_to_the_direct_manager(dp: Driver) -> None:
    iid = dp.start("disposal", START)
    dp.advance(DAY)
    _step(dp, iid, "reminder", FORMS["reminder"])
    correction = dp.task(iid, "correction")
    due = T0 + DAY + timedelta(days=15)
    assert correction.due_at == due
    assert [(t.element_id, t.due_at) for t in dp.timers(iid)] == [("correction_overdue", due)]

    assert dp.advance_to(due - timedelta(seconds=1)) == 0
    assert list(_open(dp, iid)) == ["correction"]
    assert dp.advance_to(due + timedelta(hours=2)) == 1
    assert _fired(dp, iid) == ["correction_overdue"]
    assert _open(dp, iid) == {"correction": ("post:czj-ysk-sh",),
                              "escalate_correction": ("deputy_in_charge:czj-ysk",)}
    escalation = dp.task(iid, "escalate_correction")
    assert escalation.name == "逾期督办:纠错整改"
    assert (escalation.created_at, escalation.due_at) == (due, due + ESCALATION_DUE)
    # The correction stays open and can still be done by the post holder (non-interrupting).
    assert dp.get_task(correction.id).state == TaskState.OPEN
    assert dp.timers(iid) == []
    with pytest.raises(Forbidden):
        dp.complete(escalation.id, HOLDER, SUPERVISION)

    dp.complete(escalation.id, DEPUTY, SUPERVISION)
    dp.complete(correction.id, HOLDER, FORMS["correction"])
    assert list(_open(dp, iid)) == ["verification"]
    _step(dp, iid, "verification", CORRECTED)
    assert dp.instance(iid).status == InstanceStatus.COMPLETED


def test_closing_the_case_closes_an_unanswered_escalation(dp: Driver) -> None:
    """结案 is a terminate end: a 督办 still open when the case closes is cancelled with it."""
    iid = dp.start("disposal", START)
    _step(dp, iid, "reminder", FORMS["reminder"])
    assert dp.advance_to(T0 + timedelta(days=16)) == 1
    escalation = dp.task(iid, "escalate_correction")
    dp.complete_element(iid, "correction", HOLDER, FORMS["correction"])
    # The escalation branch outlives the task it was raised on.
    assert set(_open(dp, iid)) == {"verification", "escalate_correction"}
    _step(dp, iid, "verification", CORRECTED)
    assert dp.instance(iid).status == InstanceStatus.COMPLETED
    assert dp.get_task(escalation.id).state == TaskState.CANCELLED
    assert dp.tasks(iid) == []


def test_correction_deadline_comes_from_the_data(dp: Driver) -> None:
    iid = dp.start("disposal", {**START, "correction_deadline": "P10D"})
    _step(dp, iid, "reminder", FORMS["reminder"])
    assert [(t.element_id, t.due_at) for t in dp.timers(iid)] == \
        [("correction_overdue", T0 + timedelta(days=10))]
    assert dp.advance_to(T0 + timedelta(days=10, hours=1)) == 1
    assert dp.task(iid, "escalate_correction").created_at == T0 + timedelta(days=10)


def test_every_overdue_step_escalates_one_leader_up(dp: Driver) -> None:
    """Let every step of the long path run past its due date: each raises its 逾期督办 task
    for the next leader up exactly at the due date, and the step itself stays open; the
    commission's accountability, the top of the ladder, has no timer."""
    iid = dp.start("disposal", START)
    path = [("reminder", FORMS["reminder"]), ("correction", FORMS["correction"]),
            ("verification", NOT_CORRECTED), ("admonishment", FORMS["admonishment"]),
            ("recorrection", FORMS["recorrection"]), ("reverification", NOT_CORRECTED)]
    for element, data in path:
        task = dp.task(iid, element)
        due = task.due_at
        assert due is not None
        assert [(t.element_id, t.due_at) for t in dp.timers(iid)] == \
            [(f"{element}_overdue", due)]
        assert dp.advance_to(due + timedelta(hours=1)) == 1
        group, leader = ESCALATIONS[element]
        escalation = dp.task(iid, f"escalate_{element}")
        assert escalation.name.startswith("逾期督办:")
        assert escalation.candidate_groups == [group]
        assert (escalation.created_at, escalation.due_at) == (due, due + ESCALATION_DUE)
        assert dp.get_task(task.id).state == TaskState.OPEN
        dp.complete(escalation.id, leader, SUPERVISION)
        _step(dp, iid, element, data)
    assert _fired(dp, iid) == [f"{element}_overdue" for element, _ in path]
    assert dp.timers(iid) == []
    _step(dp, iid, "accountability", FORMS["accountability"])
    assert dp.instance(iid).status == InstanceStatus.COMPLETED


@pytest.mark.parametrize(("data", "message"), [
    ({**START, "finding": {"source": "rumour", "description": "?"}},
     "unknown finding source: rumour"),
    ({k: v for k, v in START.items() if k != "finding"}, "a disposal starts with a finding"),
])
def test_a_start_without_a_known_finding_stops_the_instance(dp: Driver, data: dict[str, Any],
                                                            message: str) -> None:
    iid = dp.start("disposal", data)
    instance = dp.instance(iid)
    assert instance.status == InstanceStatus.ERROR
    assert instance.error_element == "check_finding"
    assert message in (instance.error_message or "")
    assert dp.tasks(iid) == []


def test_disposal_state_round_trips_at_every_wait(dp: Driver) -> None:
    """The long path with every step overdue (the most state it ever holds): at each wait the
    stored state reloads to the same JSON and agrees with the task and timer tables."""
    iid = dp.start("disposal", START)
    answers = {**FORMS, "verification": NOT_CORRECTED, "reverification": NOT_CORRECTED}
    for _ in range(40):
        check_roundtrip(dp, iid)
        if dp.instance(iid).status == InstanceStatus.COMPLETED:
            break
        tasks = {t.element_id: t for t in dp.tasks(iid)}
        escalations = [t for e, t in tasks.items() if e.startswith("escalate_")]
        if escalations:
            _group, leader = ESCALATIONS[escalations[0].element_id.removeprefix("escalate_")]
            dp.complete(escalations[0].id, leader, SUPERVISION)
        elif dp.timers(iid):
            dp.advance_to(dp.timers(iid)[0].due_at)
        else:
            [(element, task)] = tasks.items()
            dp.complete(task.id, ROUTES[element][1], answers[element])
    assert dp.instance(iid).status == InstanceStatus.COMPLETED
    assert len(_fired(dp, iid)) == len(ESCALATIONS)


# ---------------------------------------------------------------------------- the model


def test_model_every_user_task_has_form_due_date_escalation_and_di() -> None:
    tree = etree.parse(str(DISPOSAL))
    process = tree.find("bpmn:process", NS)
    assert process is not None
    assert (process.get("id"), process.get("name")) == ("disposal", "后期处置")

    def props(node: etree._Element) -> dict[str, str]:
        return {p.get("name"): p.get("value")
                for p in node.iterfind(".//spiffworkflow:property", NS)}

    tasks = {t.get("id"): t for t in process.iterfind("bpmn:userTask", NS)}
    assert set(tasks) == {*ROUTES, *(f"escalate_{e}" for e in ESCALATIONS)}
    for element, node in tasks.items():
        # 回避: nobody but the holder's own corrections is done by the post's holder.
        if element in ("correction", "recorrection"):
            assert set(props(node)) == {"dueIn", "formSchema"}
        else:
            assert set(props(node)) == {"dueIn", "formSchema", "excludes"}
            assert props(node)["excludes"] == "lane:post_holder"
    boundaries = {b.get("attachedToRef"): b for b in process.iterfind("bpmn:boundaryEvent", NS)}
    assert set(boundaries) == set(ESCALATIONS)
    for element, boundary in boundaries.items():
        assert boundary.get("cancelActivity") == "false"
        duration = boundary.find(".//bpmn:timeDuration", NS)
        assert duration is not None and duration.text is not None
        expected = props(tasks[element])["dueIn"]
        if element in ("correction", "recorrection"):
            assert (duration.text, expected) == ("correction_deadline", "P15D")
        else:
            assert duration.text == f'"{expected}"'
    # Full DI: a shape for every lane and flow node, an edge for every sequence flow.
    shapes = {s.get("bpmnElement") for s in tree.iterfind(".//{*}BPMNShape")}
    edges = {e.get("bpmnElement") for e in tree.iterfind(".//{*}BPMNEdge")}
    nodes = {n.get("id") for n in process if n.get("id") and etree.QName(n).localname
             not in ("sequenceFlow", "laneSet", "documentation")}
    lanes = {lane.get("id") for lane in process.iterfind(".//bpmn:lane", NS)}
    flows = {f.get("id") for f in process.iterfind("bpmn:sequenceFlow", NS)}
    assert nodes | lanes <= shapes
    assert flows == edges
    assert lanes == {"post_holder", "responsible_leader", "direct_manager", "supervising_leader",
                     "discipline_officer", "principal", "discipline_commission"}
