"""The rule tables in bpmn/*.dmn, run the way the engine runs them.

Each decision is called from a one-task BPMN process (a business-rule task with
``spiffworkflow:calledDecisionId``), parsed with XSD validation and run by ``BpmnWorkflow``
with IRPM's sandboxed script engine; the outputs are read from the finished workflow's data.
Every case cites the sentence of ../shared/reference/000_3a9f7385a5d2023f.txt it checks.

What SpiffWorkflow 3.2 does when no rule matches (asserted below): nothing. The business-rule
task completes, no output variable is written, and a value already in task data under that
name survives. Only a *missing* input variable fails, with a WorkflowTaskException that names
the cell expression, the row and the business-rule task (not the decision id). So every rule
here accepts only the documented values, and a caller must treat a missing output as an
error.
"""

from __future__ import annotations

import itertools
from functools import cache
from typing import Any

import pytest
from lxml import etree
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.spiff.parser import VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.util.task import TaskState

from engine.scripting import create_script_engine
from engine.settings import PROJECT_ROOT
from tests.conftest import BPMN_DIR

from .conftest import ATTRIBUTES, post_attributes

SOURCE = PROJECT_ROOT.parent / "shared" / "reference" / "000_3a9f7385a5d2023f.txt"
DMN_NS = {"dmn": "https://www.omg.org/spec/DMN/20191111/MODEL/"}
DECISIONS = ("post_grading", "risk_grading", "responsibility")

LEVEL_1_POST_ATTRIBUTES = ("principal_post", "approval_power", "enforcement_power",
                           "key_resources", "livelihood")
LEVEL_2_POST_ATTRIBUTES = ("general_economic", "social_affairs", "public_service")
LIKELIHOODS = ("high", "fairly_high", "low")
HARMS = ("crime", "disciplinary", "minor")

#: A process that only calls ``{decision}``; SpiffWorkflow names the task, not the decision,
#: in its errors, so the task's name carries the decision id.
RUNNER_BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
    id="definitions_run_{decision}" targetNamespace="http://irpm/tests">
  <bpmn:process id="run_{decision}" isExecutable="true">
    <bpmn:startEvent id="start">
      <bpmn:outgoing>flow_start_decide</bpmn:outgoing>
    </bpmn:startEvent>
    <bpmn:businessRuleTask id="decide" name="决策 {decision}">
      <bpmn:extensionElements>
        <spiffworkflow:calledDecisionId>{decision}</spiffworkflow:calledDecisionId>
      </bpmn:extensionElements>
      <bpmn:incoming>flow_start_decide</bpmn:incoming>
      <bpmn:outgoing>flow_decide_end</bpmn:outgoing>
    </bpmn:businessRuleTask>
    <bpmn:endEvent id="end">
      <bpmn:incoming>flow_decide_end</bpmn:incoming>
    </bpmn:endEvent>
    <bpmn:sequenceFlow id="flow_start_decide" sourceRef="start" targetRef="decide" />
    <bpmn:sequenceFlow id="flow_decide_end" sourceRef="decide" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>
"""

Bundle = tuple[BpmnProcessSpec, dict[str, BpmnProcessSpec]]


def _dmn_text(decision: str) -> str:
    return (BPMN_DIR / f"{decision}.dmn").read_text(encoding="utf-8")


@cache
def _bundle(decision: str, hit_policy: str = "UNIQUE") -> Bundle:
    """Spec of the runner process for ``decision``; ``hit_policy`` swaps the table's policy
    (COLLECT lists every matching rule, which is how overlaps are found)."""
    dmn = _dmn_text(decision)
    if hit_policy != "UNIQUE":
        dmn = dmn.replace('hitPolicy="UNIQUE"', f'hitPolicy="{hit_policy}"')
    parser = SpiffBpmnParser(validator=VALIDATOR)
    parser.add_dmn_str(dmn.encode(), filename=f"{decision}.dmn")
    parser.add_bpmn_str(RUNNER_BPMN.format(decision=decision).encode(),
                        filename=f"run_{decision}.bpmn")
    process_id = f"run_{decision}"
    return parser.get_spec(process_id), parser.get_subprocess_specs(process_id)


def decide(decision: str, data: dict[str, Any], hit_policy: str = "UNIQUE") -> dict[str, Any]:
    """Run ``decision`` on ``data`` as start data; return the finished workflow's data."""
    spec, subprocess_specs = _bundle(decision, hit_policy)
    workflow = BpmnWorkflow(spec, subprocess_specs, script_engine=create_script_engine())
    for task in workflow.get_tasks(state=TaskState.READY):
        task.data.update(data)
    workflow.do_engine_steps()
    assert workflow.is_completed()
    return dict(workflow.data)


