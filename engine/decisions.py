"""Decision tables (.dmn) evaluated outside a business-rule task, exactly as one would.

A service-task operator or a register page sometimes needs a decision's answer without a
business-rule task to run it (the combined grading needs the responsibility table for the
level it has just computed). Copying the rule into Python would let the copy and the table
drift apart — a table edited in the designer would then silently not apply. Here the
deployed table itself is run: parsed by SpiffWorkflow's own DMN parser (behind
``engine.parsing``'s safe XML parser, with the XSD validation deployment uses) and evaluated
by SpiffWorkflow's ``DMNEngine`` with the runtime's sandboxed script engine, the one
business-rule tasks use. So every cell evaluates as at run time and the hit policy is
SpiffWorkflow's: UNIQUE answers with the first matching rule, COLLECT with lists.

One difference on purpose: when no rule matches, SpiffWorkflow's business-rule task writes
nothing and carries on (tests/engine/programme/test_rules.py shows it); ``run`` raises
``NoRuleMatched``
naming the decision and the inputs instead, because a caller asking for a level must not get
``None``.

Which deployed table to run is ``engine.services.decisions``' business; this module holds the
parsing, the evaluation and ``DecisionCache``, the runtime's cache of parsed tables (by
content hash: a table is parsed once per version of its file).
"""

from __future__ import annotations

import ast
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from SpiffWorkflow.dmn.engine.DMNEngine import DMNEngine
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.parser import VALIDATOR

from .calls import IrpmBpmnParser
from .errors import DeploymentError, IrpmError, NotFound
from .parsing import DMN_SCHEMAS, Source, parse_xml

__all__ = ["Decision", "DecisionCache", "DecisionFailed", "DecisionNotDeployed",
           "NoRuleMatched", "decision_ids", "parse_decisions", "run",
           "run_explained"]


class DecisionFailed(IrpmError):
    """A decision table could not answer: a cell failed, or (``NoRuleMatched``) no rule
    matched the inputs."""

    code = "decision_failed"


class NoRuleMatched(DecisionFailed):
    code = "decision_no_rule_matched"


class DecisionNotDeployed(NotFound):
    code = "decision_not_deployed"


class _RecordingEngine(DMNEngine):
    """SpiffWorkflow's engine, noting which rules matched (``result`` alone cannot tell an
    empty answer from no match)."""

    def decide(self, task: Any) -> list[Any]:
        rules: list[Any] = super().decide(task)
        task.matched = rules
        return rules


@dataclass(frozen=True)
class Decision:
    """One parsed decision table of one version of a .dmn file."""

    decision_id: str
    name: str
    filename: str
    content_hash: str
    hit_policy: str
    #: The input expressions (usually variable names) and output names, in column order.
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    engine: DMNEngine = field(repr=False, compare=False)


def decision_ids(source: Source) -> frozenset[str]:
    """The ids of the decisions a .dmn file defines (read with the safe parser only)."""
    root = parse_xml(source)
    return frozenset(d.get("id", "") for d in root
                     if isinstance(d.tag, str) and d.tag.endswith("}decision") and d.get("id"))


def parse_decisions(source: Source) -> dict[str, Decision]:
    """Every decision of ``source`` (a .dmn file), parsed as deployment parses it."""
    root = parse_xml(source)
    parser = IrpmBpmnParser(validator=VALIDATOR, dmn_schemas=DMN_SCHEMAS)
    found: dict[str, Decision] = {}
    try:
        parser.add_dmn_xml(root, filename=source.filename)
        for decision_id, dmn in parser.dmn_parsers.items():
            dmn.parse()
            tables = dmn.decision.decisionTables
            if not tables:
                raise DeploymentError(f"decision '{decision_id}' has no decision table",
                                      filename=source.filename, element=decision_id)
            table = tables[0]  # what a business-rule task runs (BpmnDmnParser.get_engine)
            found[decision_id] = Decision(
                decision_id, dmn.decision.name or decision_id, source.filename,
                source.content_hash, table.hit_policy,
                tuple(i.expression or i.label for i in table.inputs),
                tuple(o.name or o.label for o in table.outputs), _RecordingEngine(table))
    except SpiffWorkflowException as exc:
        raise DeploymentError(str(exc), filename=source.filename) from None
    return found


@lru_cache(maxsize=4096)
def _syntax_error(text: str) -> tuple[Any, ...] | None:
    try:
        ast.parse(text)
    except SyntaxError as exc:
        return exc.args
    return None


