"""The designer's decision tables (engine.services.design_tables through design.overview):
the version of each table that runs — the one ``engine.services.decisions`` evaluates — and
the processes a change to it affects, with their latest versions and running instances."""

from __future__ import annotations

from datetime import timedelta

from engine.parsing import Source
from engine.services import decisions, deployment, design
from tests.conftest import BPMN_DIR
from tests.dmn_edits import retested

from .conftest import Driver, post_attributes

RESPONSIBILITY = (BPMN_DIR / "responsibility.dmn").read_text(encoding="utf-8")
#: responsibility.dmn with level 1 answered for by the department head.
HEAD_FOR_LEVEL_1 = retested("responsibility.dmn", RESPONSIBILITY.replace(
    '<outputEntry id="responsibility_rule_1_out_1">\n          <text>"principal"</text>',
    '<outputEntry id="responsibility_rule_1_out_1">\n          <text>"department_head"</text>'))
USERS = ("campaign", "post_cycle", "unit_cycle")

#: A process whose first version runs post_grading and whose second no longer does.
TINY = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
    id="definitions_tiny" targetNamespace="http://irpm/tests">
  <bpmn:process id="tiny" name="小流程" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    {middle}
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>
"""
RULE_TASK = """<bpmn:businessRuleTask id="grade">
      <bpmn:extensionElements>
        <spiffworkflow:calledDecisionId>post_grading</spiffworkflow:calledDecisionId>
      </bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:businessRuleTask>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="grade"/>
    <bpmn:sequenceFlow id="f2" sourceRef="grade" targetRef="end"/>"""
NO_RULE = """<bpmn:task id="grade">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:task>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="grade"/>
    <bpmn:sequenceFlow id="f2" sourceRef="grade" targetRef="end"/>"""


def tables(driver: Driver) -> dict[str, design.DecisionFile]:
    with driver.rt.uow(write=False) as uow:
        return {f.filename: f for f in design.overview(uow, BPMN_DIR).decision_files}


def deploy_tables(driver: Driver, *files: tuple[str, str]) -> dict[str, int]:
    with driver.rt.uow() as uow:
        done = design.deploy_design(uow, [Source(n, t.encode()) for n, t in files],
                                    deployed_by="designer")
    return {d.process_id: d.version for d in done if d.created}


def opened(driver: Driver, filename: str) -> str:
    with driver.rt.uow(write=False) as uow:
        return design.design_file(uow, filename=filename, models_dir=BPMN_DIR).content


def test_each_table_lists_the_processes_using_it(driver: Driver) -> None:
    driver.deploy_bpmn_dir()
    for _ in range(2):
        driver.start("post_cycle", post_attributes(approval_power=True))
    listed = tables(driver)
    assert sorted(listed) == ["post_grading.dmn", "responsibility.dmn", "risk_grading.dmn"]
    for table in listed.values():
        assert table.deployed_at is not None
        assert [(u.process_id, u.latest_version, u.in_latest, u.versions) for u in table.users] \
            == [(p, 1, True, (1,)) for p in USERS]
        assert {u.process_id: u.running for u in table.users}["post_cycle"] == 2
    assert listed["responsibility.dmn"].decisions == ["responsibility"]


def test_a_change_makes_new_versions_and_the_list_shows_what_runs(driver: Driver) -> None:
    driver.deploy_bpmn_dir()
    old = driver.start("post_cycle", post_attributes())
    assert deploy_tables(driver, ("responsibility.dmn", HEAD_FOR_LEVEL_1)) == \
        dict.fromkeys(USERS, 2)
    table = tables(driver)["responsibility.dmn"]
    assert table.content_hash == Source("", HEAD_FOR_LEVEL_1.encode()).content_hash
    users = {u.process_id: u for u in table.users}
    assert (users["post_cycle"].latest_version, users["post_cycle"].versions,
            users["post_cycle"].running) == (2, (2, 1), 1)  # the old instance keeps v1
    assert opened(driver, "responsibility.dmn") == HEAD_FOR_LEVEL_1
    with driver.rt.uow(write=False) as uow:
        assert decisions.evaluate(uow, "responsibility", {"level": 1})["responsible_role"] \
            == "department_head"
        assert decisions.evaluate(
            uow, "responsibility", {"level": 1},
            definition_id=driver.instance(old).definition_id)["responsible_role"] == "principal"

    # Deploying the first table again: it runs again, and the designer opens it (its file
    # was stored first, so "newest stored" would wrongly show the altered one).
    assert deploy_tables(driver, ("responsibility.dmn", RESPONSIBILITY)) == \
        dict.fromkeys(USERS, 3)
    assert opened(driver, "responsibility.dmn") == RESPONSIBILITY
    assert tables(driver)["responsibility.dmn"].content_hash == \
        Source("", RESPONSIBILITY.encode()).content_hash
    with driver.rt.uow(write=False) as uow:
        assert decisions.evaluate(uow, "responsibility", {"level": 1})["responsible_role"] \
            == "principal"


def test_a_process_that_stopped_using_a_table_is_listed_as_such(driver: Driver) -> None:
    grading = (BPMN_DIR / "post_grading.dmn").read_text(encoding="utf-8")
    with driver.rt.uow() as uow:
        deployment.deploy(uow, [Source("tiny.bpmn", TINY.format(middle=RULE_TASK).encode()),
                                Source("post_grading.dmn", grading.encode())])
    with driver.rt.uow() as uow:
        deployment.deploy(uow, [Source("tiny.bpmn", TINY.format(middle=NO_RULE).encode())])
    [user] = tables(driver)["post_grading.dmn"].users
    assert (user.process_id, user.name, user.latest_version, user.in_latest, user.versions) == \
        ("tiny", "小流程", 2, False, (1,))
    assert tables(driver)["risk_grading.dmn"].deployed_at is None  # only in bpmn/


def test_a_process_deployed_alone_keeps_the_tables_its_service_tasks_name(
        driver: Driver) -> None:
    """unit_cycle calls post_cycle; both name tables in service tasks (calledDecisionId).
    Redeploying unit_cycle alone from the designer takes them from what is deployed, so
    post_cycle is unchanged and the new unit_cycle version still has its tables."""
    driver.deploy_bpmn_dir()
    unit = (BPMN_DIR / "unit_cycle.bpmn").read_text(encoding="utf-8")
    renamed = unit.replace('name="查找单位层面风险"', 'name="查找单位层面廉政风险"', 1)
    assert renamed != unit
    assert deploy_tables(driver, ("unit_cycle.bpmn", renamed)) == {"unit_cycle": 2}
    with driver.rt.uow(write=False) as uow:
        row = deployment.find_definition(uow, "unit_cycle")
        assert {s.filename for s in row.sources} >= {"risk_grading.dmn", "responsibility.dmn"}
        assert "risk_grading" in decisions.version_tables(uow, row.id)


def test_a_process_deployed_alone_takes_the_tables_that_run(driver: Driver) -> None:
    """After a table was deployed back to its earlier content, deploying a process alone
    takes that content — the one that runs — not the later one stored since."""
    driver.deploy_bpmn_dir()
    grading = (BPMN_DIR / "post_grading.dmn").read_text(encoding="utf-8")
    stricter = retested("post_grading.dmn", grading.replace(
        '<outputEntry id="rule_8_out">\n          <text>2</text>',
        '<outputEntry id="rule_8_out">\n          <text>1</text>'))
    assert stricter != grading
    driver.advance(timedelta(days=1))  # stored a day after the first content
    assert deploy_tables(driver, ("post_grading.dmn", stricter))["post_cycle"] == 2
    driver.advance(timedelta(days=1))
    assert deploy_tables(driver, ("post_grading.dmn", grading))["post_cycle"] == 3
    unit = (BPMN_DIR / "unit_cycle.bpmn").read_text(encoding="utf-8")
    renamed = unit.replace('name="查找单位层面风险"', 'name="查找单位层面廉政风险"', 1)
    assert deploy_tables(driver, ("unit_cycle.bpmn", renamed)) == {"unit_cycle": 4}
    with driver.rt.uow(write=False) as uow:
        row = deployment.find_definition(uow, "unit_cycle")
        [table] = [s for s in row.sources if s.filename == "post_grading.dmn"]
        assert table.content == grading
