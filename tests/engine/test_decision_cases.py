"""Decision tables carry their own test cases (engine.decision_cases) and deploy runs them.

The shipped tables' cases pass, cover every rule and the "more severe wins" convention, quote
the source verbatim and agree with an independent oracle; a table whose cases fail, or
whose cases are malformed, is refused with every such case listed and nothing stored; a table
without cases deploys as before.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from lxml import etree
from SpiffWorkflow.spiff.parser import VALIDATOR, SpiffBpmnParser

from engine import decision_cases
from engine.decision_cases import CASES_NS, check_decision_cases, read_cases, run_cases
from engine.errors import DeploymentError
from engine.models import ProcessDefinition, SourceFile, definition_source
from engine.parsing import Source, parse_sources, parse_xml, read_sources
from engine.services import deployment
from engine.settings import PROJECT_ROOT
from tests.conftest import BPMN_DIR, FIXTURES

from .conftest import SIMPLE_CYCLE, Driver

SOURCE = PROJECT_ROOT.parent / "shared" / "reference" / "000_3a9f7385a5d2023f.txt"
DMN_NS = {"dmn": "https://www.omg.org/spec/DMN/20191111/MODEL/", "irpm": CASES_NS}
#: decision id -> how many cases its table ships with.
SHIPPED = {"post_grading": 15, "risk_grading": 9, "responsibility": 3}
SIMPLE_BPMN = (FIXTURES / "simple_cycle.bpmn").read_text(encoding="utf-8")
RISK_DMN = (BPMN_DIR / "risk_grading.dmn").read_text(encoding="utf-8")
GRADING_DMN = (BPMN_DIR / "post_grading.dmn").read_text(encoding="utf-8")

#: risk_grading with rule 3 (发生几率较高 → 二级) writing 三级, and rule 4 (受到纪律处分 → 二级)
#: misspelling its value so it never matches.
ALTERED_RISK = RISK_DMN.replace(
    '<outputEntry id="risk_rule_3_out">\n          <text>2</text>',
    '<outputEntry id="risk_rule_3_out">\n          <text>3</text>').replace(
    '<inputEntry id="risk_rule_4_in_2">\n          <text>"disciplinary"</text>',
    '<inputEntry id="risk_rule_4_in_2">\n          <text>"disciplinery"</text>')
L2_RISK = ("二级廉政风险是发生几率较高的风险,或者一旦发生可能造成较为严重损害后果的风险,"
           "如有可能违反《中国共产党纪律处分条例》、《行政机关公务员处分条例》等相关法规,"
           "受到纪律处分的风险等")


def _tree(decision: str, text: str | None = None) -> tuple[str, etree._Element]:
    filename = f"{decision}.dmn"
    body = text if text is not None else (BPMN_DIR / filename).read_text(encoding="utf-8")
    return filename, parse_xml(Source(filename, body.encode()))


def _stored(driver: Driver) -> tuple[int, int, int]:
    return (driver.count(ProcessDefinition), driver.count(SourceFile),
            driver.count(definition_source))


def _deploy_dir_with(driver: Driver, filename: str, text: str) -> list[deployment.DeployedProcess]:
    """bpmn/ as it is, but ``filename`` replaced by ``text``."""
    sources = [s if s.filename != filename else Source(filename, text.encode())
               for s in read_sources([BPMN_DIR])]
    with driver.rt.uow() as uow:
        return deployment.deploy(uow, sources, deployed_by="tests")


def _refused(driver: Driver, filename: str, text: str) -> DeploymentError:
    """Deploying bpmn/ with ``text`` as ``filename`` is refused; nothing new is stored."""
    before = _stored(driver)
    with pytest.raises(DeploymentError) as caught:
        _deploy_dir_with(driver, filename, text)
    assert _stored(driver) == before
    return caught.value


# ----------------------------------------------------------------- the shipped tables


@pytest.mark.parametrize("decision", sorted(SHIPPED))
def test_the_shipped_cases_pass(decision: str) -> None:
    filename, root = _tree(decision)
    assert check_decision_cases(filename, root) == SHIPPED[decision]


@pytest.mark.parametrize("decision", sorted(SHIPPED))
def test_the_shipped_cases_cover_every_rule(decision: str) -> None:
    filename, root = _tree(decision)
    [cases] = read_cases(filename, root).values()
    fired = {rule for outcome in run_cases(filename, root, decision, cases)
             for rule in outcome.matched}
    assert fired == {r.get("id") for r in root.iterfind(".//dmn:rule", DMN_NS)}


@pytest.mark.parametrize("decision", sorted(SHIPPED))
def test_every_shipped_case_quotes_the_source_verbatim(decision: str) -> None:
    if not SOURCE.is_file():
        pytest.skip(f"source document not found at {SOURCE}")
    source = SOURCE.read_text(encoding="utf-8")
    filename, root = _tree(decision)
    for case in read_cases(filename, root)[decision]:
        assert len(case.source) >= 20 and case.name, case.case_id
        assert case.source in source, case.case_id


#: An oracle independent of the tables, written from the source's sentences (issue 11: the
#: rules live only in the deployed tables; a test may keep its own copy to check them).
LEVEL_1_ATTRIBUTES = ("principal_post", "approval_power", "enforcement_power",
                      "key_resources", "livelihood")
LEVEL_2_ATTRIBUTES = ("general_economic", "social_affairs", "public_service")
LIKELIHOODS = ("high", "fairly_high", "low")
HARMS = ("crime", "disciplinary", "minor")
ORACLE_RESPONSIBILITY = {1: ("principal", "deputy_in_charge"),
                         2: ("deputy_in_charge", "department_head"),
                         3: ("department_head", "department_head")}


def _oracle_post_level(**attributes: bool) -> int:
    if any(attributes[a] for a in LEVEL_1_ATTRIBUTES):
        return 1
    return 2 if any(attributes[a] for a in LEVEL_2_ATTRIBUTES) else 3


def _oracle_risk_level(likelihood: str, harm: str) -> int:
    if likelihood == "high" or harm == "crime":
        return 1
    return 2 if likelihood == "fairly_high" or harm == "disciplinary" else 3


def test_the_cases_agree_with_an_independent_oracle() -> None:
    """The shipped cases say what the source says (checked against the oracle above)."""
    checks: dict[str, Callable[..., object]] = {
        "post_grading": lambda **i: {"post_level": _oracle_post_level(**i)},
        "risk_grading": lambda **i: {"risk_level": _oracle_risk_level(**i)},
        "responsibility": lambda **i: dict(zip(("responsible_role", "direct_manager_role"),
                                               ORACLE_RESPONSIBILITY[i["level"]], strict=True)),
    }
    for decision, check in checks.items():
        for case in read_cases(*_tree(decision))[decision]:
            assert check(**case.inputs) == case.expected, case.case_id


def test_more_severe_wins_is_covered() -> None:
    """The convention of both grading tables (the source joins its criteria with "或者"): all
    nine likelihood × harm pairs, and posts with level-1 and level-2 attributes together."""
    risks = read_cases(*_tree("risk_grading"))["risk_grading"]
    assert {(c.inputs["likelihood"], c.inputs["harm"]) for c in risks} == {
        (likelihood, harm) for likelihood in LIKELIHOODS for harm in HARMS}
    posts = read_cases(*_tree("post_grading"))["post_grading"]
    mixed = [c for c in posts
             if any(c.inputs[a] for a in LEVEL_1_ATTRIBUTES)
             and any(c.inputs[a] for a in LEVEL_2_ATTRIBUTES)]
    assert len(mixed) >= 3 and all(c.expected == {"post_level": 1} for c in mixed)


@pytest.mark.parametrize("decision", sorted(SHIPPED))
def test_cases_pass_the_dmn_schema_and_spiffworkflow_ignores_them(decision: str) -> None:
    parser = SpiffBpmnParser(validator=VALIDATOR)
    parser.add_dmn_file(str(BPMN_DIR / f"{decision}.dmn"))
    dmn = parser.dmn_parsers[decision]
    dmn.parse()
    assert len(dmn.decision.decisionTables) == 1
    assert dmn.decision.decisionTables[0].rules


def test_the_schema_wants_the_cases_before_the_table() -> None:
    """DMN 1.3 orders a decision's children: description, extensionElements, then the
    table. Cases after the table are refused by the schema, with their line."""
    start = GRADING_DMN.index("    <extensionElements>")
    end = GRADING_DMN.index("    </extensionElements>\n") + len("    </extensionElements>\n")
    block = GRADING_DMN[start:end]
    moved = (GRADING_DMN[:start] + GRADING_DMN[end:]).replace(
        "    </decisionTable>\n", "    </decisionTable>\n" + block)
    with pytest.raises(DeploymentError, match="extensionElements") as caught:
        parse_sources([Source("post_grading.dmn", moved.encode())])
    assert caught.value.filename == "post_grading.dmn" and caught.value.line


# ----------------------------------------------------------------- refusals at deploy


def test_a_table_whose_cases_fail_is_refused_listing_every_failing_case(
        driver: Driver) -> None:
    driver.deploy_bpmn_dir()
    error = _refused(driver, "risk_grading.dmn", ALTERED_RISK)
    assert (error.filename, error.element) == ("risk_grading.dmn", "risk_grading")
    assert error.line == _line(ALTERED_RISK, '<decision id="risk_grading"')
    failing = {"risk_case_fairly_high_disciplinary": "got risk_level=3 (rule risk_rule_3)",
               "risk_case_fairly_high_minor": "got risk_level=3 (rule risk_rule_3)",
               "risk_case_low_disciplinary": "but no rule matched"}
    assert [p["params"]["case"] for p in error.problems] == list(failing)
    message = str(error)
    assert "decision 'risk_grading' (风险点等级): 3 of 9 test case(s) failed" in message
    for problem in error.problems:
        case = problem["params"]["case"]
        assert (problem["code"], problem["element"]) == ("decision_case_failed",
                                                         "risk_grading")
        assert problem["line"] == _line(ALTERED_RISK, f'<irpm:testCase id="{case}"')
        assert f"case '{case}'" in problem["message"] and failing[case] in problem["message"]
        assert f"source “{L2_RISK}”" in problem["message"]
        assert "expected risk_level=2" in problem["message"]
        assert problem["message"] in message
    assert 'inputs likelihood="low", harm="disciplinary"' in message


def test_a_failing_table_fails_again_and_a_fixed_one_deploys(driver: Driver) -> None:
    """Only passing files are remembered; a refused one is run again every time."""
    for _ in range(2):
        _refused(driver, "risk_grading.dmn", ALTERED_RISK)
    fixed = ALTERED_RISK.replace('"disciplinery"', '"disciplinary"').replace(
        '<outputEntry id="risk_rule_3_out">\n          <text>3</text>',
        '<outputEntry id="risk_rule_3_out">\n          <text>2</text>')
    assert fixed == RISK_DMN
    assert _deploy_dir_with(driver, "risk_grading.dmn", fixed)


def test_a_changed_rule_needs_its_case_changed_too(driver: Driver) -> None:
    """公共服务 graded 一级 instead of 二级: refused until the case says so too."""
    stricter = GRADING_DMN.replace(
        '<outputEntry id="rule_8_out">\n          <text>2</text>',
        '<outputEntry id="rule_8_out">\n          <text>1</text>')
    error = _refused(driver, "post_grading.dmn", stricter)
    assert [p["params"]["case"] for p in error.problems] == ["post_case_public_service"]
    assert "expected post_level=2, got post_level=1 (rule rule_8)" in str(error)
    agreed = _expect(stricter, "post_case_public_service", "post_level", "1")
    created = {r.process_id for r in _deploy_dir_with(driver, "post_grading.dmn", agreed)
               if r.created}
    assert "post_cycle" in created


def test_an_error_in_a_cell_is_a_failing_case(driver: Driver) -> None:
    """A case that leaves out an input the table reads: the engine's NameError, as a
    business-rule task would raise it, named in the case's line."""
    without_harm = RISK_DMN.replace('        <irpm:input name="harm">"crime"</irpm:input>\n',
                                    "", 1)
    error = _refused(driver, "risk_grading.dmn", without_harm)
    [problem] = error.problems
    assert problem["params"]["case"] == "risk_case_high_crime"
    assert "the table could not be evaluated" in problem["message"]
    assert "name 'harm' is not defined" in problem["message"]


