"""Lint rule on separation of duties (回避): a user task's ``excludes`` property
(``engine.separation``) must say something the engine can apply.

A malformed entry would otherwise only fail when an instance reaches the task (the task
cannot be assigned: the instance stops in error); a lane the runtime does not know, or a
``performer:`` of a step that is not a user task of the process, would silently exclude
nobody — the worst failure for an integrity rule.
"""

from __future__ import annotations

from lxml import etree

from ...errors import IrpmError
from ...parsing import NS
from ...scripting import compile_script
from ...separation import EXCLUDES, parse_property
from .problem import Findings, bpmn, name_of, reason

__all__ = ["check"]

_PROPERTY = "bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property"


def check(findings: Findings, root: etree._Element, lane_roles: frozenset[str] | None) -> None:
    """Every ``excludes`` of every executable process's user and manual tasks: entries as
    ``engine.separation`` reads them, a ``lane:`` one of ``lane_roles`` (None: any), a
    ``performer:`` a user or manual task of the same process, an ``=expression`` that
    compiles."""
    for process in root.iterfind("bpmn:process", NS):
        steps = {t.get("id") for t in process.iter(bpmn("userTask"), bpmn("manualTask"))}
        for task in process.iter(bpmn("userTask"), bpmn("manualTask")):
            for prop in task.iterfind(_PROPERTY, NS):
                if prop.get("name") == EXCLUDES:
                    _excludes(findings, task, prop.get("value") or "", steps, lane_roles)


def _excludes(findings: Findings, task: etree._Element, value: str, steps: set[str | None],
              lane_roles: frozenset[str] | None) -> None:
    owner = name_of(task)
    if not value.strip():
        findings.add("excludes", f"excludes of '{owner}' is empty: name who may not do the "
                     "task (e.g. lane:post_holder), or remove the property", task,
                     "excludes_empty", owner=owner)
        return
    try:
        parsed = parse_property(value)
    except ValueError as exc:
        findings.add("excludes", f"excludes '{value}' of '{owner}' is not valid: {exc}", task,
                     "excludes_invalid", value=value, owner=owner, reason=str(exc))
        return
    if isinstance(parsed, str):
        try:
            compile_script(parsed, "eval")
        except (SyntaxError, IrpmError) as exc:
            findings.add("excludes", f"the expression of excludes of '{owner}' is not valid: "
                         f"{reason(exc)}", task, "excludes_expression", owner=owner,
                         reason=reason(exc))
        return
    for rule in parsed:
        if rule.kind == "lane" and lane_roles is not None and rule.value not in lane_roles:
            roles = ", ".join(sorted(lane_roles))
            findings.add("excludes", f"excludes of '{owner}' names the lane '{rule.value}', "
                         f"which is not a role; use one of {roles}", task, "excludes_lane",
                         owner=owner, lane=rule.value, roles=roles)
        elif rule.kind == "performer" and rule.value not in steps:
            findings.add("excludes", f"excludes of '{owner}' names the performer of "
                         f"'{rule.value}', which is not a user task of this process", task,
                         "excludes_performer", owner=owner, element=rule.value)
