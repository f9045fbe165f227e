"""Test cases written inside a decision table, run at every deployment.

A rule table is only as good as the sentences it implements, and a one-character slip in a
cell ("2" for "1") grades every post wrongly without any error. So a ``<decision>`` carries
its own cases next to its table, in its ``<extensionElements>`` under the IRPM namespace —
the table and its cases travel together through upload, download and the DMN editor (dmn-js
keeps extension elements it does not know, and the DMN 1.3 schema allows any foreign element
there)::

    <definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/"
                 xmlns:irpm="http://irpm/dmn/tests" ...>
      <decision id="risk_grading" name="风险点等级">
        <extensionElements>
          <irpm:testCase id="risk_case_1" name="几率高、可能构成犯罪 → 一级">
            <irpm:source>一级廉政风险是发生几率高的风险,……</irpm:source>
            <irpm:input name="likelihood">"high"</irpm:input>
            <irpm:input name="harm">"crime"</irpm:input>
            <irpm:expect name="risk_level">1</irpm:expect>
          </irpm:testCase>
        </extensionElements>
        <decisionTable ...>

An ``input`` names a variable the table reads (as task data names it); an ``expect`` names
one of the table's outputs. Values are Python literals written as the table's cells are
("high", 1, True, None, [1, 2]) and are read with ``ast.literal_eval``, never evaluated.
``source`` quotes the sentence of the source document the case checks.

Every case runs through SpiffWorkflow's own DMN engine, called by a business-rule task of a
one-task process and with IRPM's sandboxed script engine — exactly as a process runs the
table — and the named outputs are compared. A table with a malformed case, or a case that
fails, is refused with ``DeploymentError`` listing every one of them (``problems``).
"""

from __future__ import annotations

import ast
import threading
from collections.abc import Callable, Iterable, Mapping
from copy import deepcopy
from dataclasses import dataclass, field
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from .calls import IrpmBpmnParser
from .errors import DeploymentError
from .scripting import create_script_engine

__all__ = ["CASES_NS", "CaseOutcome", "DecisionCase", "check_decision_cases", "read_cases",
           "run_cases"]

CASES_NS = "http://irpm/dmn/tests"
_CASE, _SOURCE, _INPUT, _EXPECT = (f"{{{CASES_NS}}}{tag}"
                                   for tag in ("testCase", "source", "input", "expect"))
#: Where a case must sit: directly in the decision's extensionElements.
_CASE_PARENT = "extensionElements"
_RUNNER_ID = "irpm_decision_cases"
_RUNNER_TASK = "decide"
#: A process that only calls the decision under test, as post_cycle.bpmn's grading task does.
_RUNNER_BPMN = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
    id="definitions_{_RUNNER_ID}" targetNamespace="http://irpm/dmn/tests">
  <bpmn:process id="{_RUNNER_ID}" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>to_decide</bpmn:outgoing></bpmn:startEvent>
    <bpmn:businessRuleTask id="{_RUNNER_TASK}" name="decision test case">
      <bpmn:extensionElements>
        <spiffworkflow:calledDecisionId>?</spiffworkflow:calledDecisionId>
      </bpmn:extensionElements>
      <bpmn:incoming>to_decide</bpmn:incoming>
      <bpmn:outgoing>to_end</bpmn:outgoing>
    </bpmn:businessRuleTask>
    <bpmn:endEvent id="end"><bpmn:incoming>to_end</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="to_decide" sourceRef="start" targetRef="{_RUNNER_TASK}" />
    <bpmn:sequenceFlow id="to_end" sourceRef="{_RUNNER_TASK}" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>