def post_level(**true: bool) -> Any:
    return decide("post_grading", post_attributes(**true)).get("post_level")


def risk_level(likelihood: Any, harm: Any) -> Any:
    return decide("risk_grading", {"likelihood": likelihood, "harm": harm}).get("risk_level")


# ----------------------------------------------------------------- post grading (岗位)

L1_POSTS = ("单位领导班子正职岗位,与经济发展和人民群众生产生活密切相关的岗位,"
            "具有行政审批权和执法权的岗位,从事人事、财务、物资、采购、基建等管理的岗位,"
            "应确定为一级廉政风险")
L2_POSTS = "具有一般经济管理、社会事务管理、公共服务等职能的岗位,应确定为二级廉政风险"


@pytest.mark.parametrize(("attributes", "expected"), [
    # L1_POSTS, one attribute at a time
    pytest.param({"principal_post"}, 1, id="单位领导班子正职岗位 → 一级"),
    pytest.param({"approval_power"}, 1, id="具有行政审批权…的岗位 → 一级"),
    pytest.param({"enforcement_power"}, 1, id="具有…执法权的岗位 → 一级"),
    pytest.param({"approval_power", "enforcement_power"}, 1,
                 id="具有行政审批权和执法权的岗位 → 一级"),
    pytest.param({"key_resources"}, 1,
                 id="从事人事、财务、物资、采购、基建等管理的岗位 → 一级"),
    pytest.param({"livelihood"}, 1, id="与经济发展和人民群众生产生活密切相关的岗位 → 一级"),
    # L2_POSTS
    pytest.param({"general_economic"}, 2, id="具有一般经济管理…职能的岗位 → 二级"),
    pytest.param({"social_affairs"}, 2, id="具有…社会事务管理…职能的岗位 → 二级"),
    pytest.param({"public_service"}, 2, id="具有…公共服务等职能的岗位 → 二级"),
    pytest.param({"general_economic", "social_affairs", "public_service"}, 2,
                 id="具有一般经济管理、社会事务管理、公共服务等职能的岗位 → 二级"),
    pytest.param({"general_economic", "public_service"}, 2,
                 id="一般经济管理 + 公共服务 → 二级"),
    pytest.param({"social_affairs", "public_service"}, 2, id="社会事务管理 + 公共服务 → 二级"),
    # neither list: 三级廉政风险是发生几率较小的风险…(产品约定: 不属于一级、二级岗位的定为三级)
    pytest.param(set(), 3, id="无一级、二级岗位属性 → 三级"),
    # a level-1 attribute beats level-2 ones: the post is on L1_POSTS' list
    pytest.param({"principal_post", "general_economic"}, 1,
                 id="单位领导班子正职岗位 + 一般经济管理 → 一级"),
    pytest.param({"approval_power", "social_affairs"}, 1,
                 id="具有行政审批权 + 社会事务管理 → 一级"),
    pytest.param({"enforcement_power", "public_service"}, 1, id="具有执法权 + 公共服务 → 一级"),
    pytest.param({"key_resources", *LEVEL_2_POST_ATTRIBUTES}, 1,
                 id="从事人事、财务…管理 + 全部二级职能 → 一级"),
    pytest.param({"livelihood", "general_economic"}, 1,
                 id="与经济发展和人民群众生产生活密切相关 + 一般经济管理 → 一级"),
    pytest.param({"livelihood", "social_affairs", "public_service"}, 1,
                 id="与经济发展和人民群众生产生活密切相关 + 社会事务管理 + 公共服务 → 一级"),
    # several level-1 attributes: still 一级, whichever rule comes first
    pytest.param({"principal_post", "livelihood"}, 1,
                 id="单位领导班子正职岗位 + 与经济发展…密切相关 → 一级"),
    pytest.param({"key_resources", "livelihood"}, 1,
                 id="从事人事、财务…管理 + 与经济发展…密切相关 → 一级"),
    pytest.param(set(LEVEL_1_POST_ATTRIBUTES), 1, id="全部一级属性 → 一级"),
    pytest.param(set(ATTRIBUTES), 1, id="全部八项属性 → 一级"),
])
def test_post_grading(attributes: set[str], expected: int) -> None:
    assert post_level(**dict.fromkeys(attributes, True)) == expected


