"""Issue 12 point 4: lint agrees with what deploy runs, finds disconnected elements, and
every message names the file, the element (id and name) and the fix — never a Python repr
or ``id "None"``."""

from __future__ import annotations

import re

import pytest

from engine.errors import DeploymentError
from engine.parsing import NS, Source, parse_sources
from engine.runtime import Runtime
from engine.services import design
from engine.services.design_lint.problem import Problem

HEAD = (f'<?xml version="1.0" encoding="UTF-8"?><bpmn:definitions xmlns:bpmn="{NS["bpmn"]}" '
        f'xmlns:spiffworkflow="{NS["spiffworkflow"]}" id="defs" targetNamespace="t">')
LANES = """<bpmn:laneSet id="ls"><bpmn:lane id="post_holder" name="Holder">
  <bpmn:flowNodeRef>start</bpmn:flowNodeRef><bpmn:flowNodeRef>work</bpmn:flowNodeRef>
  <bpmn:flowNodeRef>end</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>"""
LINE = """<bpmn:startEvent id="start"/><bpmn:userTask id="work" name="Work"/>
<bpmn:endEvent id="end"/>
<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work"/>
<bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end"/>"""
UNSAFE = re.compile(r"<Element|at 0x[0-9a-f]+|\"None\"|'None'|\bNone\b")


def _file(body: str, executable: str | None = ' isExecutable="true"') -> Source:
    return Source("lint.bpmn", (f'{HEAD}<bpmn:process id="p" name="P"{executable or ""}>'
                                f"{body}</bpmn:process></bpmn:definitions>").encode())


def _validate(rt: Runtime, source: Source) -> list[Problem]:
    with rt.uow(write=False) as uow:
        return design.validate_design(uow, [source])


def _found(problems: list[Problem]) -> set[tuple[str, str | None]]:
    return {(p.rule, p.element) for p in problems}


def test_a_connected_process_passes(rt: Runtime) -> None:
    assert _validate(rt, _file(LANES + LINE)) == []


def test_a_task_no_flow_reaches_or_leaves_is_refused_naming_it_and_the_fix(rt: Runtime) -> None:
    body = LANES.replace("</bpmn:lane>", "<bpmn:flowNodeRef>lost</bpmn:flowNodeRef></bpmn:lane>")
    problems = _validate(rt, _file(body + LINE + '<bpmn:userTask id="lost" name="Lost step"/>'))
    assert _found(problems) == {("flow_unreached", "lost"), ("flow_dead_end", "lost")}
    for problem in problems:
        assert problem.filename == "lint.bpmn" and problem.line
        assert "'Lost step' (lost)" in problem.message
        assert "connect" in problem.message and not UNSAFE.search(problem.message)
        assert problem.params["id"] == "lost" and problem.params["element"] == "Lost step"


def test_a_dead_end_and_a_flow_to_nowhere_are_refused(rt: Runtime) -> None:
    body = LANES + LINE.replace('targetRef="end"', 'targetRef="nowhere"')
    problems = _validate(rt, _file(body))
    assert {("flow_reference", "f2"), ("flow_unreached", "end")} <= _found(problems)
    [reference] = [p for p in problems if p.rule == "flow_reference"]
    assert "'nowhere'" in reference.message and "process 'P'" in reference.message


def test_events_that_need_no_flow_are_not_disconnected(rt: Runtime) -> None:
    """Start events are not reached, end events not left, a boundary event is reached
    through its activity, an event subprocess starts on its event, link events jump."""
    body = LANES.replace("</bpmn:lane>", "".join(
        f"<bpmn:flowNodeRef>{n}</bpmn:flowNodeRef>" for n in (
            "late", "late_end", "events", "to_link", "from_link", "link_end")) + "</bpmn:lane>")
    body += LINE.replace('<bpmn:endEvent id="end"/>', """<bpmn:endEvent id="end"/>
<bpmn:boundaryEvent id="late" attachedToRef="work" cancelActivity="false">
  <bpmn:timerEventDefinition id="late_timer"><bpmn:timeDuration>"P1D"</bpmn:timeDuration>
  </bpmn:timerEventDefinition></bpmn:boundaryEvent>
<bpmn:endEvent id="late_end"/>
<bpmn:sequenceFlow id="f3" sourceRef="late" targetRef="late_end"/>
<bpmn:subProcess id="events" triggeredByEvent="true">
  <bpmn:startEvent id="events_start" isInterrupting="false">
    <bpmn:signalEventDefinition id="sig_def"/></bpmn:startEvent>
  <bpmn:endEvent id="events_end"/>
  <bpmn:sequenceFlow id="e1" sourceRef="events_start" targetRef="events_end"/>
</bpmn:subProcess>""")
    problems = _validate(rt, _file(body))
    assert not {p for p in problems if p.rule.startswith("flow_")}, problems


