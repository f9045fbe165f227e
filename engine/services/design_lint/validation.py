"""Validating .bpmn/.dmn files before they are deployed: what the designer's editor shows.

Three layers, each catching what the next cannot explain well: XML well-formedness (the
safe parser of ``engine.parsing``), lint rules that name the element at fault in words a
designer understands (a user task without a lane would otherwise only fail when an instance
reaches it; a lane must be one the runtime's resolver knows, ``Runtime.lane_roles``), and the
engine's own parser, exactly as ``deploy`` runs it. Every problem
carries the element id, so the editor can mark it on the diagram.

The files under validation are completed with what is already deployed: a process calls
other processes and decision tables that need not be uploaded again (``complete_sources``).
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from sqlalchemy import select

from ...db import UnitOfWork
from ...errors import DeploymentError, IrpmError
from ...models import ProcessDefinition, SourceFile
from ...parsing import NS, Source, parse_sources, parse_xml
from ...scripting import compile_script

__all__ = ["Problem", "complete_sources", "lint", "validate_sources"]

DMN_NAMESPACES = ("https://www.omg.org/spec/DMN/20191111/MODEL/",
                  "http://www.omg.org/spec/DMN/20180521/MODEL/",
                  "https://www.omg.org/spec/DMN/20230324/MODEL/")
GATEWAYS_WITH_CONDITIONS = ("exclusiveGateway", "inclusiveGateway")
TIMER_KINDS = ("timeDate", "timeDuration", "timeCycle")
#: An ISO 8601 duration or repetition typed without quotes: Python reads it as a name.
ISO_NAME = re.compile(r"^(P(\d|T\d)[0-9YMWDTHS.]*[YMWDHS]|R\d*/\S+)$")


@dataclass(frozen=True)
class Problem:
    """One reason a file cannot be deployed. ``rule`` names the check (xml, parser,
    start_event, end_event, gateway_condition, user_task_lane, lane_role, timer, decision,
    called_process, script, form_schema, due_in)."""

    rule: str
    message: str
    filename: str
    element: str | None = None
    line: int | None = None
    #: Which message (a rule has several) and its values, so the app can say it in the
    #: user's language; ``message`` is the English text for logs and the API.
    code: str = ""
    params: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _bpmn(tag: str) -> str:
    return f"{{{NS['bpmn']}}}{tag}"


def _local(node: etree._Element) -> str:
    return etree.QName(node).localname


def _name(node: etree._Element) -> str:
    return node.get("name") or node.get("id") or _local(node)


class _Linter:
    def __init__(self, filename: str, root: etree._Element,
                 lane_roles: frozenset[str] | None) -> None:
        self.filename, self.root, self.lane_roles = filename, root, lane_roles
        self.problems: list[Problem] = []

    def add(self, rule: str, message: str, node: etree._Element | None, code: str = "",
            **params: str) -> None:
        self.problems.append(Problem(
            rule, message, self.filename,
            node.get("id") if node is not None else None,
            node.sourceline if node is not None else None, code or rule, params))

    def run(self) -> list[Problem]:
        for process in self.root.iterfind("bpmn:process", NS):
            if process.get("isExecutable") != "true":
                continue
            self.events(process)
            self.gateways(process)
            self.lanes(process)
        self.timers()
        self.scripts()
        self.properties()
        return self.problems

    def events(self, process: etree._Element) -> None:
        if process.find("bpmn:startEvent", NS) is None:
            self.add("start_event", f"process '{_name(process)}' has no start event: add one "
                     "where an instance begins", process, process=_name(process))
        if process.find("bpmn:endEvent", NS) is None:
            self.add("end_event", f"process '{_name(process)}' has no end event: add one "
                     "where an instance finishes", process, process=_name(process))

    def gateways(self, process: etree._Element) -> None:
        flows = {f.get("id"): f for f in process.iter(_bpmn("sequenceFlow"))}
        for kind in GATEWAYS_WITH_CONDITIONS:
            for gateway in process.iter(_bpmn(kind)):
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
                        self.add("gateway_condition",
                                 f"flow '{_name(flow)}' leaves gateway '{_name(gateway)}' "
                                 "without a condition: give it a condition or make it the "
                                 "gateway's default flow", flow, flow=_name(flow),
                                 gateway=_name(gateway))

    def lanes(self, process: etree._Element) -> None:
        lane_of: dict[str, etree._Element] = {}
        for lane in process.iter(_bpmn("lane")):
            for ref in lane.iterfind("bpmn:flowNodeRef", NS):
                if ref.text:
                    lane_of[ref.text.strip()] = lane
        used: dict[str, etree._Element] = {}
        for task in process.iter(_bpmn("userTask"), _bpmn("manualTask")):
            lane = self._lane(task, lane_of)
            if lane is None and not _candidates(task):
                self.add("user_task_lane",
                         f"user task '{_name(task)}' is in no lane and names no candidate "
                         "users or groups, so nobody would get it: move it into the lane of "
                         "the role that does it", task, task=_name(task))
            elif lane is not None:
                used[lane.get("id", "")] = lane
        roles = self.lane_roles
        for lane_id, lane in used.items():
            if roles is not None and lane_id not in roles:
                self.add("lane_role",
                         f"lane '{_name(lane)}' has the id '{lane_id}', which is not a role; "
                         f"use one of {', '.join(sorted(roles))} as its id", lane,
                         lane=_name(lane), id=lane_id, roles=", ".join(sorted(roles)))

    @staticmethod
    def _lane(task: etree._Element,
              lane_of: dict[str, etree._Element]) -> etree._Element | None:
        """The task's lane, or that of the sub-process it sits in."""
        node: etree._Element | None = task
        while node is not None and _local(node) != "process":
            found = lane_of.get(node.get("id", ""))
            if found is not None:
                return found
            node = node.getparent()
        return None

    def timers(self) -> None:
        for timer in self.root.iter(_bpmn("timerEventDefinition")):
            event = timer.getparent()
            found = [c for c in timer if _local(c) in TIMER_KINDS]
            if not found:
                self.add("timer", f"timer '{_name(event)}' has no time: set a date, a "
                         "duration or a cycle", event, "timer_missing", event=_name(event))
                continue
            for child in found:
                self._timer(event, _local(child), (child.text or "").strip())

    def _timer(self, event: etree._Element, kind: str, text: str) -> None:
        label = {"timeDate": "date", "timeDuration": "duration", "timeCycle": "cycle"}[kind]
        if not text:
            self.add("timer", f"timer '{_name(event)}' has an empty {label}", event,
                     "timer_empty", event=_name(event), kind=kind)
            return
        try:
            compile_script(text, "eval")
        except (SyntaxError, IrpmError) as exc:
            self.add("timer", f"the {label} of timer '{_name(event)}' is not a valid "
                     f"expression ({_reason(exc)}); write e.g. \"P7D\" in quotes, or a "
                     "variable name", event, "timer_expression", event=_name(event),
                     kind=kind, reason=_reason(exc))
            return
        if ISO_NAME.match(text):
            self.add("timer", f"the {label} of timer '{_name(event)}' is {text} without "
                     f"quotes, which the engine reads as a variable name; write \"{text}\"",
                     event, "timer_unquoted", event=_name(event), kind=kind, value=text)
            return
        try:
            literal = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            return  # an expression over task data: checked when the timer starts
        if not isinstance(literal, str):
            self.add("timer", f"the {label} of timer '{_name(event)}' must be a text such as "
                     "\"P7D\" or \"2011-06-30T00:00:00+08:00\"", event, "timer_not_text",
                     event=_name(event), kind=kind)
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
            self.add("timer", f"the {label} '{literal}' of timer '{_name(event)}' is not "
                     f"ISO 8601 ({_reason(exc)}); e.g. \"{example}\"", event, "timer_not_iso",
                     event=_name(event), kind=kind, value=literal, reason=_reason(exc),
                     example=example)

    def scripts(self) -> None:
        checks: list[tuple[etree._Element, etree._Element, str, str]] = []
        for flow in self.root.iter(_bpmn("sequenceFlow")):
            condition = flow.find("bpmn:conditionExpression", NS)
            if condition is not None and (condition.text or "").strip():
                checks.append((flow, condition, "eval", "condition"))
        for task in self.root.iter(_bpmn("scriptTask")):
            script = task.find("bpmn:script", NS)
            if script is None or not (script.text or "").strip():
                self.add("script", f"script task '{_name(task)}' has no script", task,
                         "script_missing", task=_name(task))
            else:
                checks.append((task, script, "exec", "script"))
        for tag, what in (("preScript", "pre-script"), ("postScript", "post-script")):
            for node in self.root.iter(f"{{{NS['spiffworkflow']}}}{tag}"):
                owner = node.getparent().getparent()
                if (node.text or "").strip():
                    checks.append((owner, node, "exec", what))
        for owner, node, mode, what in checks:
            try:
                compile_script(node.text or "", mode)  # type: ignore[arg-type]
            except (SyntaxError, IrpmError) as exc:
                self.add("script", f"the {what} of '{_name(owner)}' is not valid: "
                         f"{_reason(exc)}", owner, "script_invalid", what=what,
                         owner=_name(owner), reason=_reason(exc))

    def properties(self) -> None:
        for prop in self.root.iter(f"{{{NS['spiffworkflow']}}}property"):
            owner = prop.getparent().getparent().getparent()
            name, value = prop.get("name"), prop.get("value") or ""
            if name == "formSchema":
                self._form_schema(owner, value)
            elif name == "dueIn" and value.strip() and not value.strip().startswith("="):
                try:
                    TimerEventDefinition.parse_iso_duration(value.strip())
                except Exception as exc:  # as in _timer
                    self.add("due_in", f"dueIn '{value}' of '{_name(owner)}' is not an ISO "
                             f"8601 duration ({_reason(exc)}); e.g. P10D", owner,
                             value=value, owner=_name(owner), reason=_reason(exc))

    def _form_schema(self, owner: etree._Element, value: str) -> None:
        try:
            schema = json.loads(value)
        except ValueError as exc:
            self.add("form_schema", f"the form of '{_name(owner)}' (formSchema) is not valid "
                     f"JSON: {exc}", owner, "form_schema_json", owner=_name(owner),
                     reason=str(exc))
            return
        if not isinstance(schema, dict) or schema.get("type") != "object":
            self.add("form_schema", f"the form of '{_name(owner)}' (formSchema) must be a JSON "
                     "schema object: {\"type\": \"object\", \"properties\": {…}}", owner,
                     "form_schema_object", owner=_name(owner))


