"""Newer versions of the engine tests' cycle (tests/fixtures/simple_cycle.bpmn) for the
console's migration tests: one that adds a step (safe to migrate to), one that drops the
first step (not safe for instances still at it or past it)."""

from __future__ import annotations

from engine.parsing import Source
from engine.runtime import Runtime
from engine.services import deployment
from engine.services.deployment import DeployedProcess
from tests.conftest import BPMN_DIR, FIXTURES

SOURCE = (FIXTURES / "simple_cycle.bpmn").read_text(encoding="utf-8")

#: The user task the second version adds between review and publicity.
ADDED = "second_review"
_TASK = f"""    <bpmn:userTask id="{ADDED}" name="复核">
      <bpmn:incoming>flow_review_second</bpmn:incoming>
      <bpmn:outgoing>flow_second_publicity</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:intermediateCatchEvent id="publicity" name="公示">"""
_DI = f"""      <bpmndi:BPMNShape id="{ADDED}_di" bpmnElement="{ADDED}">
        <dc:Bounds x="570" y="380" width="100" height="80" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="publicity_di" bpmnElement="publicity">"""


def with_added_step() -> str:
    """Version 2: review → 复核 (second_review, department head's lane) → publicity."""
    xml = SOURCE.replace('    <bpmn:intermediateCatchEvent id="publicity" name="公示">', _TASK)
    xml = xml.replace("<bpmn:outgoing>flow_review_publicity</bpmn:outgoing>",
                      "<bpmn:outgoing>flow_review_second</bpmn:outgoing>")
    xml = xml.replace("<bpmn:incoming>flow_review_publicity</bpmn:incoming>",
                      "<bpmn:incoming>flow_second_publicity</bpmn:incoming>")
    xml = xml.replace(
        '<bpmn:sequenceFlow id="flow_review_publicity" sourceRef="review" targetRef="publicity" />',
        f'<bpmn:sequenceFlow id="flow_review_second" sourceRef="review" targetRef="{ADDED}" />\n'
        f'    <bpmn:sequenceFlow id="flow_second_publicity" sourceRef="{ADDED}" '
        'targetRef="publicity" />')
    xml = xml.replace("<bpmn:flowNodeRef>review</bpmn:flowNodeRef>",
                      f"<bpmn:flowNodeRef>review</bpmn:flowNodeRef>\n"
                      f"        <bpmn:flowNodeRef>{ADDED}</bpmn:flowNodeRef>")
    xml = xml.replace('      <bpmndi:BPMNShape id="publicity_di" bpmnElement="publicity">', _DI)
    xml = xml.replace('bpmnElement="flow_review_publicity"', 'bpmnElement="flow_review_second"')
    assert ADDED in xml and '"flow_review_publicity"' not in xml
    return xml


def without_discovery() -> str:
    """A version whose first step has another id: instances that met it cannot move."""
    return SOURCE.replace('"discovery"', '"discovery_v2"').replace(
        ">discovery<", ">discovery_v2<").replace("flow_start_discovery", "flow_start_d2")


def deploy_version(rt: Runtime, xml: str) -> DeployedProcess:
    """Deploy ``xml`` as the next version of the cycle (with the grading table it calls)."""
    dmn = (BPMN_DIR / "post_grading.dmn").read_bytes()
    with rt.uow() as uow:
        deployed = deployment.deploy(uow, [Source("simple_cycle.bpmn", xml.encode()),
                                         Source("post_grading.dmn", dmn)], deployed_by="tests")
    return next(d for d in deployed if d.process_id == "simple_cycle")