""".encode()
_MISSING = object()
#: Content hashes of DMN files whose cases all passed -> how many ran (oldest first).
_PASSED: dict[str, int] = {}
_PASSED_LOCK = threading.Lock()
_PASSED_MAX = 256


@dataclass(frozen=True)
class DecisionCase:
    """One case: the source's sentence, the inputs, the expected outputs (parsed literals;
    ``*_text`` keep them as written, for messages)."""

    case_id: str
    name: str
    source: str
    inputs: dict[str, Any]
    expected: dict[str, Any]
    line: int | None = None
    input_text: dict[str, str] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"'{self.case_id}' ({self.name})" if self.name else f"'{self.case_id}'"


@dataclass(frozen=True)
class CaseOutcome:
    """What running a case gave: the outputs it expects, as the engine produced them
    (missing ones absent), the rules that fired, or the error it raised."""

    case: DecisionCase
    actual: dict[str, Any]
    matched: list[str]
    error: str | None = None

    @property
    def passed(self) -> bool:
        return self.error is None and all(
            name in self.actual and _same(value, self.actual[name])
            for name, value in self.case.expected.items())

    def reason(self) -> str:
        """Why it failed, in one line: expected vs actual, no rule matched, or the error."""
        if self.error is not None:
            return f"the table could not be evaluated: {self.error}"
        expected = ", ".join(f"{k}={v!r}" for k, v in self.case.expected.items())
        if not self.matched:
            return f"expected {expected}, but no rule matched"
        actual = ", ".join(f"{k}={self.actual[k]!r}" if k in self.actual else f"{k} not set"
                           for k in self.case.expected)
        return f"expected {expected}, got {actual} (rule {', '.join(self.matched)})"


def _same(expected: Any, actual: Any) -> bool:
    """Equal, and a boolean only equals a boolean (Python has ``1 == True``)."""
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(expected) is type(actual) and expected == actual
    return bool(expected == actual)


# --------------------------------------------------------------------------- reading


class _Problems:
    """Malformed cases of one decision, collected so all are reported at once."""

    def __init__(self, filename: str, decision: etree._Element) -> None:
        self.filename, self.decision = filename, decision
        self.found: list[dict[str, Any]] = []

    def add(self, node: etree._Element, case_id: str, what: str) -> None:
        message = f"test case '{case_id}' is malformed: {what}" if case_id else \
            f"a test case is malformed: {what}"
        self.found.append(_problem(self.filename, self.decision, node.sourceline,
                                   "decision_case_invalid", message, case=case_id,
                                   reason=what))


def _problem(filename: str, decision: etree._Element, line: int | None, code: str,
             message: str, **params: str) -> dict[str, Any]:
    """A problem as ``engine.services.design_lint.Problem`` takes it (``Problem(**p)``):
    on the decision (the element the editor knows), at the case's line."""
    return {"rule": "decision_case", "message": message, "filename": filename,
            "element": decision.get("id"), "line": line, "code": code,
            "params": {"decision": decision.get("id", ""),
                       "decision_name": decision.get("name", ""), **params}}


def _local(node: etree._Element) -> str:
    return etree.QName(node).localname


def _dmn(node: etree._Element, tag: str) -> str:
    return f"{{{etree.QName(node).namespace}}}{tag}"


def _literal(text: str) -> Any:
    """A value as a DMN cell writes it; ``ast.literal_eval`` only, never ``eval``."""
    return ast.literal_eval(text.strip())


def _names_read(decision: etree._Element) -> set[str]:
    """Variables the table's cells read: what a case may give as input."""
    names: set[str] = set()
    for text_node in decision.iter(_dmn(decision, "text")):
        text = (text_node.text or "").strip().replace("?", " dmninputexpr ")
        for attempt in (text, f"dmninputexpr {text}"):  # "> 5" is a cell too
            try:
                tree = ast.parse(attempt, mode="eval")
            except (SyntaxError, ValueError):
                continue
            names.update(n.id for n in ast.walk(tree) if isinstance(n, ast.Name))
            break
    names.discard("dmninputexpr")
    return names


def _outputs(decision: etree._Element) -> list[str]:
    """Output names, as SpiffWorkflow keys them (the label when there is no name)."""
    return [o.get("name") or o.get("label") or ""
            for o in decision.iter(_dmn(decision, "output"))]


def _values(case: etree._Element, tag: str, case_id: str, problems: _Problems,
            known: Iterable[str], what: str) -> tuple[dict[str, Any], dict[str, str]]:
    """The ``input`` or ``expect`` values of a case, checked against the names ``known``."""
    values: dict[str, Any] = {}
    texts: dict[str, str] = {}
    known = sorted(set(known))
    for node in case.iterfind(tag):
        name, text = (node.get("name") or "").strip(), (node.text or "").strip()
        if not name:
            problems.add(node, case_id, f"an <irpm:{_local(node)}> has no name")
        elif name in values or name in texts:
            problems.add(node, case_id, f"{what} '{name}' is given twice")
        elif name not in known:
            problems.add(node, case_id, f"{what} '{name}' is not one the table "
                         f"{'reads' if what == 'input' else 'has'} "
                         f"(it {'reads' if what == 'input' else 'has'}: {', '.join(known)})")
        else:
            texts[name] = text
            try:
                values[name] = _literal(text)
            except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                problems.add(node, case_id, f"the value of {what} '{name}' is not a literal: "
                             f"{text!r} (write it as a cell: \"high\", 1, True, None)")
    return values, texts


