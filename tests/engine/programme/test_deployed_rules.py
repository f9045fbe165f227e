"""What people see and edit is what runs (issue 11, point 1): decision tables altered in the
designer and deployed change how the post cycle grades and routes — for instances started
after the deployment; an instance started before keeps its version's tables.

The altered tables, deployed through the designer's service (``design.deploy_design``, which
makes a new version of every process using them):

* post_grading.dmn: 具有行政审批权 (rule_2) gives level 2, not 1;
* risk_grading.dmn: 几率较小、危害轻微 (risk_rule_5) gives level 2, not 3;
* responsibility.dmn: levels 1 and 2 are answered for by the department head, the deputy in
  charge managing directly (the source: 一级 by the principal, 二级 by the deputy).

In the small city of ``programme_org``: 项目审批岗 (fgw-tzc-sp, 行政审批权) is held by 杨洋;
the principal of 发改委 is 王建国 (wangjianguo), the deputy in charge of 投资处 张伟 (zhangwei),
its head 李明 (liming). 预算审核岗 (czj-ysk-sh, 人事财务…管理: level 1) is 财政局's, whose head
of 预算科 is 周强 (zhouqiang) and whose principal is 孙丽 (sunli).
"""

from __future__ import annotations

import re
from datetime import timedelta

from engine.parsing import Source
from engine.programme.services import register_grading, register_pages, register_risk_points
from engine.services import design
from tests.conftest import ADMIN, BPMN_DIR
from tests.dmn_edits import retested

from .programme_org import FGW_HEAD, FGW_OFFICER, YEAR, City, element_data, post_data, risk
from .test_post_cycle_domain import PUBLICITY

POST = "fgw-tzc-sp"
HOLDER, PEER, PRINCIPAL, DEPUTY = "yangyang", "chenjing", "wangjianguo", "zhangwei"
#: The roles the altered responsibility table names for levels 1 and 2.
ALTERED_ROLES = ("department_head", "deputy_in_charge")


def _output(text: str, entry: str, old: str, new: str) -> str:
    """``text`` with the output entry ``entry`` reading ``new`` instead of ``old``."""
    pattern = f'(<outputEntry id="{entry}">\\s*<text>){re.escape(old)}(</text>)'
    changed, n = re.subn(pattern, lambda m: m.group(1) + new + m.group(2), text)
    assert n == 1, (entry, old)
    return changed


def altered_tables() -> list[Source]:
    post = (BPMN_DIR / "post_grading.dmn").read_text(encoding="utf-8")
    risk_table = (BPMN_DIR / "risk_grading.dmn").read_text(encoding="utf-8")
    roles = (BPMN_DIR / "responsibility.dmn").read_text(encoding="utf-8")
    post = _output(post, "rule_2_out", "1", "2")
    risk_table = _output(risk_table, "risk_rule_5_out", "3", "2")
    for rule, was in (("responsibility_rule_1", ("principal", "deputy_in_charge")),
                      ("responsibility_rule_2", ("deputy_in_charge", "department_head"))):
        for index, (old, new) in enumerate(zip(was, ALTERED_ROLES, strict=True), 1):
            roles = _output(roles, f"{rule}_out_{index}", f'"{old}"', f'"{new}"')
    # the tables' test cases follow the altered rules, as a designer's edit would
    return [Source(name, retested(name, text).encode())
            for name, text in (("post_grading.dmn", post), ("risk_grading.dmn", risk_table),
                               ("responsibility.dmn", roles))]


def redeploy(city: City) -> dict[str, int]:
    """The altered tables through the designer: process id → the new version."""
    with city.rt.uow() as uow:
        done = design.deploy_design(uow, altered_tables(), deployed_by="designer")
    assert all(d.created for d in done)
    return {d.process_id: d.version for d in done}


def start(city: City, post: str, year: int) -> int:
    return city.start("post_cycle", post_data(post, year=year), business_key=f"{post}-{year}")


def discover(city: City, iid: int) -> None:
    """投资处's four discovery methods, one risk that is 几率较小、危害轻微 (low, minor)."""
    city.do(iid, "self_identified", HOLDER, {"risks": [risk("审批材料受理登记不全")]})
    city.do(iid, "peer_checked", PEER, {"risks": []})
    city.do(iid, "leader_pointed", FGW_HEAD, {"risks": []})
    city.do(iid, "organization_reviewed", FGW_OFFICER, {"risks": []})