class _CellEngine:
    """The runtime's script engine as ``DMNEngine`` uses it, with one saving: SpiffWorkflow
    checks the syntax of a cell (``PythonScriptEngine.validate``: ``ast.parse``) on every
    evaluation, which is most of a table's cost; the outcome of that check depends on the
    text alone, so it is remembered per text. Evaluation itself is the script engine's."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine

    def validate(self, text: str) -> None:
        error = _syntax_error(text)
        if error is not None:
            raise SyntaxError(*error)

    def evaluate(self, task: Any, expression: str,
                 external_context: Mapping[str, Any] | None = None) -> Any:
        return self.engine.evaluate(task, expression, external_context)


class _Spec:
    def __init__(self, decision: Decision) -> None:
        self.name = self.bpmn_id = decision.decision_id
        self.bpmn_name = f"decision {decision.decision_id}"
        self.file = decision.filename


class _Workflow:
    def __init__(self, decision: Decision, script_engine: Any) -> None:
        self.script_engine = _CellEngine(script_engine)
        self.spec = _Spec(decision)
        self.top_workflow = self


class _Evaluation:
    """What ``DMNEngine`` evaluates cells against in place of a workflow task: the inputs as
    task data, the script engine through ``workflow``; enough of a task for SpiffWorkflow's
    error reports to name the decision."""

    def __init__(self, decision: Decision, data: dict[str, Any], script_engine: Any) -> None:
        self.data = data
        self.task_spec = _Spec(decision)
        self.workflow = _Workflow(decision, script_engine)
        self.matched: list[Any] = []


def run(decision: Decision, inputs: Mapping[str, Any], script_engine: Any) -> dict[str, Any]:
    """The decision's answer for ``inputs``: output name → value (lists under COLLECT).

    Raises ``NoRuleMatched`` when no rule matches and ``DecisionFailed`` when a cell fails
    (a missing input, a cell that does not evaluate), both naming the decision and inputs.
    """
    return run_explained(decision, inputs, script_engine)[0]


def run_explained(decision: Decision, inputs: Mapping[str, Any],
                  script_engine: Any) -> tuple[dict[str, Any], tuple[str, ...]]:
    """``run``'s answer and the ``<description>`` of each rule that gave it, in table
    order ('' for a rule without one): a table's rules quote the sentence of the source
    they hold, so a caller refusing something by a rule can name that sentence."""
    evaluation = _Evaluation(decision, dict(inputs), script_engine)
    where = f"decision '{decision.decision_id}' ({decision.filename})"
    try:
        result = decision.engine.result(evaluation)
    except SpiffWorkflowException as exc:
        raise DecisionFailed(f"{where} failed on inputs {dict(inputs)!r}: {exc}",
                             decision=decision.decision_id, inputs=dict(inputs)) from exc
    if not evaluation.matched:
        raise NoRuleMatched(f"no rule of {where} matches the inputs {dict(inputs)!r}",
                            decision=decision.decision_id, inputs=dict(inputs))
    rules = tuple(str(getattr(rule, "description", "") or "").strip()
                  for rule in evaluation.matched)
    return dict(result), rules


class DecisionCache:
    """The runtime's parsed decision tables, by content hash (least recently used dropped
    beyond ``capacity`` files), and which table each process version was deployed with.

    A stored source never changes (it is keyed by its hash) and neither does a deployed
    version's set of sources, so neither entry can go stale; only "the latest table" can
    change, and that is looked up per transaction (``engine.services.decisions``).
    """

    def __init__(self, capacity: int = 64) -> None:
        self.capacity = capacity
        self._tables: OrderedDict[str, dict[str, Decision]] = OrderedDict()
        #: content hash → decision ids (tiny; kept for every file ever looked at).
        self._ids: dict[str, frozenset[str]] = {}
        #: definition id → decision id → content hash.
        self._versions: OrderedDict[int, dict[str, str]] = OrderedDict()
        self._lock = threading.Lock()
        #: How many files were parsed (a test of "once per table version").
        self.parses = 0

    def tables(self, source_hash: str) -> dict[str, Decision] | None:
        with self._lock:
            found = self._tables.get(source_hash)
            if found is not None:
                self._tables.move_to_end(source_hash)
            return found

    def parse(self, source: Source, key: str | None = None) -> dict[str, Decision]:
        """The decisions of ``source``, parsed now unless already cached under ``key`` (the
        stored content hash; by default the source's own)."""
        key = key or source.content_hash
        cached = self.tables(key)
        if cached is not None:
            return cached
        parsed = parse_decisions(source)
        with self._lock:
            self.parses += 1
            self._tables[key] = parsed
            self._ids[key] = frozenset(parsed)
            while len(self._tables) > max(self.capacity, 1):
                self._tables.popitem(last=False)
        return parsed

    def ids(self, source_hash: str) -> frozenset[str] | None:
        with self._lock:
            return self._ids.get(source_hash)

    def note_ids(self, source_hash: str, ids: Iterable[str]) -> None:
        with self._lock:
            self._ids[source_hash] = frozenset(ids)

    def version(self, definition_id: int) -> dict[str, str] | None:
        with self._lock:
            found = self._versions.get(definition_id)
            if found is not None:
                self._versions.move_to_end(definition_id)
            return found

    def note_version(self, definition_id: int, tables: dict[str, str]) -> None:
        with self._lock:
            self._versions[definition_id] = dict(tables)
            while len(self._versions) > max(self.capacity * 16, 1):
                self._versions.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._tables.clear()
            self._ids.clear()
            self._versions.clear()