def _read_case(case: etree._Element, seen: set[str], problems: _Problems,
               names: set[str], outputs: list[str]) -> DecisionCase:
    case_id = (case.get("id") or "").strip()
    if not case_id:
        problems.add(case, "", "<irpm:testCase> needs an id")
    elif case_id in seen:
        problems.add(case, case_id, "another test case has the same id")
    seen.add(case_id)
    for child in case:
        if isinstance(child.tag, str) and child.tag not in (_SOURCE, _INPUT, _EXPECT):
            problems.add(child, case_id, f"unknown element <{_local(child)}> (a case holds "
                         "<irpm:source>, <irpm:input> and <irpm:expect>)")
    inputs, texts = _values(case, _INPUT, case_id, problems, names, "input")
    expected, _ = _values(case, _EXPECT, case_id, problems, outputs, "output")
    if case.find(_EXPECT) is None:
        problems.add(case, case_id, "it expects nothing: add an <irpm:expect name=…>")
    return DecisionCase(case_id, (case.get("name") or "").strip(),
                        " ".join((case.findtext(_SOURCE) or "").split()), inputs, expected,
                        case.sourceline, texts)


def read_cases(filename: str, root: etree._Element) -> dict[str, list[DecisionCase]]:
    """The cases of every decision of a DMN file, by decision id.

    Raises ``DeploymentError`` listing every malformed case (a case outside a decision's
    extensionElements would silently never run, so it is malformed too).
    """
    found: dict[str, list[DecisionCase]] = {}
    all_problems: list[dict[str, Any]] = []
    for stray in root.iter(_CASE):
        parent = stray.getparent()
        owner = parent.getparent() if parent is not None else None
        if parent is None or _local(parent) != _CASE_PARENT or owner is None or \
                _local(owner) != "decision":
            all_problems.append(_problem(
                filename, root, stray.sourceline, "decision_case_invalid",
                f"test case '{stray.get('id', '')}' is not inside a <decision>'s "
                "<extensionElements>, so it would never run: move it there",
                case=stray.get("id", ""), reason="misplaced"))
    for decision in root.iter(_dmn(root, "decision")):
        problems = _Problems(filename, decision)
        seen: set[str] = set()
        names, outputs = _names_read(decision), _outputs(decision)
        cases = [_read_case(node, seen, problems, names, outputs)
                 for node in decision.iterfind(f"{_dmn(root, _CASE_PARENT)}/{_CASE}")]
        all_problems.extend(problems.found)
        if cases:
            found[decision.get("id", "")] = cases
    if all_problems:
        decisions = list(root.iter(_dmn(root, "decision")))
        raise _refusal(filename, root, all_problems, "malformed test case(s)",
                       decisions[0] if len(decisions) == 1 else None)
    return found


# --------------------------------------------------------------------------- running


def _runner(filename: str, root: etree._Element, decision_id: str) -> Any:
    """The spec of a one-task process whose business-rule task calls ``decision_id``."""
    parser = IrpmBpmnParser()  # the files were validated against the XSD by the deploy
    parser.add_dmn_xml(root, filename=filename)
    bpmn = etree.fromstring(_RUNNER_BPMN)
    called = bpmn.find(".//{http://spiffworkflow.org/bpmn/schema/1.0/core}calledDecisionId")
    assert called is not None
    called.text = decision_id
    parser.add_bpmn_xml(bpmn, filename="decision-test-cases.bpmn")
    return parser.get_spec(_RUNNER_ID), parser.get_subprocess_specs(_RUNNER_ID)


