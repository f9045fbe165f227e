"""The README's rule table (规则表 · Rule tables: one row per rule of the source) says what is
true: each quote is the source's own words, each decision rule and BPMN element it names is in
bpmn/, each module and name exists, and each test it cites is defined — so the table cannot
drift from the models and the suite (issue 11: "The README's rule section says, for each rule
of the source, which table or model element holds it and which test proves it").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from lxml import etree

from engine.settings import PROJECT_ROOT

README = PROJECT_ROOT / "README.md"
BPMN = PROJECT_ROOT / "bpmn"
#: The source document, beside the project (../shared/reference), from the main tree or a
#: worktree under wt/.
SOURCES = [base / "shared" / "reference" / "000_3a9f7385a5d2023f.txt"
           for base in (PROJECT_ROOT.parent, PROJECT_ROOT.parent.parent)]
SECTION = "### 规则表 · Rule tables"
HEADER = "| rule (source) | where it lives | proved by |"
CODE = re.compile(r"`([^`]+)`")


@dataclass(frozen=True)
class Row:
    line: int
    rule: str
    where: str
    proof: str


def rule_rows(text: str) -> list[Row]:
    """The rows of the rule table in the README's 规则表 section."""
    lines = text.splitlines()
    start = lines.index(SECTION)
    end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("#"))
    header = lines.index(HEADER, start, end)
    rows = []
    for number in range(header + 2, end):
        line = lines[number]
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
        assert len(cells) == 3, f"README line {number + 1}: three cells expected"
        rows.append(Row(number + 1, *cells))
    return rows


def quote(rule: str) -> list[str]:
    """The pieces of the row's quote (between its first “ and last ”, split at ……)."""
    text = rule[rule.index("“") + 1:rule.rindex("”")]
    return [piece for piece in text.split("……") if piece]


def _ids(filename: str) -> set[str]:
    return {str(i) for i in etree.parse(str(BPMN / filename)).xpath("//@id")}


def _defines(path: Path, name: str) -> bool:
    pattern = rf"^\s*(def|class|async def) {re.escape(name)}\b|^{re.escape(name)}\s*[:=]"
    return re.search(pattern, path.read_text(encoding="utf-8"), re.MULTILINE) is not None


def problems(row: Row) -> list[str]:
    """What is wrong with one row's references (empty: nothing)."""
    found: list[str] = []
    references = CODE.findall(row.where) + CODE.findall(row.proof)
    for ref in references:
        model = re.fullmatch(r"([\w.]+\.(?:bpmn|dmn))#(\w+)", ref)
        if model:
            filename, element = model.groups()
            if not (BPMN / filename).is_file() or element not in _ids(filename):
                found.append(f"no element {element} in bpmn/{filename}")
            continue
        module = re.fullmatch(r"([\w/]+\.py)(?:::(\w+))?", ref)
        if module is None:
            continue  # a value such as `lane:post_holder`, not a reference
        path, name = PROJECT_ROOT / module.group(1), module.group(2)
        if not path.is_file():
            found.append(f"no file {module.group(1)}")
        elif name and not _defines(path, name):
            found.append(f"{module.group(1)} defines no {name}")
    tests = [r for r in CODE.findall(row.proof) if r.startswith("tests/")]
    if not tests:
        found.append("no test proves it")
    if not any("::test_" in t for t in tests):
        found.append("no test function named")
    return found


@pytest.fixture(scope="module")
def rows() -> list[Row]:
    return rule_rows(README.read_text(encoding="utf-8"))


def test_the_table_has_a_row_for_each_part_of_the_source(rows: list[Row]) -> None:
    text = " ".join(r.rule for r in rows)
    for words in ("应确定为一级廉政风险", "应确定为二级廉政风险", "构成犯罪", "受到纪律处分",
                  "不良社会影响", "由单位主要领导负责", "由单位分管领导负责", "直接管理和负责",
                  "廉政谈话", "公示", "4类风险", "5种方法", "专用监督渠道", "提醒和纠错",
                  "谈话提醒、诫勉纠错", "群众仍有反映", "考核评估", "三个层次"):
        assert words in text, words
    assert [r.line for r in rows if "level floor" in r.rule] != [], "the level floor's row"


def test_every_reference_of_every_row_exists(rows: list[Row]) -> None:
    assert {f"README line {r.line}": problems(r) for r in rows if problems(r)} == {}


def test_every_quote_is_the_sources_own_words(rows: list[Row]) -> None:
    source = next((p for p in SOURCES if p.is_file()), None)
    if source is None:
        pytest.skip("the source document (../shared/reference) is not beside the project")
    text = source.read_text(encoding="utf-8")
    missing = {r.line: piece for r in rows for piece in quote(r.rule) if piece not in text}
    assert missing == {}


def test_the_check_finds_what_is_wrong() -> None:
    """The checker itself: a bad element, a missing test, a missing module name."""
    bad = Row(0, "“要严格审核把关”",
              "`post_cycle.bpmn#no_such_step`, `risk_grading.dmn#risk_rule_1`, "
              "`engine/programme/rehearsal.py::no_such_name`",
              "`tests/engine/programme/test_rules.py::test_no_such_test`, "
              "`tests/no_such_file.py::test_x`")
    assert problems(bad) == [
        "no element no_such_step in bpmn/post_cycle.bpmn",
        "engine/programme/rehearsal.py defines no no_such_name",
        "tests/engine/programme/test_rules.py defines no test_no_such_test",
        "no file tests/no_such_file.py"]
    assert problems(Row(0, "“x”", "", "`tests/engine/programme/test_rules.py`")) == [
        "no test function named"]
    assert quote("“从单位、内设机构、岗位“三个层次”,认真查找……风险” — note") == [
        "从单位、内设机构、岗位“三个层次”,认真查找", "风险"]