def test_a_process_without_is_executable_gets_the_same_checks_deploy_runs(rt: Runtime) -> None:
    """SpiffWorkflow executes a process that has no ``isExecutable``: lint checks it too —
    its lanes and its gateways — and only ``isExecutable="false"`` leaves it out."""
    assert [p.process_id for p in parse_sources([_file(LINE, executable=None)])] == ["p"]
    assert _found(_validate(rt, _file(LINE, executable=None))) == {("user_task_lane", "work")}
    gateway = LINE.replace('<bpmn:endEvent id="end"/>', """<bpmn:endEvent id="end"/>
<bpmn:exclusiveGateway id="g"/><bpmn:endEvent id="other"/>
<bpmn:sequenceFlow id="g1" sourceRef="g" targetRef="end"/>
<bpmn:sequenceFlow id="g2" sourceRef="g" targetRef="other"/>""").replace(
        'sourceRef="work" targetRef="end"', 'sourceRef="work" targetRef="g"')
    assert ("gateway_condition", "g1") in _found(_validate(rt, _file(LANES + gateway,
                                                                      executable=None)))
    [skipped] = _validate(rt, _file(LINE, executable=' isExecutable="false"'))
    assert skipped.rule == "parser" and "no executable process" in skipped.message


def test_lanes_reach_into_subprocesses_for_lint_as_at_run_time(rt: Runtime) -> None:
    """A user task in a subprocess drawn in a lane is routed by that lane (the catalog), so
    lint accepts it; in a subprocess no lane holds, it is refused."""
    inner = """<bpmn:startEvent id="start"/>
<bpmn:subProcess id="sub" name="Sub"><bpmn:startEvent id="s0"/>
  <bpmn:userTask id="inner" name="Inner"/><bpmn:endEvent id="s9"/>
  <bpmn:sequenceFlow id="i1" sourceRef="s0" targetRef="inner"/>
  <bpmn:sequenceFlow id="i2" sourceRef="inner" targetRef="s9"/></bpmn:subProcess>
<bpmn:endEvent id="end"/>
<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="sub"/>
<bpmn:sequenceFlow id="f2" sourceRef="sub" targetRef="end"/>"""
    laned = LANES.replace("<bpmn:flowNodeRef>work</bpmn:flowNodeRef>",
                          "<bpmn:flowNodeRef>sub</bpmn:flowNodeRef>")
    assert _validate(rt, _file(laned + inner)) == []
    [parsed] = parse_sources([_file(laned + inner)])
    assert parsed.catalog["inner"]["lane"] == "post_holder"
    unlaned = LANES.replace("<bpmn:flowNodeRef>work</bpmn:flowNodeRef>", "")
    assert _found(_validate(rt, _file(unlaned + inner))) == {("user_task_lane", "inner")}


@pytest.mark.parametrize("body, says", [
    ('<bpmn:startEvent id="start"/><bpmn:businessRuleTask id="rate" name="Rate"/>'
     '<bpmn:endEvent id="end"/><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="rate"/>'
     '<bpmn:sequenceFlow id="f2" sourceRef="rate" targetRef="end"/>',
     "business rule task 'Rate' (rate) does not name the decision it calls: add "
     "spiffworkflow:calledDecisionId"),
    ('<bpmn:startEvent id="start"/><bpmn:businessRuleTask id="rate" name="Rate">'
     "<bpmn:extensionElements><spiffworkflow:calledDecisionId>grading"
     "</spiffworkflow:calledDecisionId></bpmn:extensionElements></bpmn:businessRuleTask>"
     '<bpmn:endEvent id="end"/><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="rate"/>'
     '<bpmn:sequenceFlow id="f2" sourceRef="rate" targetRef="end"/>',
     "business rule task 'Rate' (rate) calls decision 'grading', which no deployed or "
     "uploaded .dmn file defines"),
    ('<bpmn:startEvent id="start"/><bpmn:userTask id="work" name="Work" bogus="1"/>',
     "'bpmn:userTask'"),
])
def test_deploy_errors_name_the_element_in_plain_words(body: str, says: str) -> None:
    """What SpiffWorkflow's parser says reaches the user with the element named and the fix
    said — not its ``id "None"`` nor an XSD's ``{http://…/MODEL}userTask``."""
    with pytest.raises(DeploymentError) as caught:
        parse_sources([_file(body)])
    assert says in caught.value.message
    assert caught.value.filename == "lint.bpmn" and caught.value.element
    assert not UNSAFE.search(caught.value.message) and "{http" not in caught.value.message