def _recording(task_spec: Any) -> list[Any]:
    """Make the business-rule task note the rules its DMN engine picks (the engine itself
    says nothing when none matches); returns the list they are noted in."""
    picked: list[Any] = []
    engine = task_spec.dmnEngine
    decide: Callable[[Any], list[Any]] = engine.decide

    def noting(task: Any) -> list[Any]:
        rules = decide(task)
        picked[:] = rules
        return rules

    engine.decide = noting
    return picked


def _lookup(data: Mapping[str, Any], name: str) -> Any:
    """An output in task data; "a.b" outputs are nested dicts, as SpiffWorkflow writes them."""
    value: Any = data
    for part in name.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return _MISSING
        value = value[part]
    return value


def run_cases(filename: str, root: etree._Element, decision_id: str,
              cases: Iterable[DecisionCase]) -> list[CaseOutcome]:
    """Run each case through the table as a business-rule task runs it."""
    spec, subprocess_specs = _runner(filename, root, decision_id)
    picked = _recording(spec.task_specs[_RUNNER_TASK])
    script_engine = create_script_engine()
    outcomes = []
    for case in cases:
        picked.clear()
        workflow = BpmnWorkflow(spec, subprocess_specs, script_engine=script_engine)
        for task in workflow.get_tasks(state=TaskState.READY):
            task.data.update(deepcopy(case.inputs))  # the case stays as it was read
        try:
            workflow.do_engine_steps()
        except Exception as exc:  # a cell raised: the case fails, with the engine's words
            outcomes.append(CaseOutcome(case, {}, [], " ".join(str(exc).split())))
            continue
        actual = {name: value for name in case.expected
                  if (value := _lookup(workflow.data, name)) is not _MISSING}
        outcomes.append(CaseOutcome(case, actual, [rule.id for rule in picked]))
    return outcomes


def _describe(outcome: CaseOutcome) -> str:
    case = outcome.case
    inputs = ", ".join(f"{k}={v}" for k, v in case.input_text.items()) or "none"
    source = f"source “{case.source}”; " if case.source else ""
    return f"case {case.label}: {source}inputs {inputs}; {outcome.reason()}"


def _refusal(filename: str, root: etree._Element, problems: list[dict[str, Any]],
             what: str, decision: etree._Element | None = None) -> DeploymentError:
    where = decision if decision is not None else root
    title = (f"decision '{decision.get('id')}' ({decision.get('name') or 'no name'})"
             if decision is not None else "decision table")
    listed = "\n".join(f"  [{i}] {p['message']}" for i, p in enumerate(problems, 1))
    return DeploymentError(f"{title}: {len(problems)} {what}; it cannot be deployed until "
                           f"they are fixed:\n{listed}\n",
                           filename=filename, line=where.sourceline,
                           element=where.get("id") if decision is not None else None,
                           problems=problems)


def check_decision_cases(filename: str, root: etree._Element, *,
                         content_hash: str | None = None) -> int:
    """Run every case of the DMN file; return how many ran. Raises ``DeploymentError``
    listing each malformed or failing case, naming the decision, the case, its source
    sentence, its inputs and expected against actual outputs.

    A file that passed once (same ``content_hash``) is not run again by this process: the
    shipped tables are redeployed with every ``irpm deploy`` and every test's fixture, and
    their ~30 cases cost ~0.1 s. (A table whose cells read the clock could pass once and
    fail later; it is then caught at its next change, or by a restart.)
    """
    if content_hash is not None and content_hash in _PASSED:
        return _PASSED[content_hash]
    ran = 0
    decisions = {d.get("id", ""): d for d in root.iter(_dmn(root, "decision"))}
    for decision_id, cases in read_cases(filename, root).items():
        decision = decisions[decision_id]
        outcomes = run_cases(filename, root, decision_id, cases)
        ran += len(outcomes)
        failed = [o for o in outcomes if not o.passed]
        if failed:
            problems = [_problem(filename, decision, o.case.line, "decision_case_failed",
                                 _describe(o), case=o.case.case_id, reason=o.reason())
                        for o in failed]
            raise _refusal(filename, root, problems,
                           f"of {len(outcomes)} test case(s) failed", decision)
    if content_hash is not None:
        with _PASSED_LOCK:
            if len(_PASSED) >= _PASSED_MAX:
                _PASSED.pop(next(iter(_PASSED)))
            _PASSED[content_hash] = ran
    return ran