def graded(city: City, post: str, year: int) -> tuple[int, int, int | None, str, str, list[int]]:
    with city.rt.uow(write=False) as uow:
        page = register_pages.post_register(uow, post, year)
    assert page.grading is not None
    g = page.grading
    return (g.effective_level, g.rule_level, g.risk_level, g.responsible_role,
            g.direct_manager_role, [p.level for p in page.risk_points])


def test_altered_tables_grade_and_route_new_instances_and_old_ones_keep_theirs(
        city: City) -> None:
    old = start(city, POST, YEAR)  # post_cycle v1: the tables in bpmn/
    versions = redeploy(city)
    assert versions["post_cycle"] == 2 and versions["unit_cycle"] == 2
    new = start(city, POST, YEAR + 1)
    assert city.instance(new).definition_id != city.instance(old).definition_id

    for iid in (old, new):
        discover(city, iid)
        assert city.open_elements(iid) == ["review"]
    # The old instance, graded after the deployment, by version 1's tables.
    assert graded(city, POST, YEAR) == (1, 1, 3, "principal", "deputy_in_charge", [3])
    # The new one by the altered tables — the DMN step, the register and the roles agree.
    assert graded(city, POST, YEAR + 1) == (2, 2, 2, *ALTERED_ROLES, [2])
    assert element_data(city, new, "grading")["post_level"] == 2  # the business-rule task
    assert element_data(city, old, "grading")["post_level"] == 1
    combined = element_data(city, new, "combined_grading")
    assert (combined["post_level"], combined["responsible_role"],
            combined["direct_manager_role"]) == (2, *ALTERED_ROLES)

    # 严格审核把关 by the direct manager, then control once publicity is over: prevention by
    # the leader the table makes responsible, the integrity talk for level 1 only.
    for iid in (old, new):
        assert city.who_can_take(city.task(iid, "review")) == [DEPUTY]
        city.do(iid, "review", DEPUTY, {"approved": True})
    city.advance_to(city.now() + PUBLICITY)
    assert city.open_elements(old) == ["integrity_talk", "monitoring", "prevention"]
    assert city.open_elements(new) == ["monitoring", "prevention"]
    assert city.who_can_take(city.task(old, "prevention")) == [PRINCIPAL]
    assert city.who_can_take(city.task(new, "prevention")) == [FGW_HEAD]
    assert city.who_can_take(city.task(new, "monitoring")) == [DEPUTY]


def test_a_reviewers_level_takes_its_roles_from_the_instances_tables(city: City) -> None:
    redeploy(city)
    iid = start(city, POST, YEAR)
    discover(city, iid)
    city.do(iid, "review", DEPUTY, {"approved": False})
    city.do(iid, "change_level", DEPUTY,
            {"new_level": 1, "level_reason": "该岗位实际经手项目资金拨付,风险高于岗位职责所列"})
    assert graded(city, POST, YEAR) == (1, 2, 2, *ALTERED_ROLES, [2])
    city.advance_to(city.now() + PUBLICITY + timedelta(seconds=1))
    assert city.who_can_take(city.task(iid, "prevention")) == [FGW_HEAD]
    assert city.who_can_take(city.task(iid, "integrity_talk")) == [PRINCIPAL]


def test_outside_a_process_the_latest_tables_apply(city: City) -> None:
    with city.rt.uow(write=False) as uow:
        assert register_pages.post_register(uow, POST).rule_level == 1
    redeploy(city)
    with city.rt.uow(write=False) as uow:
        assert register_pages.post_register(uow, POST).rule_level == 2
    with city.rt.uow() as uow:
        [point] = register_risk_points.add_risk_points(
            uow, {"post": "czj-ysk-sh"}, YEAR,
            [{**risk("预算调整审核把关不严"), "found_by": "self_identified"}], ADMIN)
    assert point.level == 2
    with city.rt.uow() as uow:
        grading = register_grading.grade_post(uow, "czj-ysk-sh", YEAR, ADMIN)
    assert (grading.level, grading.rule_level, grading.risk_level) == (1, 1, 2)
    assert (grading.responsible_role, grading.direct_manager_role) == ALTERED_ROLES
