"""The designer's lint rule on ``excludes`` (separation of duties, 回避): a malformed entry, a
lane the runtime does not know, a performer of no step, a bad expression are refused before
deployment — an exclusion that silently excluded nobody would be the worst failure of an
integrity rule. The shipped models exclude the post holder from every step that judges a
post."""

from __future__ import annotations

import pytest
from lxml import etree

from engine.parsing import NS, Source, read_sources
from engine.runtime import Runtime
from tests.conftest import BPMN_DIR

from .programme.self_supervision import SUPERVISORY
from .test_design import SMALL, _edit, _one, _rules, _validate


def _excludes(value: str) -> Source:
    def change(root: etree._Element) -> None:
        props = _one(root, "//spiffworkflow:properties")
        etree.SubElement(props, f"{{{NS['spiffworkflow']}}}property", name="excludes",
                         value=value)
    return _edit(change)


@pytest.mark.parametrize("value", [
    "lane:post_holder", "performer:fill", "user:zhangsan, group:interns",
    "=[post_code and 'group:post:' + post_code]"])
def test_well_formed_exclusions_pass(rt: Runtime, value: str) -> None:
    rt.lane_roles = frozenset({"post_holder", "department_head"})
    assert _validate(rt, _excludes(value)) == []


@pytest.mark.parametrize(("value", "code", "says"), [
    ("post_holder", "excludes_invalid", "write kind:value"),
    ("role:post_holder", "excludes_invalid", "unknown kind 'role'"),
    ("lane:", "excludes_invalid", "needs a name"),
    ("  ", "excludes_empty", "is empty"),
    ("= 1 +", "excludes_expression", "expression of excludes"),
    ("lane:mayor", "excludes_lane", "names the lane 'mayor', which is not a role"),
    ("performer:review", "excludes_performer", "'review', which is not a user task"),
])
def test_a_malformed_exclusion_is_refused(rt: Runtime, value: str, code: str,
                                          says: str) -> None:
    rt.lane_roles = frozenset({"post_holder", "department_head"})
    problems = _validate(rt, _excludes(value))
    assert _rules(problems) == {("excludes", "fill")}
    assert problems[0].code == code and says in problems[0].message
    assert problems[0].line


def test_without_known_lane_roles_any_lane_may_be_excluded(rt: Runtime) -> None:
    assert _validate(rt, _excludes("lane:Lane_0abc")) == []


def test_the_small_process_without_exclusions_still_passes(rt: Runtime) -> None:
    assert _validate(rt, Source("small.bpmn", SMALL.encode())) == []


def test_the_shipped_models_exclude_the_holder_from_judging_the_post() -> None:
    """Every user task that judges a post (tests/engine/programme/self_supervision.py) excludes its
    holder; the holder's own steps (自己找, 定期自查, 纠正问题, 纠错整改) exclude nobody."""
    found: dict[str, str | None] = {}
    for source in read_sources([BPMN_DIR]):
        if source.kind != "bpmn":
            continue
        root = etree.fromstring(source.content)
        for task in root.iter(f"{{{NS['bpmn']}}}userTask"):
            values = [p.get("value") for p in task.iterfind(
                ".//spiffworkflow:property[@name='excludes']", NS)]
            found[f"{source.filename}:{task.get('id')}"] = values[0] if values else None
    judged = {k for k in found if k.startswith(("post_cycle", "disposal"))
              and k.split(":")[1] in SUPERVISORY}
    assert len(judged) == len(SUPERVISORY)
    assert {found[k] for k in judged} == {"lane:post_holder"}
    institutions = {k: v for k, v in found.items() if k.startswith("institutions") and v}
    assert {k for k, v in found.items() if v} - set(institutions) == judged
    # 中期监控制度: nobody reviews their own report (the leader it is about, by login), nor
    # holds the 廉政谈话 of their own post.
    assert institutions == {
        "institutions.bpmn:personal_matters_review": '=reported["leader"]["login"]',
        "institutions.bpmn:duty_report_review": '=duty_reported["leader"]["login"]',
        "institutions.bpmn:leader_talk": "lane:post_holder"}