def _candidates(task: etree._Element) -> bool:
    """Whether the task names its people itself (engine.assignment: candidateUsers /
    candidateGroups properties come before the lane)."""
    return any(p.get("name") in ("candidateUsers", "candidateGroups") and p.get("value")
               for p in task.iterfind(
                   "bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property", NS))


def _reason(exc: BaseException) -> str:
    if isinstance(exc, SyntaxError):
        return f"{exc.msg}, line {exc.lineno}"
    if isinstance(exc, IrpmError):
        return exc.message
    return str(exc) or type(exc).__name__


def lint(source: Source, root: etree._Element,
         lane_roles: frozenset[str] | None = None) -> list[Problem]:
    """The lint rules on one well-formed BPMN file. A user task's lane must be one of
    ``lane_roles`` (the lanes the runtime's resolver understands, ``Runtime.lane_roles``);
    None accepts any lane."""
    if source.kind != "bpmn":
        return []
    return _Linter(source.filename, root, lane_roles).run()


# --------------------------------------------------------------------- references


def _decisions(root: etree._Element) -> set[str]:
    return {d.get("id", "") for d in root.iter() if isinstance(d.tag, str)
            and _local(d) == "decision" and d.get("id")}


def _processes(root: etree._Element) -> set[str]:
    return {p.get("id", "") for p in root.iterfind("bpmn:process", NS)}