def test_post_grading_without_a_boolean_matches_no_rule() -> None:
    """Cells compare with ``== True`` / ``== False``: ``None`` (an unanswered attribute)
    matches neither, so no rule fires and ``post_level`` is simply not written."""
    data = post_attributes() | {"principal_post": None}
    assert "post_level" not in decide("post_grading", data)


# ----------------------------------------------------------------- risk grading (风险点)

L1_RISK = ("一级廉政风险是发生几率高的风险,或者一旦发生可能造成严重损害后果的风险,"
           "如有可能触犯国家法律,构成犯罪的风险等")
L2_RISK = ("二级廉政风险是发生几率较高的风险,或者一旦发生可能造成较为严重损害后果的风险,"
           "如有可能违反《中国共产党纪律处分条例》、《行政机关公务员处分条例》等相关法规,"
           "受到纪律处分的风险等")
L3_RISK = "三级廉政风险是发生几率较小的风险,或者一旦发生可能造成不良社会影响或一定经济损失的风险"


@pytest.mark.parametrize(("likelihood", "harm", "expected"), [
    # L1_RISK: 发生几率高 … 或者 … 构成犯罪
    pytest.param("high", "crime", 1, id="发生几率高 + 构成犯罪 → 一级"),
    pytest.param("high", "disciplinary", 1, id="发生几率高的风险 → 一级(高于纪律处分的二级)"),
    pytest.param("high", "minor", 1, id="发生几率高的风险 → 一级(高于不良影响的三级)"),
    pytest.param("fairly_high", "crime", 1,
                 id="有可能触犯国家法律,构成犯罪的风险 → 一级(高于几率较高的二级)"),
    pytest.param("low", "crime", 1,
                 id="有可能触犯国家法律,构成犯罪的风险 → 一级(高于几率较小的三级)"),
    # L2_RISK: 发生几率较高 … 或者 … 受到纪律处分
    pytest.param("fairly_high", "disciplinary", 2, id="发生几率较高 + 受到纪律处分 → 二级"),
    pytest.param("fairly_high", "minor", 2, id="发生几率较高的风险 → 二级(高于不良影响的三级)"),
    pytest.param("low", "disciplinary", 2,
                 id="受到纪律处分的风险 → 二级(高于几率较小的三级)"),
    # L3_RISK: 发生几率较小 … 不良社会影响或一定经济损失
    pytest.param("low", "minor", 3, id="发生几率较小 + 不良社会影响或一定经济损失 → 三级"),
])
def test_risk_grading(likelihood: str, harm: str, expected: int) -> None:
    assert risk_level(likelihood, harm) == expected


