"""The designer's validation (one test per lint rule, well-formedness, the engine's parser,
references to deployed files), deployment behind validation, and drafts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from lxml import etree
from sqlalchemy import func, select

from engine.errors import NotFound, ValidationFailed
from engine.models import DesignDraft, ProcessDefinition
from engine.parsing import NS, Source, read_sources
from engine.programme.composition import programme_runtime
from engine.runtime import Runtime
from engine.services import deployment, design
from engine.services.design_lint.problem import Problem
from engine.settings import Settings
from tests.conftest import BPMN_DIR

B = NS["bpmn"]
#: A small valid process: a lane per role, a user task with a form, an exclusive gateway
#: (one conditional flow, one default), a timer, a script task and an end.
SMALL = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="{B}" xmlns:spiffworkflow="{NS['spiffworkflow']}"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="defs" targetNamespace="t">
  <bpmn:process id="small" name="Small" isExecutable="true">
    <bpmn:laneSet id="lanes">
      <bpmn:lane id="post_holder" name="Holder">
        <bpmn:flowNodeRef>start</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>fill</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>choose</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>wait</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>calc</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>end</bpmn:flowNodeRef>
      </bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="fill" name="Fill in">
      <bpmn:extensionElements>
        <spiffworkflow:properties>
          <spiffworkflow:property name="formSchema"
            value='{{"type": "object", "properties": {{}}}}'/>
          <spiffworkflow:property name="dueIn" value="P10D"/>
        </spiffworkflow:properties>
      </bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:exclusiveGateway id="choose" default="f4">
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:outgoing>f4</bpmn:outgoing>
    </bpmn:exclusiveGateway>
    <bpmn:intermediateCatchEvent id="wait" name="Wait">
      <bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f5</bpmn:outgoing>
      <bpmn:timerEventDefinition id="wait_timer">
        <bpmn:timeDuration xsi:type="bpmn:tFormalExpression">"P7D"</bpmn:timeDuration>
      </bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:scriptTask id="calc" name="Calc" scriptFormat="python">
      <bpmn:incoming>f4</bpmn:incoming><bpmn:incoming>f5</bpmn:incoming>
      <bpmn:outgoing>f6</bpmn:outgoing>
      <bpmn:script>total = 1 + 1</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f6</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="fill"/>
    <bpmn:sequenceFlow id="f2" sourceRef="fill" targetRef="choose"/>
    <bpmn:sequenceFlow id="f3" sourceRef="choose" targetRef="wait">
      <bpmn:conditionExpression
        xsi:type="bpmn:tFormalExpression">wait_first</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f4" sourceRef="choose" targetRef="calc"/>
    <bpmn:sequenceFlow id="f5" sourceRef="wait" targetRef="calc"/>
    <bpmn:sequenceFlow id="f6" sourceRef="calc" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


def _edit(change: Callable[[etree._Element], None], body: str = SMALL) -> Source:
    root = etree.fromstring(body.encode())
    change(root)
    return Source("small.bpmn", etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def _one(root: etree._Element, xpath: str) -> etree._Element:
    [found] = root.xpath(xpath, namespaces=NS)
    return found


def _remove(xpath: str) -> Callable[[etree._Element], None]:
    def change(root: etree._Element) -> None:
        node = _one(root, xpath)
        node.getparent().remove(node)
    return change


def _validate(rt: Runtime, *sources: Source) -> list[Problem]:
    with rt.uow(write=False) as uow:
        return design.validate_design(uow, list(sources))


def _rules(problems: list[Problem]) -> set[tuple[str, str | None]]:
    return {(p.rule, p.element) for p in problems}


def _versions(rt: Runtime, process_id: str) -> int:
    with rt.uow(write=False) as uow:
        return uow.session.scalar(select(func.count()).select_from(ProcessDefinition).where(
            ProcessDefinition.process_id == process_id)) or 0


def test_the_small_process_and_every_model_in_bpmn_pass(rt: Runtime) -> None:
    assert _validate(rt, Source("small.bpmn", SMALL.encode())) == []
    assert _validate(rt, *read_sources([BPMN_DIR])) == []


# ----------------------------------------------------------------------- one test per rule


def test_xml_must_be_well_formed(rt: Runtime) -> None:
    [problem] = _validate(rt, Source("small.bpmn", SMALL.replace("</bpmn:process>", "").encode()))
    assert problem.rule == "xml" and "not well-formed" in problem.message and problem.line


def test_a_doctype_is_refused(rt: Runtime) -> None:
    hostile = SMALL.replace('<?xml version="1.0" encoding="UTF-8"?>',
                            '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]>')
    [problem] = _validate(rt, Source("small.bpmn", hostile.encode()))
    assert problem.rule == "xml" and "DOCTYPE" in problem.message


def test_a_dmn_file_that_is_bpmn_is_refused(rt: Runtime) -> None:
    [problem] = _validate(rt, Source("small.dmn", SMALL.encode()))
    assert problem.rule == "xml" and "not a DMN file" in problem.message


def test_start_event_required(rt: Runtime) -> None:
    def change(root: etree._Element) -> None:
        _remove("//bpmn:startEvent")(root)
        _remove("//bpmn:sequenceFlow[@id='f1']")(root)
        _remove("//bpmn:flowNodeRef[.='start']")(root)
        _remove("//bpmn:userTask/bpmn:incoming")(root)
    assert ("start_event", "small") in _rules(_validate(rt, _edit(change)))


def test_end_event_required(rt: Runtime) -> None:
    def change(root: etree._Element) -> None:
        _remove("//bpmn:endEvent")(root)
        _remove("//bpmn:sequenceFlow[@id='f6']")(root)
        _remove("//bpmn:scriptTask/bpmn:outgoing")(root)
    problems = _validate(rt, _edit(change))
    assert ("end_event", "small") in _rules(problems)
    assert "no end event" in problems[0].message


def test_gateway_flows_need_a_condition_or_the_default(rt: Runtime) -> None:
    def no_default(root: etree._Element) -> None:
        del _one(root, "//bpmn:exclusiveGateway").attrib["default"]
    problems = _validate(rt, _edit(no_default))
    assert _rules(problems) == {("gateway_condition", "f4")}
    assert "default flow" in problems[0].message
    problems = _validate(rt, _edit(_remove("//bpmn:conditionExpression")))
    assert _rules(problems) == {("gateway_condition", "f3")}


def test_every_user_task_needs_a_lane(rt: Runtime) -> None:
    problems = _validate(rt, _edit(_remove("//bpmn:flowNodeRef[.='fill']")))
    assert _rules(problems) == {("user_task_lane", "fill")}
    assert "is in no lane" in problems[0].message and problems[0].line


def test_a_user_task_naming_its_candidates_needs_no_lane(rt: Runtime) -> None:
    def candidates(root: etree._Element) -> None:
        _remove("//bpmn:flowNodeRef[.='fill']")(root)
        props = _one(root, "//spiffworkflow:properties")
        etree.SubElement(props, f"{{{NS['spiffworkflow']}}}property",
                         name="candidateGroups", value="discipline_commission")
    assert _validate(rt, _edit(candidates)) == []


def _rename_lane(root: etree._Element) -> None:
    _one(root, "//bpmn:lane").set("id", "Lane_0abc")


def test_a_lane_must_be_a_role_the_runtime_knows(rt: Runtime) -> None:
    rt.lane_roles = frozenset({"post_holder", "department_head"})
    assert _validate(rt, Source("small.bpmn", SMALL.encode())) == []
    problems = _validate(rt, _edit(_rename_lane))
    assert _rules(problems) == {("lane_role", "Lane_0abc")}
    assert "department_head, post_holder" in problems[0].message
    assert problems[0].params["roles"] == "department_head, post_holder"


def test_without_known_lane_roles_any_lane_goes(rt: Runtime) -> None:
    """The runtime on its own (``lane_roles`` None: the default resolver takes the lane id
    as the candidate group) accepts any lane id."""
    assert rt.lane_roles is None
    assert _validate(rt, _edit(_rename_lane)) == []


def test_the_programmes_lanes_are_its_roles(settings: Settings) -> None:
    """Every model in bpmn/ uses lanes the programme's resolver knows; another lane id is
    refused."""
    rt = programme_runtime(settings)
    try:
        assert _validate(rt, *read_sources([BPMN_DIR])) == []
        problems = _validate(rt, _edit(_rename_lane))
    finally:
        rt.close()
    assert _rules(problems) == {("lane_role", "Lane_0abc")}
    assert {"post_holder", "department_head", "discipline_commission"} <= set(
        problems[0].params["roles"].split(", "))


@pytest.mark.parametrize(("text", "says"), [
    ('"seven days"', "not ISO 8601"),
    ("7 +", "not a valid expression"),
    ("__import__('os')", "not a valid expression"),
    ("7", "must be a text"),
    ("", "empty duration"),
    ("P7D", "without quotes"),
])
def test_timers_must_parse(rt: Runtime, text: str, says: str) -> None:
    def change(root: etree._Element) -> None:
        _one(root, "//bpmn:timeDuration").text = text
    problems = _validate(rt, _edit(change))
    assert ("timer", "wait") in _rules(problems)
    assert says in next(p.message for p in problems if p.rule == "timer")


def test_timer_expressions_over_task_data_are_accepted(rt: Runtime) -> None:
    def change(root: etree._Element) -> None:
        _one(root, "//bpmn:timeDuration").text = "correction_deadline"
    assert _validate(rt, _edit(change)) == []


def test_a_timer_date_and_a_cycle_are_checked_by_kind(rt: Runtime) -> None:
    def date(root: etree._Element) -> None:
        _one(root, "//bpmn:timeDuration").tag = f"{{{B}}}timeDate"
    assert ("timer", "wait") in _rules(_validate(rt, _edit(date)))  # "P7D" is no date

    def good_date(root: etree._Element) -> None:
        node = _one(root, "//bpmn:timeDuration")
        node.tag, node.text = f"{{{B}}}timeDate", '"2011-06-30T00:00:00+08:00"'
    assert _validate(rt, _edit(good_date)) == []


def test_scripts_and_conditions_must_compile_in_the_sandbox(rt: Runtime) -> None:
    def bad_script(root: etree._Element) -> None:
        _one(root, "//bpmn:script").text = "import os"
    assert _rules(_validate(rt, _edit(bad_script))) == {("script", "calc")}

    def bad_condition(root: etree._Element) -> None:
        _one(root, "//bpmn:conditionExpression").text = "level =="
    assert ("script", "f3") in _rules(_validate(rt, _edit(bad_condition)))


def test_the_form_schema_must_be_a_json_object_schema(rt: Runtime) -> None:
    def broken(root: etree._Element) -> None:
        _one(root, "//spiffworkflow:property[@name='formSchema']").set("value", '{"type": ')
    problems = _validate(rt, _edit(broken))
    assert _rules(problems) == {("form_schema", "fill")}
    assert "not valid JSON" in problems[0].message

    def not_object(root: etree._Element) -> None:
        _one(root, "//spiffworkflow:property[@name='formSchema']").set("value", "[1]")
    assert _rules(_validate(rt, _edit(not_object))) == {("form_schema", "fill")}


def test_due_in_must_be_a_duration(rt: Runtime) -> None:
    def change(root: etree._Element) -> None:
        _one(root, "//spiffworkflow:property[@name='dueIn']").set("value", "ten days")
    assert _rules(_validate(rt, _edit(change))) == {("due_in", "fill")}


def test_a_referenced_decision_must_exist_deployed_or_uploaded(rt: Runtime) -> None:
    post = read_sources([BPMN_DIR / "post_cycle.bpmn"])
    dmn = read_sources([BPMN_DIR / "post_grading.dmn"])
    problems = _validate(rt, *post)
    assert ("decision", "grading") in _rules(problems)
    assert "neither deployed nor in this upload" in problems[0].message
    assert _validate(rt, *post, *dmn) == []  # in the same upload
    with rt.uow() as uow:
        deployment.deploy(uow, [*post, *dmn], deployed_by="tests")
    assert _validate(rt, *post) == []  # deployed


def test_a_called_process_must_exist(rt: Runtime) -> None:
    unit = read_sources([BPMN_DIR / "unit_cycle.bpmn"])
    assert ("called_process", "post_cycles") in _rules(_validate(rt, *unit))
    with rt.uow() as uow:
        deployment.deploy(uow, read_sources([BPMN_DIR]), deployed_by="tests")
    assert _validate(rt, *unit) == []


def test_the_engine_parser_has_the_last_word(rt: Runtime) -> None:
    def unsupported(root: etree._Element) -> None:  # well connected, but SpiffWorkflow has
        node = _one(root, "//bpmn:scriptTask")  # no complex gateway
        node.tag = f"{{{B}}}complexGateway"
        del node.attrib["scriptFormat"]
        _remove("//bpmn:script")(root)
    problems = _validate(rt, _edit(unsupported))
    assert [(p.rule, p.element) for p in problems] == [("parser", "calc")]
    assert problems[0].filename == "small.bpmn"


# ----------------------------------------------------------------------- deploy and drafts


def test_deploy_design_refuses_anything_invalid_and_stores_nothing(rt: Runtime) -> None:
    bad = _edit(_remove("//bpmn:flowNodeRef[.='fill']"))
    with rt.uow() as uow, pytest.raises(design.DesignRejected) as caught:
        design.deploy_design(uow, [bad], deployed_by="designer")
    assert caught.value.problems[0].element == "fill"
    assert _versions(rt, "small") == 0


def test_deploy_design_makes_a_version_by_the_designer_and_drops_the_draft(rt: Runtime) -> None:
    good = Source("small.bpmn", SMALL.encode())
    with rt.uow() as uow:
        design.save_drafts(uow, [good], saved_by="designer")
    with rt.uow() as uow:
        [result] = design.deploy_design(uow, [good], deployed_by="designer")
    assert (result.process_id, result.version, result.created) == ("small", 1, True)
    with rt.uow(write=False) as uow:
        assert deployment.find_definition(uow, "small").deployed_by == "designer"
        assert design.get_draft(uow, "small.bpmn") is None
        overview = design.overview(uow)
    [entry] = overview.processes
    assert (entry.process_id, entry.filename, [v.version for v in entry.versions]) == (
        "small", "small.bpmn", [1])
    assert (entry.versions[0].deployed_by, entry.versions[0].instances) == ("designer", 0)


def test_deploying_a_decision_table_versions_the_processes_that_use_it(rt: Runtime) -> None:
    with rt.uow() as uow:
        deployment.deploy(uow, read_sources([BPMN_DIR]), deployed_by="tests")
    [dmn] = read_sources([BPMN_DIR / "post_grading.dmn"])
    changed = Source(dmn.filename, dmn.content.replace(b"</definitions>",
                                                       b"<!-- v2 --></definitions>"))
    with rt.uow() as uow:
        results = design.deploy_design(uow, [changed], deployed_by="designer")
    assert {(r.process_id, r.version) for r in results if r.created} == {
        ("post_cycle", 2), ("unit_cycle", 2), ("campaign", 2)}
    assert _versions(rt, "disposal") == 1


def test_drafts_are_all_or_none_and_need_well_formed_xml(rt: Runtime) -> None:
    good = Source("small.bpmn", SMALL.encode())
    broken = Source("broken.bpmn", b"<bpmn:definitions")
    with rt.uow() as uow, pytest.raises(ValidationFailed) as caught:
        design.save_drafts(uow, [good, broken], saved_by="designer")
    assert set(caught.value.errors) == {"broken.bpmn"}
    with rt.uow(write=False) as uow:
        assert uow.session.scalar(select(func.count()).select_from(DesignDraft)) == 0
    lintless = _edit(_remove("//bpmn:flowNodeRef[.='fill']"))  # a draft may have problems
    with rt.uow() as uow:
        [row] = design.save_drafts(uow, [lintless], saved_by="designer")
        assert (row.filename, row.process_id, row.saved_by) == ("small.bpmn", "small",
                                                                "designer")
    with rt.uow() as uow:
        design.save_drafts(uow, [good], saved_by="other")
    with rt.uow(write=False) as uow:
        opened = design.design_file(uow, filename="small.bpmn", draft=True)
        assert (opened.origin, opened.saved_by, opened.content) == ("draft", "other", SMALL)
        assert [d.filename for d in design.overview(uow).new_drafts] == ["small.bpmn"]
    with rt.uow() as uow:
        design.discard_draft(uow, "small.bpmn")
    with rt.uow(write=False) as uow:
        assert design.get_draft(uow, "small.bpmn") is None


def test_only_models_are_read_from_the_models_directory(rt: Runtime, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("secret", encoding="utf-8")
    (tmp_path / "table.dmn").write_bytes((BPMN_DIR / "post_grading.dmn").read_bytes())
    with rt.uow(write=False) as uow:
        opened = design.design_file(uow, filename="table.dmn", models_dir=tmp_path)
        assert (opened.kind, opened.origin) == ("dmn", "models")
        with pytest.raises(NotFound):
            design.design_file(uow, filename="notes.txt", models_dir=tmp_path)
        with pytest.raises(NotFound):
            design.design_file(uow, filename="../irpm.db", models_dir=tmp_path)
        listed = design.overview(uow, tmp_path).decision_files
    assert [(f.filename, f.decisions, f.deployed_at) for f in listed] == [
        ("table.dmn", ["post_grading"], None)]
