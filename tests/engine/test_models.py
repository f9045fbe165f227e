"""The models in bpmn/ keep the project's conventions, so the engine can run them and bpmn-js
can show them: every element drawn (DI) inside its lane, every lane a role the organisation
resolves, every user task with a form and a due period, every element documented with the
source sentence it implements, Chinese names on what people see."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from lxml import etree

from engine.forms import compile_form
from engine.parsing import NS
from engine.programme.routing import CITY_ROLES, ROLE_LANES, SCOPES
from tests.conftest import BPMN_DIR

BPMN_FILES = sorted(p.name for p in BPMN_DIR.glob("*.bpmn"))
DI_NS = {**NS, "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
         "dc": "http://www.omg.org/spec/DD/20100524/DC",
         "di": "http://www.omg.org/spec/DD/20100524/DI"}
FLOW_NODES = ("startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent",
              "boundaryEvent", "exclusiveGateway", "parallelGateway", "inclusiveGateway",
              "eventBasedGateway", "userTask", "serviceTask", "scriptTask", "businessRuleTask",
              "receiveTask", "sendTask", "manualTask", "task", "callActivity", "subProcess")
CJK = re.compile(r"[\u4e00-\u9fff]")


def tree(filename: str) -> Any:
    return etree.parse(str(BPMN_DIR / filename))


def nodes(root: Any) -> list[Any]:
    return [n for tag in FLOW_NODES for n in root.iterfind(f".//bpmn:{tag}", NS)]


def bounds(root: Any) -> dict[str, tuple[float, float, float, float]]:
    found = {}
    for shape in root.iterfind(".//bpmndi:BPMNShape", DI_NS):
        b = shape.find("dc:Bounds", DI_NS)
        found[shape.get("bpmnElement")] = tuple(float(b.get(k)) for k in
                                                ("x", "y", "width", "height"))
    return found


def inside(point: tuple[float, float], box: tuple[float, float, float, float]) -> bool:
    x, y, w, h = box
    return x - 0.5 <= point[0] <= x + w + 0.5 and y - 0.5 <= point[1] <= y + h + 0.5


def centre(box: tuple[float, float, float, float]) -> tuple[float, float]:
    return box[0] + box[2] / 2, box[1] + box[3] / 2


@pytest.mark.parametrize("filename", BPMN_FILES)
def test_every_element_is_drawn_inside_its_lane(filename: str) -> None:
    root = tree(filename)
    drawn = bounds(root)
    edges = {e.get("bpmnElement"): e for e in root.iterfind(".//bpmndi:BPMNEdge", DI_NS)}
    flows = root.findall(".//bpmn:sequenceFlow", NS)
    assert {f.get("id") for f in flows} <= set(edges)
    for flow in flows:
        assert len(edges[flow.get("id")].findall("di:waypoint", DI_NS)) >= 2
    lanes = {lane.get("id"): [r.text for r in lane.iterfind("bpmn:flowNodeRef", NS)]
             for lane in root.iterfind(".//bpmn:lane", NS)}
    lane_of = {ref: lane for lane, refs in lanes.items() for ref in refs}
    for node in nodes(root):
        node_id = node.get("id")
        assert node_id in drawn, f"{node_id} has no shape"
        if lanes:
            assert node_id in lane_of, f"{node_id} is in no lane"
            assert inside(centre(drawn[node_id]), drawn[lane_of[node_id]]), node_id
        parent = node.getparent()
        if etree.QName(parent).localname == "subProcess":  # drawn inside its subprocess
            assert inside(centre(drawn[node_id]), drawn[parent.get("id")]), node_id
        if etree.QName(node).localname == "boundaryEvent":  # on its activity's border
            x, y, w, h = drawn[node.get("attachedToRef")]
            cx, cy = centre(drawn[node_id])
            assert inside((cx, cy), (x, y, w, h))
            assert min(abs(cx - x), abs(cx - x - w), abs(cy - y), abs(cy - y - h)) <= 1, node_id


@pytest.mark.parametrize("filename", BPMN_FILES)
def test_lanes_are_roles_the_organisation_resolves(filename: str) -> None:
    roles = set(SCOPES) | set(ROLE_LANES) | set(CITY_ROLES)
    for lane in tree(filename).iterfind(".//bpmn:lane", NS):
        assert lane.get("id") in roles, lane.get("id")
        assert CJK.search(lane.get("name") or ""), lane.get("id")


@pytest.mark.parametrize("filename", BPMN_FILES)
def test_user_tasks_have_a_form_and_a_due_period(filename: str) -> None:
    for task in tree(filename).iterfind(".//bpmn:userTask", NS):
        props = {p.get("name"): p.get("value") for p in task.iterfind(
            "bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property", NS)}
        assert props.get("dueIn"), task.get("id")
        schema = json.loads(props["formSchema"])
        assert schema["type"] == "object" and schema.get("title"), task.get("id")
        assert compile_form(props["formSchema"]) is not None


@pytest.mark.parametrize("filename", BPMN_FILES)
def test_elements_are_documented_and_named_in_chinese(filename: str) -> None:
    root = tree(filename)
    for process in root.iterfind("bpmn:process", NS):
        assert CJK.search(process.findtext("bpmn:documentation", "", NS)), process.get("id")
    for node in nodes(root):
        doc = node.findtext("bpmn:documentation", "", NS)
        assert CJK.search(doc), f"{node.get('id')} quotes no source sentence"
        name = node.get("name") or ""
        kind = etree.QName(node).localname
        if kind.endswith(("Task", "Activity", "subProcess")) or kind == "task":
            assert CJK.search(name), f"{node.get('id')} needs a Chinese name"
        assert re.fullmatch(r"[a-z][a-z0-9_]*", node.get("id")), node.get("id")
