"""Lint rule on task context (``engine.task_context``): each field a user task shows beside
its form must be well formed, and its source must start from a variable the process knows.

A source naming a variable nothing in the process sets or reads (a typo: ``sugestion.text``)
would only show 尚未记录 on every task page — the person deciding would miss what the field
was for, and nobody would be told. The process *knows* a variable when any of its scripts,
conditions, operator parameters, forms, message or result variables, multi-instance items,
data objects, properties or data inputs names it: start data is read somewhere, so it counts.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator

from lxml import etree

from ...errors import DeploymentError
from ...forms import normalise
from ...parsing import NS
from ...task_context import NAMESPACE, read_fields
from .problem import Findings, bpmn, name_of

__all__ = ["check", "known_names"]

SPIFF = NS["spiffworkflow"]
#: Elements whose text is Python (scripts, conditions) or a variable's name.
_CODE = (bpmn("script"), bpmn("conditionExpression"), f"{{{SPIFF}}}preScript",
         f"{{{SPIFF}}}postScript", bpmn("timeDate"), bpmn("timeDuration"), bpmn("timeCycle"))
_NAMES = (f"{{{SPIFF}}}messageVariable", bpmn("loopDataInputRef"), bpmn("loopDataOutputRef"))
#: Elements whose ``name`` (and ``id``) attribute is a variable.
_DATA = (bpmn("property"), bpmn("dataObject"), bpmn("dataInput"), bpmn("dataOutput"),
         bpmn("inputDataItem"), bpmn("outputDataItem"))


def check(findings: Findings, root: etree._Element) -> None:
    """Every context field of every process's user and manual tasks."""
    for process in root.iterfind("bpmn:process", NS):
        tasks = [t for t in process.iter(bpmn("userTask"), bpmn("manualTask"))
                 if t.find(f"bpmn:extensionElements/{{{NAMESPACE}}}context", NS) is not None]
        if not tasks:
            continue
        known = known_names(process)
        for task in tasks:
            try:
                fields = read_fields(task, findings.filename)
            except DeploymentError as exc:
                findings.add("task_context", exc.message, task, "task_context_invalid",
                             owner=name_of(task), reason=exc.message)
                continue
            for item in fields:
                if item.root not in known:
                    findings.add(
                        "task_context", f"the task context of '{name_of(task)}' shows "
                        f"'{item.source}', but the process never sets or reads a variable "
                        f"'{item.root}': correct the source, or set the variable before the "
                        "task", task, "task_context_source", owner=name_of(task),
                        source=item.source, variable=item.root)


def known_names(process: etree._Element) -> set[str]:
    """The variables ``process`` sets or reads anywhere (see the module's docstring)."""
    known: set[str] = set()
    for node in process.iter(*_CODE):
        known |= _python_names(node.text or "")
    for node in process.iter(*_NAMES):
        known.add((node.text or "").strip())
    for node in process.iter(*_DATA):
        known |= {node.get("name") or "", node.get("id") or ""}
    for node in process.iter(f"{{{SPIFF}}}serviceTaskOperator"):
        known.add(node.get("resultVariable") or "")
    for node in process.iter(f"{{{SPIFF}}}parameter"):
        known |= _python_names(node.get("value") or "")
    for node in process.iter(f"{{{SPIFF}}}property"):
        if node.get("name") == "formSchema":
            known |= set(_form_fields(node.get("value") or ""))
    known.discard("")
    return known


def _python_names(text: str) -> set[str]:
    """Every name a Python text uses or assigns (none if it does not parse: other rules
    report that)."""
    try:
        tree = ast.parse(text.strip() or "None")
    except SyntaxError:
        return set()
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}


def _form_fields(raw: str) -> Iterator[str]:
    """The top-level fields of a ``formSchema`` (those an ``if``/``then`` adds included)."""
    try:
        schema = json.loads(raw)
    except ValueError:
        return
    if isinstance(schema, dict):
        yield from (normalise(schema).get("properties") or {})
