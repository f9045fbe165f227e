"""Lint rules on a process's shape: where it starts and ends, the conditions leaving its
gateways, and the lanes of its user tasks — mistakes the engine's parser accepts but an
instance would only trip over when it gets there (a user task nobody receives)."""

from __future__ import annotations

from lxml import etree

from ...parsing import NS
from .problem import Findings, bpmn, local, name_of

__all__ = ["GATEWAYS_WITH_CONDITIONS", "check"]

GATEWAYS_WITH_CONDITIONS = ("exclusiveGateway", "inclusiveGateway")


def check(findings: Findings, root: etree._Element, lane_roles: frozenset[str] | None) -> None:
    """The rules on every executable process of the file; a user task's lane must be one of
    ``lane_roles`` (None: any lane)."""
    for process in root.iterfind("bpmn:process", NS):
        if process.get("isExecutable") != "true":
            continue
        _events(findings, process)
        _gateways(findings, process)
        _lanes(findings, process, lane_roles)


def _events(findings: Findings, process: etree._Element) -> None:
    if process.find("bpmn:startEvent", NS) is None:
        findings.add("start_event", f"process '{name_of(process)}' has no start event: add "
                     "one where an instance begins", process, process=name_of(process))
    if process.find("bpmn:endEvent", NS) is None:
        findings.add("end_event", f"process '{name_of(process)}' has no end event: add one "
                     "where an instance finishes", process, process=name_of(process))


def _gateways(findings: Findings, process: etree._Element) -> None:
    flows = {f.get("id"): f for f in process.iter(bpmn("sequenceFlow"))}
    for kind in GATEWAYS_WITH_CONDITIONS:
        for gateway in process.iter(bpmn(kind)):
            outgoing = [flows[f] for f in flows
                        if flows[f].get("sourceRef") == gateway.get("id")]
            if len(outgoing) < 2:
                continue
            default = gateway.get("default")
            for flow in outgoing:
                condition = flow.find("bpmn:conditionExpression", NS)
                if flow.get("id") == default:
                    continue
                if condition is None or not (condition.text or "").strip():
                    findings.add("gateway_condition",
                                 f"flow '{name_of(flow)}' leaves gateway '{name_of(gateway)}' "
                                 "without a condition: give it a condition or make it the "
                                 "gateway's default flow", flow, flow=name_of(flow),
                                 gateway=name_of(gateway))


def _lanes(findings: Findings, process: etree._Element,
           lane_roles: frozenset[str] | None) -> None:
    lane_of: dict[str, etree._Element] = {}
    for lane in process.iter(bpmn("lane")):
        for ref in lane.iterfind("bpmn:flowNodeRef", NS):
            if ref.text:
                lane_of[ref.text.strip()] = lane
    used: dict[str, etree._Element] = {}
    for task in process.iter(bpmn("userTask"), bpmn("manualTask")):
        lane = _lane(task, lane_of)
        if lane is None and not _candidates(task):
            findings.add("user_task_lane",
                         f"user task '{name_of(task)}' is in no lane and names no candidate "
                         "users or groups, so nobody would get it: move it into the lane of "
                         "the role that does it", task, task=name_of(task))
        elif lane is not None:
            used[lane.get("id", "")] = lane
    if lane_roles is None:
        return
    roles = ", ".join(sorted(lane_roles))
    for lane_id, lane in used.items():
        if lane_id not in lane_roles:
            findings.add("lane_role",
                         f"lane '{name_of(lane)}' has the id '{lane_id}', which is not a role; "
                         f"use one of {roles} as its id", lane,
                         lane=name_of(lane), id=lane_id, roles=roles)


def _lane(task: etree._Element, lane_of: dict[str, etree._Element]) -> etree._Element | None:
    """The task's lane, or that of the sub-process it sits in."""
    node: etree._Element | None = task
    while node is not None and local(node) != "process":
        found = lane_of.get(node.get("id", ""))
        if found is not None:
            return found
        node = node.getparent()
    return None


def _candidates(task: etree._Element) -> bool:
    """Whether the task names its people itself (engine.assignment: candidateUsers /
    candidateGroups properties come before the lane)."""
    return any(p.get("name") in ("candidateUsers", "candidateGroups") and p.get("value")
               for p in task.iterfind(
                   "bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property", NS))