@pytest.mark.parametrize(("likelihood", "harm"), [
    pytest.param("medium", "crime", id="unknown likelihood"),
    pytest.param("HIGH", "minor", id="likelihood is case-sensitive"),
    pytest.param(None, "disciplinary", id="likelihood None"),
    pytest.param("high", "catastrophic", id="unknown harm, even with high likelihood"),
    pytest.param("low", "", id="empty harm"),
])
def test_risk_grading_unknown_value_matches_no_rule_and_writes_nothing(
        likelihood: Any, harm: Any) -> None:
    """SpiffWorkflow's behaviour, measured: no exception, the task completes, ``risk_level``
    is absent. The engine (or the next step) has to turn that into an error."""
    data = decide("risk_grading", {"likelihood": likelihood, "harm": harm})
    assert data == {"likelihood": likelihood, "harm": harm}


def test_no_match_leaves_a_stale_output_in_place() -> None:
    """A no-match merges nothing, so a ``risk_level`` already in task data (an earlier pass
    of a loop, or start data) survives unchanged: it must be cleared before re-grading."""
    data = decide("risk_grading", {"likelihood": "medium", "harm": "minor", "risk_level": 1})
    assert data["risk_level"] == 1


def test_missing_input_fails_naming_the_cell_the_row_and_the_task() -> None:
    with pytest.raises(WorkflowTaskException) as caught:
        decide("risk_grading", {"harm": "minor"})
    message = str(caught.value)
    assert "Error evaluating expression '(likelihood) == (\"high\")'" in message
    assert "NameError: name 'likelihood' is not defined" in message
    assert "Rule failed on row 1" in message
    assert "Business Rule Task '决策 risk_grading'" in message


# ----------------------------------------------------------------- responsibility (分级负责)

@pytest.mark.parametrize(("level", "responsible", "direct_manager"), [
    pytest.param(1, "principal", "deputy_in_charge",
                 id="一级: 在单位分管领导直接管理的基础上,由单位主要领导负责"),
    pytest.param(2, "deputy_in_charge", "department_head",
                 id="二级: 在内设机构领导直接管理的基础上,由单位分管领导负责"),
    pytest.param(3, "department_head", "department_head",
                 id="三级: 由内设机构领导直接管理和负责"),
])
def test_responsibility(level: int, responsible: str, direct_manager: str) -> None:
    data = decide("responsibility", {"level": level})
    assert (data["responsible_role"], data["direct_manager_role"]) == (responsible, direct_manager)


@pytest.mark.parametrize("level", [0, 4, "1", None])
def test_responsibility_unknown_level_writes_nothing(level: Any) -> None:
    data = decide("responsibility", {"level": level})
    assert data == {"level": level}


# ----------------------------------------------------------------- the tables as a whole

def _post_case(values: tuple[bool, ...]) -> tuple[dict[str, Any], dict[str, Any]]:
    data = dict(zip(ATTRIBUTES, values, strict=True))
    if any(data[a] for a in LEVEL_1_POST_ATTRIBUTES):
        return data, {"post_level": 1}
    if any(data[a] for a in LEVEL_2_POST_ATTRIBUTES):
        return data, {"post_level": 2}
    return data, {"post_level": 3}


def _risk_case(likelihood: str, harm: str) -> tuple[dict[str, Any], dict[str, Any]]:
    data = {"likelihood": likelihood, "harm": harm}
    if likelihood == "high" or harm == "crime":
        return data, {"risk_level": 1}
    if likelihood == "fairly_high" or harm == "disciplinary":
        return data, {"risk_level": 2}
    return data, {"risk_level": 3}


ROLES = {1: ("principal", "deputy_in_charge"), 2: ("deputy_in_charge", "department_head"),
         3: ("department_head", "department_head")}

#: Every valid input of each table with the outcome the source prescribes (the oracle).
ALL_CASES: dict[str, list[tuple[dict[str, Any], dict[str, Any]]]] = {
    "post_grading": [_post_case(v) for v in itertools.product((False, True), repeat=8)],
    "risk_grading": [_risk_case(lk, hm) for lk, hm in itertools.product(LIKELIHOODS, HARMS)],
    "responsibility": [({"level": level}, {"responsible_role": r, "direct_manager_role": d})
                       for level, (r, d) in ROLES.items()],
}


