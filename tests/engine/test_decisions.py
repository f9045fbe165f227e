"""Decision tables evaluated outside a business-rule task (engine.decisions,
engine.services.decisions, and the programme's rules in engine.programme.grading).

The deployed table is the rule: ``evaluate`` runs it with SpiffWorkflow's DMN engine and the
runtime's sandboxed script engine, so it answers as a business-rule task does on every valid
input (checked against the independent oracle of tests/engine/programme/test_rules.py and against a
business-rule task itself); a process version keeps the table it was deployed with; the
latest deployed table answers when no version is given; no rule matched is an error naming
the decision and the inputs; a table is parsed once per version of its file.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from engine.decisions import (
    DecisionFailed,
    DecisionNotDeployed,
    NoRuleMatched,
    parse_decisions,
)
from engine.errors import DeploymentError
from engine.parsing import Source
from engine.programme import grading
from engine.runtime import Runtime
from engine.services import decisions, deployment
from engine.settings import Settings
from tests.conftest import BPMN_DIR, FIXTURES
from tests.dmn_edits import retested, without_cases

from .conftest import ATTRIBUTES, post_attributes
from .programme.test_rules import ALL_CASES, DECISIONS, decide

SIMPLE = (FIXTURES / "simple_cycle.bpmn").read_text(encoding="utf-8")


def table(decision: str) -> str:
    return (BPMN_DIR / f"{decision}.dmn").read_text(encoding="utf-8")


def altered(text: str, rule_output: str, old: str, new: str) -> str:
    """``text`` with the output entry ``rule_output`` changed from ``old`` to ``new``."""
    pattern = f'(<outputEntry id="{rule_output}">\\s*<text>){re.escape(old)}(</text>)'
    changed, n = re.subn(pattern, lambda m: m.group(1) + new + m.group(2), text)
    assert n == 1, rule_output
    return retested("table.dmn", changed)  # the cases follow the rule, as a designer's would


#: post_grading with 行政审批权 (rule_2) at level 2 instead of 1.
APPROVAL_LEVEL_2 = altered(table("post_grading"), "rule_2_out", "1", "2")


def deploy(rt: Runtime, *files: tuple[str, str]) -> deployment.DeployedProcess:
    with rt.uow() as uow:
        [done] = deployment.deploy(uow, [Source(n, t.encode()) for n, t in files],
                                   deployed_by="tests")
    return done


def evaluate(rt: Runtime, decision: str, inputs: dict[str, Any], **kwargs: Any) -> Any:
    with rt.uow(write=False) as uow:
        return decisions.evaluate(uow, decision, inputs, **kwargs)


@pytest.fixture
def bare(settings: Settings, tmp_path: Path) -> Iterator[Runtime]:
    """A runtime whose models directory holds no table."""
    rt = Runtime(Settings(database_url=settings.database_url, bpmn_dir=tmp_path))
    yield rt
    rt.close()


# ------------------------------------------------------------------- the same answers


@pytest.mark.parametrize("decision", DECISIONS)
def test_deployed_tables_answer_as_the_source_prescribes_on_every_input(
        deployed: Runtime, decision: str) -> None:
    """The oracle of test_rules.py (a plain table of the source's levels), through
    ``evaluate`` on the tables deployed with bpmn/ — and the same as a business-rule task."""
    for data, expected in ALL_CASES[decision]:
        answer = evaluate(deployed, decision, data)
        assert answer == expected, data
        assert {k: decide(decision, data)[k] for k in expected} == answer, data


def test_the_programme_rules_are_the_tables(deployed: Runtime) -> None:
    with deployed.uow(write=False) as uow:
        for data, expected in ALL_CASES["post_grading"]:
            assert grading.post_rule_level(uow, data) == expected["post_level"], data
        for data, expected in ALL_CASES["risk_grading"]:
            assert grading.risk_level(uow, data["likelihood"], data["harm"]) == \
                expected["risk_level"], data
        for data, expected in ALL_CASES["responsibility"]:
            assert grading.responsibility(uow, data["level"]) == \
                (expected["responsible_role"], expected["direct_manager_role"])


# ------------------------------------------------------------------------ errors


@pytest.mark.parametrize(("decision", "inputs"), [
    ("risk_grading", {"likelihood": "medium", "harm": "crime"}),
    ("risk_grading", {"likelihood": "high", "harm": "catastrophic"}),
    ("responsibility", {"level": 4}),
    ("responsibility", {"level": "1"}),
    ("post_grading", post_attributes() | {"livelihood": None}),
])
def test_no_rule_matched_is_an_error_naming_the_decision_and_inputs(
        deployed: Runtime, decision: str, inputs: dict[str, Any]) -> None:
    """Where a business-rule task would silently write nothing (test_rules.py)."""
    with pytest.raises(NoRuleMatched) as caught:
        evaluate(deployed, decision, inputs)
    assert f"decision '{decision}'" in caught.value.message
    assert repr(inputs) in caught.value.message
    assert caught.value.details == {"decision": decision, "inputs": inputs}


def test_a_missing_input_fails_naming_the_decision_and_the_cell(deployed: Runtime) -> None:
    with pytest.raises(DecisionFailed, match=r"decision 'post_grading' \(post_grading.dmn\) "
                                             r"failed .*name 'livelihood' is not defined"):
        evaluate(deployed, "post_grading", {a: False for a in ATTRIBUTES if a != "livelihood"})


def test_an_answer_outside_the_register_vocabulary_is_refused(rt: Runtime) -> None:
    fourth = altered(table("post_grading"), "rule_9_out", "3", "4")
    deploy(rt, ("simple_cycle.bpmn", SIMPLE), ("post_grading.dmn", fourth))
    assert evaluate(rt, "post_grading", post_attributes()) == {"post_level": 4}
    with rt.uow(write=False) as uow, pytest.raises(DecisionFailed, match="post_level = 4"):
        grading.post_rule_level(uow, post_attributes())


def test_a_cell_runs_in_the_sandbox(rt: Runtime) -> None:
    # without cases: its cases would refuse it at deploy (test_decision_cases shows that)
    hostile = without_cases(table("post_grading").replace(
        "<text>principal_post</text>", "<text>open('/etc/passwd')</text>", 1))
    deploy(rt, ("simple_cycle.bpmn", SIMPLE), ("post_grading.dmn", hostile))
    with pytest.raises(DecisionFailed, match='"open" is not allowed'):
        evaluate(rt, "post_grading", post_attributes())


def test_tables_are_read_with_the_safe_parser() -> None:
    bomb = ('<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x "boom">]>'
            + table("post_grading").split("?>", 1)[1])
    with pytest.raises(DeploymentError, match="DOCTYPE"):
        parse_decisions(Source("post_grading.dmn", bomb.encode()))


def test_no_table_anywhere_is_not_found(bare: Runtime) -> None:
    with pytest.raises(DecisionNotDeployed, match="no decision table 'post_grading'"):
        evaluate(bare, "post_grading", post_attributes())


def test_an_undeployed_table_comes_from_the_models_directory(rt: Runtime) -> None:
    """Before anything is deployed the register grades by bpmn/'s tables — what
    ``irpm deploy`` would deploy and the designer lists as not yet deployed."""
    assert evaluate(rt, "responsibility", {"level": 3}) == {
        "responsible_role": "department_head", "direct_manager_role": "department_head"}


# ---------------------------------------------------------------- hit policies


def test_hit_policies_are_spiffworkflows(rt: Runtime) -> None:
    """UNIQUE answers with the first matching rule (SpiffWorkflow does not check that only one
    matches); COLLECT with every matching rule's outputs as lists."""
    overlapping = table("post_grading").replace(  # 行政审批权 no longer requires 非正职
        '<inputEntry id="rule_2_in_1">\n          <text>False</text>',
        '<inputEntry id="rule_2_in_1">\n          <text>-</text>')
    assert overlapping != table("post_grading")
    # a COLLECT table answers lists, which the shipped cases (single levels) do not expect
    collect = without_cases(overlapping.replace('hitPolicy="UNIQUE"', 'hitPolicy="COLLECT"'))
    deploy(rt, ("simple_cycle.bpmn", SIMPLE), ("post_grading.dmn", overlapping))
    both = post_attributes(principal_post=True, approval_power=True)
    assert evaluate(rt, "post_grading", both) == {"post_level": 1}
    deploy(rt, ("simple_cycle.bpmn", SIMPLE), ("post_grading.dmn", collect))
    assert evaluate(rt, "post_grading", both) == {"post_level": [1, 1]}


# ------------------------------------------------------------------------ versions


def test_each_version_keeps_its_table_and_the_latest_answers_without_one(rt: Runtime) -> None:
    approval = post_attributes(approval_power=True)
    v1 = deploy(rt, ("simple_cycle.bpmn", SIMPLE), ("post_grading.dmn", table("post_grading")))
    v2 = deploy(rt, ("simple_cycle.bpmn", SIMPLE), ("post_grading.dmn", APPROVAL_LEVEL_2))
    assert (v1.version, v2.version) == (1, 2)
    assert evaluate(rt, "post_grading", approval, definition_id=v1.definition_id) == \
        {"post_level": 1}
    assert evaluate(rt, "post_grading", approval, definition_id=v2.definition_id) == \
        {"post_level": 2}
    assert evaluate(rt, "post_grading", approval) == {"post_level": 2}
    # Deploying the old table again makes it the latest again (what was deployed last).
    v3 = deploy(rt, ("simple_cycle.bpmn", SIMPLE), ("post_grading.dmn", table("post_grading")))
    assert v3.version == 3
    assert evaluate(rt, "post_grading", approval) == {"post_level": 1}
    assert evaluate(rt, "post_grading", approval, definition_id=v2.definition_id) == \
        {"post_level": 2}


def test_a_version_without_the_table_gets_the_latest(rt: Runtime) -> None:
    """A version deployed before its process named a table (e.g. post_cycle before its
    service tasks named risk_grading) is graded by the latest deployed table."""
    v1 = deploy(rt, ("simple_cycle.bpmn", SIMPLE), ("post_grading.dmn", APPROVAL_LEVEL_2))
    assert evaluate(rt, "risk_grading", {"likelihood": "low", "harm": "minor"},
                    definition_id=v1.definition_id) == {"risk_level": 3}  # models directory
    assert evaluate(rt, "post_grading", post_attributes(approval_power=True),
                    definition_id=10_000) == {"post_level": 2}  # no such version: the latest


# --------------------------------------------------------------------------- cost


class Statements:
    def __init__(self, rt: Runtime) -> None:
        self.count = 0
        event.listen(rt.db, "before_cursor_execute", self._seen)
        self.rt = rt

    def _seen(self, *_args: Any) -> None:
        self.count += 1

    def close(self) -> None:
        event.remove(self.rt.db, "before_cursor_execute", self._seen)


def test_a_table_is_parsed_once_and_looked_up_once(rt: Runtime) -> None:
    v1 = deploy(rt, ("simple_cycle.bpmn", SIMPLE), ("post_grading.dmn", table("post_grading")))
    cases = ALL_CASES["post_grading"]
    with rt.uow(write=False) as uow:
        decisions.evaluate(uow, "post_grading", cases[0][0], definition_id=v1.definition_id)
        decisions.evaluate(uow, "post_grading", cases[0][0])
    assert rt.decisions.parses == 1
    statements = Statements(rt)
    try:
        with rt.uow(write=False) as uow:
            for data, expected in cases:  # 256 inputs, a version's table: no query at all
                assert decisions.evaluate(uow, "post_grading", data,
                                          definition_id=v1.definition_id) == expected
        assert statements.count == 0
        with rt.uow(write=False) as uow:
            for data, expected in cases:  # the latest table: one lookup per transaction
                assert decisions.evaluate(uow, "post_grading", data) == expected
        assert statements.count <= 2  # BEGIN (SQLite) and the lookup
    finally:
        statements.close()
    assert rt.decisions.parses == 1
    v2 = deploy(rt, ("simple_cycle.bpmn", SIMPLE), ("post_grading.dmn", APPROVAL_LEVEL_2))
    assert evaluate(rt, "post_grading", post_attributes(approval_power=True)) == \
        {"post_level": 2}  # a new transaction sees the new table
    assert evaluate(rt, "post_grading", post_attributes(approval_power=True),
                    definition_id=v2.definition_id) == {"post_level": 2}
    assert rt.decisions.parses == 2
