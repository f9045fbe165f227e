"""Lint rules on a process's shape: where it starts and ends, elements no flow reaches or
leaves, flows that name no element, the conditions leaving its gateways, and the lanes of
its user tasks — mistakes the engine's parser accepts but an instance would only trip over
when it gets there (a user task nobody receives, a step never reached).

The rules run on every process deploy executes (``engine.parsing.is_executable``: also one
without an ``isExecutable`` attribute), so lint never passes what deploy then runs."""

from __future__ import annotations

from lxml import etree

from ...parsing import NS, is_executable
from .problem import Findings, bpmn, local, name_of

__all__ = ["GATEWAYS_WITH_CONDITIONS", "check"]

GATEWAYS_WITH_CONDITIONS = ("exclusiveGateway", "inclusiveGateway")


def check(findings: Findings, root: etree._Element, lane_roles: frozenset[str] | None) -> None:
    """The rules on every executable process of the file; a user task's lane must be one of
    ``lane_roles`` (None: any lane)."""
    for process in root.iterfind("bpmn:process", NS):
        if not is_executable(process):
            continue
        _events(findings, process)
        _connections(findings, process)
        _gateways(findings, process)
        _lanes(findings, process, lane_roles)


def _events(findings: Findings, process: etree._Element) -> None:
    if process.find("bpmn:startEvent", NS) is None:
        findings.add("start_event", f"process '{name_of(process)}' has no start event: add "
                     "one where an instance begins", process, process=name_of(process))
    if process.find("bpmn:endEvent", NS) is None:
        findings.add("end_event", f"process '{name_of(process)}' has no end event: add one "
                     "where an instance finishes", process, process=name_of(process))


#: Flow nodes that sequence flows connect (BPMN 2.0 §10: activities, gateways, events).
FLOW_NODES = frozenset({
    "task", "userTask", "manualTask", "scriptTask", "serviceTask", "sendTask", "receiveTask",
    "businessRuleTask", "callActivity", "subProcess", "transaction", "adHocSubProcess",
    "exclusiveGateway", "inclusiveGateway", "parallelGateway", "eventBasedGateway",
    "complexGateway", "startEvent", "endEvent", "intermediateCatchEvent",
    "intermediateThrowEvent", "boundaryEvent"})


def _connections(findings: Findings, process: etree._Element) -> None:
    """Every flow names elements that exist, and every flow node is reached and left by a
    flow — except where BPMN needs none: a start event is not reached, an end event not
    left, a boundary event is reached through its activity, an event subprocess and a
    compensation handler are started by their event, a link catch is reached through its
    link throw (which leaves through it), and the steps of an ad-hoc subprocess run in any
    order."""
    nodes = {n.get("id"): n for n in process.iter(*(bpmn(t) for t in FLOW_NODES))}
    reached: set[str] = set()
    left: set[str] = set()
    for flow in process.iter(bpmn("sequenceFlow")):
        for end, seen in (("sourceRef", left), ("targetRef", reached)):
            ref = flow.get(end) or ""
            if ref in nodes:
                seen.add(ref)
            else:
                findings.add("flow_reference",
                             f"flow '{name_of(flow)}' has {end} '{ref}', which is no element "
                             f"of process '{name_of(process)}': connect it to an element or "
                             "delete it", flow, flow=name_of(flow), end=end, ref=ref,
                             process=name_of(process))
    for node_id, node in nodes.items():
        kind, parent = local(node), local(node.getparent())
        if (parent == "adHocSubProcess" or node.get("triggeredByEvent") == "true"
                or node.get("isForCompensation") == "true"):
            continue
        link = node.find("bpmn:linkEventDefinition", NS) is not None
        if (kind not in ("startEvent", "boundaryEvent") and node_id not in reached
                and not (link and kind == "intermediateCatchEvent")):
            findings.add("flow_unreached",
                         f"{kind} '{name_of(node)}' ({node_id}) has no incoming flow, so no "
                         "instance ever gets there: connect a flow to it or delete it", node,
                         kind=kind, element=name_of(node), id=node_id)
        if (kind != "endEvent" and node_id not in left
                and not (link and kind == "intermediateThrowEvent")
                and node.find("bpmn:compensateEventDefinition", NS) is None):
            findings.add("flow_dead_end",
                         f"{kind} '{name_of(node)}' ({node_id}) has no outgoing flow, so an "
                         "instance stops there: connect it onwards (e.g. to an end event)",
                         node, kind=kind, element=name_of(node), id=node_id)


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
                         "users or groups, so only administrators could take it: move it "
                         "into the lane of the role that does it", task, task=name_of(task))
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
