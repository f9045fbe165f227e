"""The post cycle (bpmn/post_cycle.bpmn) on the simulated clock: what the grading decision
and the register say for each kind of post, how the publicity timer waits, that other
instances are left alone, and the task rows and instance data the inbox reads.

Who receives each task at each level, the register the cycle writes, suggestions, objections
and self-checks are in test_post_cycle_domain.py; the unit and the campaign in
test_programme.py. The engine mechanics (claims, concurrency, lifecycle) run on the fixed
``simple_cycle`` fixture.
"""

from __future__ import annotations

from datetime import timedelta
from textwrap import dedent

import pytest

from engine import serialization
from engine.models import InstanceStatus
from engine.programme.services import org_import
from engine.services import inbox, instances
from tests.conftest import ADMIN, OUTSIDER

from .conftest import ATTRIBUTES, T0
from .programme_org import (
    FGW_HEAD,
    YEAR,
    City,
    Recorder,
    discover,
    element_data,
    post_data,
    risk,
)

PUBLICITY = timedelta(days=7)

#: One post per case of the source's rule (post_grading.dmn), in a unit of its own: the
#: attributes set, and the level. 一级: "单位领导班子正职岗位,与经济发展和人民群众生产
#: 生活密切相关的岗位,具有行政审批权和执法权的岗位,从事人事、财务、物资、采购、基建等管理
#: 的岗位"; 二级: "具有一般经济管理、社会事务管理、公共服务等职能的岗位"; otherwise 三级.
CASES: dict[str, tuple[tuple[str, ...], int]] = {
    "tst-none": ((), 3),
    "tst-ge": (("general_economic",), 2),
    "tst-sa": (("social_affairs",), 2),
    "tst-ps": (("public_service",), 2),
    "tst-sa-ps": (("social_affairs", "public_service"), 2),
    "tst-pp": (("principal_post",), 1),
    "tst-ap": (("approval_power",), 1),
    "tst-ep": (("enforcement_power",), 1),
    "tst-kr": (("key_resources",), 1),
    "tst-lh": (("livelihood",), 1),
    "tst-lh-ps": (("livelihood", "public_service"), 1),  # level 1 wins over level 2
    "tst-all": (ATTRIBUTES, 1),
}


def import_test_unit(city: City) -> None:
    """Unit tst: one department 测试科 (head and deputy o21, discipline officer o22) holding a
    vacant post per case."""
    header = "code,department_code,name," + ",".join(ATTRIBUTES)
    rows = [f"{code},tst-k,{code}岗," + ",".join("是" if a in true else "否" for a in ATTRIBUTES)
            for code, (true, _level) in CASES.items()]
    files = {
        "units.csv": "code,name,principal_code,discipline_officer_code\ntst,测试局,o21,o22\n",
        "officials.csv": "code,name,unit_code\no21,测试甲,tst\no22,测试乙,tst\n",
        "departments.csv": "code,unit_code,name,head_code,deputy_in_charge_code\n"
                           "tst-k,tst,测试科,o21,o21\n",
        "posts.csv": "\n".join([header, *rows]) + "\n",
    }
    with city.rt.uow() as uow:
        org_import.import_csv(uow, {name: dedent(body).encode() for name, body in files.items()})


def tst_data(post: str, **extra: object) -> dict[str, object]:
    true, _level = CASES[post]
    return {"post_code": post, "department_code": "tst-k", "unit_code": "tst", "year": YEAR,
            **{a: a in true for a in ATTRIBUTES}, **extra}


def discover_in_tst(city: City, iid: int, *risks: dict[str, str]) -> None:
    """The four methods (the test posts are vacant: an administrator fills the holder's form);
    ``risks`` as found by the holder."""
    steps = (("self_identified", list(risks) or [risk("程序公开不及时", category="process")]),
             ("peer_checked", []), ("leader_pointed", []), ("organization_reviewed", []))
    for element, found in steps:
        city.complete(city.task(iid, element).id, ADMIN, {"risks": found})


@pytest.mark.parametrize("post", sorted(CASES))
def test_grading_by_the_post_rule(city: City, post: str) -> None:
    import_test_unit(city)
    level = CASES[post][1]
    iid = city.start("post_cycle", tst_data(post))
    discover_in_tst(city, iid)
    decided = element_data(city, iid, "grading")  # bpmn/post_grading.dmn's answer
    assert decided["post_level"] == level
    graded = element_data(city, iid, "combined_grading")["grading"]
    assert (graded["post_level"], graded["rule_level"], graded["risk_level"]) == (level, level, 3)
    assert city.open_elements(iid) == ["review"]


@pytest.mark.parametrize(("likelihood", "harm", "level"), [
    ("low", "crime", 1), ("high", "minor", 1), ("fairly_high", "minor", 2),
    ("low", "disciplinary", 2), ("low", "minor", 3)])