def _refs(root: etree._Element) -> Iterable[tuple[str, str, etree._Element]]:
    """(kind, id, element) for every decision and process the file refers to."""
    for task in root.iter(_bpmn("businessRuleTask")):
        ref = task.find("bpmn:extensionElements/spiffworkflow:calledDecisionId", NS)
        yield "decision", (ref.text or "").strip() if ref is not None else "", task
    for call in root.iter(_bpmn("callActivity")):
        yield "process", (call.get("calledElement") or "").strip(), call


def _deployed_decision(uow: UnitOfWork, decision_id: str) -> SourceFile | None:
    rows = uow.session.scalars(
        select(SourceFile).where(SourceFile.kind == "dmn",
                                 SourceFile.content.contains(f'"{decision_id}"'))
        .order_by(SourceFile.created_at.desc()))
    for row in rows:
        if decision_id in _decisions(parse_xml(Source(row.filename, row.content.encode()))):
            return row
    return None


def _latest(uow: UnitOfWork, process_id: str) -> ProcessDefinition | None:
    return uow.session.scalar(
        select(ProcessDefinition).where(ProcessDefinition.process_id == process_id)
        .order_by(ProcessDefinition.version.desc()).limit(1))


def _users_of(uow: UnitOfWork, filename: str) -> list[ProcessDefinition]:
    """The latest version of every process whose latest version includes ``filename``."""
    found = []
    for process_id in uow.session.scalars(
            select(ProcessDefinition.process_id).distinct()):
        latest = _latest(uow, process_id)
        if latest is not None and any(s.filename == filename for s in latest.sources):
            found.append(latest)
    return found