def test_a_boolean_is_not_the_number_one(driver: Driver) -> None:
    as_bool = _expect(RISK_DMN, "risk_case_high_crime", "risk_level", "True")
    error = _refused(driver, "risk_grading.dmn", as_bool)
    assert "expected risk_level=True, got risk_level=1" in str(error)


MALFORMED: dict[str, tuple[Callable[[str], str], str]] = {
    "not a literal": (
        lambda t: t.replace('<irpm:input name="harm">"crime"</irpm:input>',
                            '<irpm:input name="harm">crime</irpm:input>', 1),
        "test case 'risk_case_high_crime' is malformed: the value of input 'harm' is not a "
        "literal: 'crime'"),
    "code, not a literal": (
        lambda t: t.replace('<irpm:input name="harm">"crime"</irpm:input>',
                            "<irpm:input name=\"harm\">__import__('os').system('touch "
                            "/tmp/irpm-pwned')</irpm:input>", 1),
        "the value of input 'harm' is not a literal"),
    "unknown input": (
        lambda t: t.replace('<irpm:input name="likelihood">"low"</irpm:input>',
                            '<irpm:input name="likelyhood">"low"</irpm:input>', 1),
        "test case 'risk_case_low_crime' is malformed: input 'likelyhood' is not one the "
        "table reads (it reads: harm, likelihood)"),
    "unknown output": (
        lambda t: t.replace('<irpm:expect name="risk_level">3</irpm:expect>',
                            '<irpm:expect name="level">3</irpm:expect>'),
        "test case 'risk_case_low_minor' is malformed: output 'level' is not one the table "
        "has (it has: risk_level)"),
    "input twice": (
        lambda t: t.replace('<irpm:input name="harm">"crime"</irpm:input>',
                            '<irpm:input name="harm">"crime"</irpm:input>'
                            '<irpm:input name="harm">"minor"</irpm:input>', 1),
        "input 'harm' is given twice"),
    "no id": (
        lambda t: t.replace('<irpm:testCase id="risk_case_high_crime"', "<irpm:testCase", 1),
        "a test case is malformed: <irpm:testCase> needs an id"),
    "same id": (
        lambda t: t.replace('id="risk_case_high_minor"', 'id="risk_case_high_crime"', 1),
        "test case 'risk_case_high_crime' is malformed: another test case has the same id"),
    "expects nothing": (
        lambda t: t.replace('<irpm:expect name="risk_level">3</irpm:expect>', ""),
        "test case 'risk_case_low_minor' is malformed: it expects nothing"),
    "unknown element": (
        lambda t: t.replace('<irpm:expect name="risk_level">3</irpm:expect>',
                            '<irpm:expected name="risk_level">3</irpm:expected>'),
        "unknown element <expected>"),
    "outside the decision": (
        lambda t: t.replace('<decisionTable id="risk_grading_table" hitPolicy="UNIQUE">',
                            '<decisionTable id="risk_grading_table" hitPolicy="UNIQUE">'
                            '<extensionElements><irpm:testCase id="lost"/></extensionElements>'),
        "test case 'lost' is not inside a <decision>'s <extensionElements>"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_a_malformed_case_is_refused_naming_it(driver: Driver, case: str) -> None:
    change, mentions = MALFORMED[case]
    text = change(RISK_DMN)
    assert text != RISK_DMN
    error = _refused(driver, "risk_grading.dmn", text)
    assert error.filename == "risk_grading.dmn"
    assert "malformed test case(s)" in str(error)
    assert mentions in str(error)
    assert all(p["code"] == "decision_case_invalid" for p in error.problems)
    assert not Path("/tmp/irpm-pwned").exists()


def test_a_table_without_cases_still_deploys(driver: Driver) -> None:
    bare = re.sub(r"\s*<extensionElements>.*</extensionElements>", "", GRADING_DMN,
                  flags=re.DOTALL)
    assert "irpm:testCase" not in bare
    _, root = _tree("post_grading", bare)
    assert read_cases("post_grading.dmn", root) == {}
    with driver.rt.uow() as uow:
        [result] = deployment.deploy(uow, [Source("simple_cycle.bpmn", SIMPLE_BPMN.encode()),
                                           Source("post_grading.dmn", bare.encode())],
                                     deployed_by="tests")
    assert (result.process_id, result.version, result.created) == (SIMPLE_CYCLE, 1, True)


def test_a_passing_file_is_run_once_per_content(monkeypatch: pytest.MonkeyPatch) -> None:
    filename, root = _tree("responsibility")
    runs: list[str] = []
    real = decision_cases.run_cases

    def counting(*args: object, **kwargs: object) -> object:
        runs.append(filename)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(decision_cases, "run_cases", counting)
    monkeypatch.setattr(decision_cases, "_PASSED", {})
    for _ in range(3):
        assert check_decision_cases(filename, root, content_hash="a") == 3
    assert check_decision_cases(filename, root, content_hash="b") == 3
    assert check_decision_cases(filename, root) == 3
    assert len(runs) == 3  # "a" once, "b" once, and unkeyed always


# ----------------------------------------------------------------- helpers


def _line(body: str, needle: str) -> int:
    return body[:body.index(needle)].count("\n") + 1


def _expect(body: str, case_id: str, name: str, value: str) -> str:
    """``body`` with case ``case_id`` expecting ``value`` for ``name``."""
    start = body.index(f'<irpm:testCase id="{case_id}"')
    end = body.index("</irpm:testCase>", start)
    case = re.sub(rf'(<irpm:expect name="{name}">)[^<]*(</irpm:expect>)', rf"\g<1>{value}\2",
                  body[start:end])
    return body[:start] + case + body[end:]