def test_a_post_takes_the_highest_of_its_rule_and_its_risks(
        city: City, likelihood: str, harm: str, level: int) -> None:
    """"根据岗位风险发生的几率大小、可能造成的危害程度" — a level-3 post with a risk of a higher
    level takes the risk's level, and the leaders that go with it."""
    import_test_unit(city)
    iid = city.start("post_cycle", tst_data("tst-none"))
    discover_in_tst(city, iid, risk("收受好处", likelihood, harm))
    data = element_data(city, iid, "combined_grading")
    assert (data["post_level"], data["grading"]["rule_level"]) == (level, 3)
    roles = {1: "principal", 2: "deputy_in_charge", 3: "department_head"}
    assert data["responsible_role"] == roles[level]


def to_publicity(city: City, post: str) -> int:
    iid = city.start("post_cycle", post_data(post), business_key=post)
    rec = Recorder(city)
    discover(rec, iid, post)
    rec.do(iid, "review", FGW_HEAD if post != "fgw-tzc-sp" else "zhangwei", {"approved": True})
    return iid


def test_timer_waits_exactly_seven_days(city: City) -> None:
    iid = to_publicity(city, "fgw-tzc-da")
    due = T0 + PUBLICITY
    assert city.due_ids(due - timedelta(seconds=1)) == []
    assert city.due_ids(due) == [iid]
    city.set_clock(due - timedelta(seconds=1))
    assert city.fire() == 0
    assert city.open_elements(iid) == []
    # At the due instant itself the timer fires: what due_instance_ids reports is what fires.
    city.set_clock(due)
    assert city.fire() == 1
    assert city.open_elements(iid) == ["monitoring", "prevention"]
    assert city.task(iid, "prevention").created_at == due


def test_other_instances_keep_waiting(city: City) -> None:
    early = to_publicity(city, "fgw-tzc-da")
    city.advance(timedelta(days=2))
    late = to_publicity(city, "fgw-tzc-tj")
    untouched = city.start("post_cycle", post_data("fgw-tzc-sp"))
    revision = city.instance(late).revision
    assert city.advance_to(T0 + PUBLICITY + timedelta(hours=1)) == 1
    assert city.open_elements(early) == ["monitoring", "prevention"]
    assert city.open_elements(late) == []
    assert city.instance(late).revision == revision
    assert city.open_elements(untouched) == ["self_identified"]
    assert sorted((t.instance_id, t.element_id) for t in city.timers()) == [
        (early, "quarterly_self_check"), (late, "publicity_expired")]


def test_listing_tasks_never_loads_a_workflow(city: City,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    iid = city.start("post_cycle", post_data("fgw-tzc-tj"))
    holder = city.actor("chenjing")
    city.claim(city.task(iid, "self_identified").id, holder)
    other = city.start("post_cycle", post_data("fgw-tzc-tj"))

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("a workflow was deserialized")

    city.rt.workflows.clear()
    city.rt.specs = type(city.rt.specs)()
    from engine.execution import checkout
    for module in (serialization, checkout):
        monkeypatch.setattr(module, "load_state", refuse)
        monkeypatch.setattr(module, "load_spec", refuse)

    with city.rt.uow(write=False) as uow:
        mine, mine_total = inbox.list_tasks(uow, holder, inbox.TaskFilter("mine"))
        claimable, _ = inbox.list_tasks(uow, holder, inbox.TaskFilter("claimable"))
        everything, total = inbox.list_tasks(uow, holder, inbox.TaskFilter("open"))
        assert inbox.list_tasks(uow, OUTSIDER, inbox.TaskFilter("open"))[1] == 0
        listed, _ = instances.list_instances(uow)
    assert [(t.instance_id, t.element_id) for t in mine] == [(iid, "self_identified")]
    assert mine_total == 1
    assert [(t.instance_id, t.element_id) for t in claimable] == [(other, "self_identified")]
    assert total == 2 and {t.instance_id for t in everything} == {iid, other}
    assert everything[0].candidate_groups == ["post:fgw-tzc-tj"]
    assert {i.id for i in listed} == {iid, other}
    # The patch does bite: anything that needs the workflow now fails.
    with pytest.raises(AssertionError, match="deserialized"):
        city.data(iid)


def test_instance_data_is_a_copy(city: City) -> None:
    """Callers (web views) may edit what they get; the cached live workflow must not change."""
    iid = city.start("post_cycle", post_data("fgw-tzc-da", publicity_period="P9D"))
    data = city.data(iid)
    assert (data["post_code"], data["publicity_period"], data["self_check_cycle"]) == (
        "fgw-tzc-da", "P9D", "R4/P3M")
    data["post_code"] = "changed"
    data["publicity_period"] = "P1D"
    again = city.data(iid)
    assert (again["post_code"], again["publicity_period"]) == ("fgw-tzc-da", "P9D")
    rec = Recorder(city)
    discover(rec, iid, "fgw-tzc-da")
    rec.do(iid, "review", FGW_HEAD, {"approved": True})
    city.rt.workflows.clear()
    [timer] = city.timers(iid)
    assert timer.due_at == T0 + timedelta(days=9)
    assert city.instance(iid).status == InstanceStatus.WAITING