def _deployed_process_file(uow: UnitOfWork, process_id: str) -> SourceFile | None:
    """The BPMN file that defines the latest version of ``process_id``."""
    latest = _latest(uow, process_id)
    for source in latest.sources if latest is not None else []:
        if source.kind == "bpmn" and f'"{process_id}"' in source.content and process_id in \
                _processes(parse_xml(Source(source.filename, source.content.encode()))):
            return source
    return None


class _FileSet:
    """The uploaded files and the deployed ones added to them, with their parsed trees."""

    def __init__(self, sources: Sequence[Source], roots: dict[str, etree._Element]) -> None:
        self.by_name: dict[str, Source] = {s.filename: s for s in sources}
        self.trees = dict(roots)
        self.uploaded = set(roots)

    def add(self, row: SourceFile) -> bool:
        """Add a deployed file unless one of that name is there (uploads win)."""
        if row.filename in self.by_name:
            return False
        source = Source(row.filename, row.content.encode("utf-8"))
        self.by_name[row.filename] = source
        self.trees[row.filename] = parse_xml(source)
        return True

    def provides(self, kind: str, ref: str) -> bool:
        ids = _decisions if kind == "decision" else _processes
        return any(ref in ids(tree) for tree in self.trees.values())


def _resolve(uow: UnitOfWork, files: _FileSet, filename: str) -> list[Problem]:
    """Add the deployed files the file refers to; what is found nowhere is a problem (of an
    uploaded file: a deployed one was valid when it was deployed)."""
    problems = []
    for kind, ref, node in _refs(files.trees[filename]):
        if ref and files.provides(kind, ref):
            continue
        row = None
        if ref:
            row = (_deployed_decision(uow, ref) if kind == "decision"
                   else _deployed_process_file(uow, ref))
        if row is not None:
            files.add(row)
        elif filename in files.uploaded:
            problems.append(_missing(kind, ref, filename, node))
    return problems


def complete_sources(uow: UnitOfWork, sources: Sequence[Source],
                     roots: dict[str, etree._Element]) -> tuple[list[Source], list[Problem]]:
    """The files to parse with ``sources``: deployed files they need (called processes,
    decision tables) and, for an uploaded decision table, the processes that use it (so
    deploying it makes new versions of them). Uploaded files win over deployed ones of the
    same name. Also returns the references found nowhere."""
    files = _FileSet(sources, roots)
    problems: list[Problem] = []
    for source in sources:
        if source.kind == "dmn":
            for definition in _users_of(uow, source.filename):
                for row in definition.sources:
                    files.add(row)
    done: set[str] = set()
    while pending := [f for f in files.trees if f not in done]:
        for filename in pending:
            done.add(filename)
            if files.by_name[filename].kind == "bpmn":
                problems.extend(_resolve(uow, files, filename))
    return list(files.by_name.values()), problems


