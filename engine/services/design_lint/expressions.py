"""Lint rules on what a process computes: timers (a date, a duration or a cycle, as the
engine will read it), scripts and conditions (they must compile in the sandbox), and the
task properties the engine interprets (``formSchema``, ``dueIn``)."""

from __future__ import annotations

import ast
import json
import re

from lxml import etree
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from ...errors import IrpmError
from ...parsing import NS
from ...scripting import compile_script
from .problem import Findings, bpmn, local, name_of, reason

__all__ = ["ISO_NAME", "TIMER_KINDS", "check"]

TIMER_KINDS = ("timeDate", "timeDuration", "timeCycle")
#: An ISO 8601 duration or repetition typed without quotes: Python reads it as a name.
ISO_NAME = re.compile(r"^(P(\d|T\d)[0-9YMWDTHS.]*[YMWDHS]|R\d*/\S+)$")


def check(findings: Findings, root: etree._Element) -> None:
    """The rules on every timer, script, condition and task property of the file."""
    _timers(findings, root)
    _scripts(findings, root)
    _properties(findings, root)


def _timers(findings: Findings, root: etree._Element) -> None:
    for timer in root.iter(bpmn("timerEventDefinition")):
        event = timer.getparent()
        found = [c for c in timer if local(c) in TIMER_KINDS]
        if not found:
            findings.add("timer", f"timer '{name_of(event)}' has no time: set a date, a "
                         "duration or a cycle", event, "timer_missing", event=name_of(event))
            continue
        for child in found:
            _timer(findings, event, local(child), (child.text or "").strip())


def _timer(findings: Findings, event: etree._Element, kind: str, text: str) -> None:
    label = {"timeDate": "date", "timeDuration": "duration", "timeCycle": "cycle"}[kind]
    if not text:
        findings.add("timer", f"timer '{name_of(event)}' has an empty {label}", event,
                     "timer_empty", event=name_of(event), kind=kind)
        return
    try:
        compile_script(text, "eval")
    except (SyntaxError, IrpmError) as exc:
        findings.add("timer", f"the {label} of timer '{name_of(event)}' is not a valid "
                     f"expression ({reason(exc)}); write e.g. \"P7D\" in quotes, or a "
                     "variable name", event, "timer_expression", event=name_of(event),
                     kind=kind, reason=reason(exc))
        return
    if ISO_NAME.match(text):
        findings.add("timer", f"the {label} of timer '{name_of(event)}' is {text} without "
                     f"quotes, which the engine reads as a variable name; write \"{text}\"",
                     event, "timer_unquoted", event=name_of(event), kind=kind, value=text)
        return
    try:
        literal = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return  # an expression over task data: checked when the timer starts
    if not isinstance(literal, str):
        findings.add("timer", f"the {label} of timer '{name_of(event)}' must be a text such as "
                     "\"P7D\" or \"2011-06-30T00:00:00+08:00\"", event, "timer_not_text",
                     event=name_of(event), kind=kind)
        return
    try:
        if kind == "timeDuration":
            TimerEventDefinition.parse_iso_duration(literal)
        elif kind == "timeDate":
            TimerEventDefinition.get_datetime(literal)
        else:
            TimerEventDefinition.parse_iso_recurring_interval(literal)
    except Exception as exc:  # SpiffWorkflow raises bare exceptions for bad ISO text
        example = {"timeDate": "2011-06-30T00:00:00+08:00", "timeDuration": "P7D",
                   "timeCycle": "R3/2011-01-01T00:00:00+08:00/P1M"}[kind]
        findings.add("timer", f"the {label} '{literal}' of timer '{name_of(event)}' is not "
                     f"ISO 8601 ({reason(exc)}); e.g. \"{example}\"", event, "timer_not_iso",
                     event=name_of(event), kind=kind, value=literal, reason=reason(exc),
                     example=example)


def _scripts(findings: Findings, root: etree._Element) -> None:
    checks: list[tuple[etree._Element, etree._Element, str, str]] = []
    for flow in root.iter(bpmn("sequenceFlow")):
        condition = flow.find("bpmn:conditionExpression", NS)
        if condition is not None and (condition.text or "").strip():
            checks.append((flow, condition, "eval", "condition"))
    for task in root.iter(bpmn("scriptTask")):
        script = task.find("bpmn:script", NS)
        if script is None or not (script.text or "").strip():
            findings.add("script", f"script task '{name_of(task)}' has no script", task,
                         "script_missing", task=name_of(task))
        else:
            checks.append((task, script, "exec", "script"))
    for tag, what in (("preScript", "pre-script"), ("postScript", "post-script")):
        for node in root.iter(f"{{{NS['spiffworkflow']}}}{tag}"):
            owner = node.getparent().getparent()
            if (node.text or "").strip():
                checks.append((owner, node, "exec", what))
    for owner, node, mode, what in checks:
        try:
            compile_script(node.text or "", mode)  # type: ignore[arg-type]
        except (SyntaxError, IrpmError) as exc:
            findings.add("script", f"the {what} of '{name_of(owner)}' is not valid: "
                         f"{reason(exc)}", owner, "script_invalid", what=what,
                         owner=name_of(owner), reason=reason(exc))


def _properties(findings: Findings, root: etree._Element) -> None:
    for prop in root.iter(f"{{{NS['spiffworkflow']}}}property"):
        owner = prop.getparent().getparent().getparent()
        name, value = prop.get("name"), prop.get("value") or ""
        if name == "formSchema":
            _form_schema(findings, owner, value)
        elif name == "dueIn" and value.strip() and not value.strip().startswith("="):
            try:
                TimerEventDefinition.parse_iso_duration(value.strip())
            except Exception as exc:  # as in _timer
                findings.add("due_in", f"dueIn '{value}' of '{name_of(owner)}' is not an ISO "
                             f"8601 duration ({reason(exc)}); e.g. P10D", owner,
                             value=value, owner=name_of(owner), reason=reason(exc))


def _form_schema(findings: Findings, owner: etree._Element, value: str) -> None:
    try:
        schema = json.loads(value)
    except ValueError as exc:
        findings.add("form_schema", f"the form of '{name_of(owner)}' (formSchema) is not valid "
                     f"JSON: {exc}", owner, "form_schema_json", owner=name_of(owner),
                     reason=str(exc))
        return
    if not isinstance(schema, dict) or schema.get("type") != "object":
        findings.add("form_schema", f"the form of '{name_of(owner)}' (formSchema) must be a JSON "
                     "schema object: {\"type\": \"object\", \"properties\": {…}}", owner,
                     "form_schema_object", owner=name_of(owner))