@pytest.mark.parametrize("decision", DECISIONS)
def test_first_match_gives_the_source_level_for_every_input(decision: str) -> None:
    for data, expected in ALL_CASES[decision]:
        result = decide(decision, data)
        assert {k: result.get(k) for k in expected} == expected, data


@pytest.mark.parametrize("decision", DECISIONS)
def test_rules_do_not_overlap(decision: str) -> None:
    """Under COLLECT every input must hit exactly one rule: the order of the rules does not
    matter, so a designer can reorder them without changing a level."""
    for data, expected in ALL_CASES[decision]:
        result = decide(decision, data, hit_policy="COLLECT")
        assert {k: result.get(k) for k in expected} == {k: [v] for k, v in expected.items()}, data


@pytest.mark.parametrize(("decision", "inputs", "outputs"), [
    ("post_grading", list(ATTRIBUTES), ["post_level"]),
    ("risk_grading", ["likelihood", "harm"], ["risk_level"]),
    ("responsibility", ["level"], ["responsible_role", "direct_manager_role"]),
])
def test_decision_ids_and_variable_names(decision: str, inputs: list[str],
                                         outputs: list[str]) -> None:
    """The contract with the processes that call these tables (post_cycle.bpmn, …)."""
    parser = SpiffBpmnParser(validator=VALIDATOR)
    parser.add_dmn_file(str(BPMN_DIR / f"{decision}.dmn"))
    dmn_parser = parser.dmn_parsers[decision]
    dmn_parser.parse()
    [table] = dmn_parser.decision.decisionTables
    assert table.hit_policy == "UNIQUE"
    assert [i.expression for i in table.inputs] == inputs
    assert [o.name for o in table.outputs] == outputs


@pytest.mark.parametrize("decision", DECISIONS)
def test_every_rule_quotes_the_source(decision: str) -> None:
    """A rule's description starts with a verbatim sentence of the source; a note on how the
    rule applies it may follow in parentheses."""
    if not SOURCE.is_file():
        pytest.skip(f"source document not found at {SOURCE}")
    source = SOURCE.read_text(encoding="utf-8")
    rules = etree.parse(str(BPMN_DIR / f"{decision}.dmn")).iterfind(".//dmn:rule", DMN_NS)
    for rule in rules:
        description = rule.findtext("dmn:description", "", DMN_NS)
        quote = description.split("(", 1)[0].rstrip("。;")
        assert len(quote) >= 10, rule.get("id")
        assert quote in source, rule.get("id")


def test_cited_sentences_are_verbatim_in_the_source() -> None:
    if not SOURCE.is_file():
        pytest.skip(f"source document not found at {SOURCE}")
    source = SOURCE.read_text(encoding="utf-8")
    for sentence in (L1_POSTS, L2_POSTS, L1_RISK, L2_RISK, L3_RISK):
        assert sentence in source


# ----------------------------------------------------------------- schema validation

@pytest.mark.parametrize("decision", DECISIONS)
def test_dmn_file_passes_the_xsd(decision: str) -> None:
    parser = SpiffBpmnParser(validator=VALIDATOR)
    parser.add_dmn_file(str(BPMN_DIR / f"{decision}.dmn"))
    assert list(parser.dmn_parsers) == [decision]


def test_the_xsd_check_is_real() -> None:
    """Control for the test above: a rule whose description comes after its cells breaks
    the DMN 1.3 schema's element order and is refused."""
    dmn = _dmn_text("responsibility")
    start = dmn.index("<description>对确定为一级")
    end = dmn.index("</description>", start) + len("</description>")
    moved = dmn[:start] + dmn[end:]
    moved = moved.replace("</outputEntry>\n      </rule>",
                          "</outputEntry>\n" + dmn[start:end] + "\n      </rule>", 1)
    assert moved != dmn
    parser = SpiffBpmnParser(validator=VALIDATOR)
    with pytest.raises(ValidationException):
        parser.add_dmn_str(moved.encode(), filename="responsibility.dmn")