def _missing(kind: str, ref: str, filename: str, node: etree._Element) -> Problem:
    rule = "decision" if kind == "decision" else "called_process"
    what = "business rule task" if kind == "decision" else "call activity"
    if not ref:
        field_ = "the decision it calls (calledDecisionId)" if kind == "decision" else \
            "the process it calls (calledElement)"
        return Problem(rule, f"{what} '{_name(node)}' does not name {field_}", filename,
                       node.get("id"), node.sourceline, f"{rule}_unnamed",
                       {"task": _name(node)})
    noun = "decision" if kind == "decision" else "process"
    return Problem(rule, f"{what} '{_name(node)}' refers to {noun} '{ref}', which is neither "
                   f"deployed nor in this upload: upload its file with this one, or fix the "
                   f"id", filename, node.get("id"), node.sourceline, f"{rule}_unknown",
                   {"task": _name(node), "ref": ref})


# --------------------------------------------------------------------- the whole check


def _check_file(source: Source, names: list[str]) -> tuple[etree._Element | None,
                                                           Problem | None]:
    """The file's tree if it is well-formed XML of its kind, else why not."""
    if not source.filename.lower().endswith((".bpmn", ".dmn")):
        return None, Problem("xml", "only .bpmn and .dmn files can be deployed",
                             source.filename, code="xml_extension")
    if names.count(source.filename) > 1:
        return None, Problem("xml", "two files share this name", source.filename,
                             code="xml_duplicate")
    try:
        root = parse_xml(source)
    except DeploymentError as exc:
        return None, Problem("xml", _plain(exc), source.filename, None, exc.line,
                             "xml_malformed", {"detail": _plain(exc)})
    except UnicodeDecodeError:
        return None, Problem("xml", "the file is not UTF-8 text", source.filename,
                             code="xml_encoding")
    expected = NS["bpmn"] if source.kind == "bpmn" else DMN_NAMESPACES
    if etree.QName(root).namespace not in expected:
        return None, Problem(
            "xml", f"this is not a {source.kind.upper()} file: its root element is in the "
            f"namespace '{etree.QName(root).namespace}'", source.filename, None,
            root.sourceline, "xml_kind", {"kind": source.kind.upper(),
                                          "namespace": str(etree.QName(root).namespace)})
    return root, None


def validate_sources(uow: UnitOfWork, sources: Sequence[Source]) -> tuple[list[Problem],
                                                                          list[Source]]:
    """Every problem of the files (empty: they can be deployed), and the full set of files
    to deploy (the uploaded ones completed with what they need)."""
    if not sources:
        return [Problem("xml", "nothing to validate: no .bpmn or .dmn file", "",
                        code="xml_nothing")], []
    problems: list[Problem] = []
    roots: dict[str, etree._Element] = {}
    names = [s.filename for s in sources]
    for source in sources:
        root, problem = _check_file(source, names)
        if problem is not None:
            problems.append(problem)
        elif root is not None:
            roots[source.filename] = root
            problems.extend(lint(source, root, uow.runtime.lane_roles))
    if len(roots) < len(sources):
        return problems, []
    full, missing = complete_sources(uow, sources, roots)
    problems.extend(missing)
    if missing:
        return problems, []
    try:
        parse_sources(full)
    except DeploymentError as exc:
        # Lint explains better what the parser trips over at the same element.
        if not any(p.element and p.element == exc.element for p in problems):
            problems.append(Problem("parser", _plain(exc), exc.filename or "",
                                    exc.element, exc.line, "parser",
                                    {"detail": _plain(exc)}))
    return problems, full


def _plain(exc: DeploymentError) -> str:
    return exc.message
