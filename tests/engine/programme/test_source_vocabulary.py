"""The source's lists as the programme holds them — in the register's vocabulary
(engine/programme/models/register.py) and in the forms and service tasks of
bpmn/post_cycle.bpmn, so that what a person is asked is what the register keeps:

- "重点是排查4类风险:一是岗位职责风险……二是业务流程风险……三是制度机制风险……四是外部环境风险";
- "主要采取自己找、群众提、互相查、领导点、组织评5种方法和利用举报投诉、财务审计、执法检查、问卷调查
  等专用监督渠道和手段";
- "通过信息监测、定期自查、上级检查、社会评议等方式,对廉政风险防范各项措施的落实情况进行考核评估".
"""

from __future__ import annotations

import json
from typing import Any

from lxml import etree

from engine.programme.models import FoundBy, RiskCategory
from engine.settings import PROJECT_ROOT

NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL"}
POST_CYCLE = etree.parse(str(PROJECT_ROOT / "bpmn" / "post_cycle.bpmn"))
CATEGORIES = ["duty", "process", "institutional", "external"]
METHODS = ["self_identified", "public_suggested", "peer_checked", "leader_pointed",
           "organization_reviewed"]
CHANNELS = ["complaint", "financial_audit", "enforcement_inspection", "questionnaire"]
ASSESSMENT = ["score_information_monitoring", "score_self_check", "score_superior_inspection",
              "score_social_evaluation"]


def form(element: str) -> dict[str, Any]:
    [node] = POST_CYCLE.xpath(f"//bpmn:userTask[@id='{element}']", namespaces=NS)
    [schema] = node.xpath(".//*[local-name()='property'][@name='formSchema']/@value")
    loaded: dict[str, Any] = json.loads(schema)
    return loaded


def found_by_of(service_task: str) -> str:
    [value] = POST_CYCLE.xpath(f"//bpmn:serviceTask[@id='{service_task}']"
                               "//*[local-name()='parameter'][@id='found_by']/@value",
                               namespaces=NS)
    return str(value).strip('"')


def test_the_four_categories_of_risk_are_the_registers_and_every_discovery_forms() -> None:
    assert [c.value for c in RiskCategory] == CATEGORIES
    for element in ("self_identified", "peer_checked", "leader_pointed",
                    "organization_reviewed"):
        risk = form(element)["properties"]["risks"]["items"]["properties"]
        assert risk["category"]["enum"] == CATEGORIES, element
    assert form("suggestion_review")["properties"]["suggestion_category"]["enum"] == CATEGORIES


def test_the_five_methods_and_four_channels_are_the_registers_found_by() -> None:
    assert [f.value for f in FoundBy] == METHODS + CHANNELS
    # Each method is a step of the post's cycle that records what it found as found by it.
    for method in ("self_identified", "peer_checked", "leader_pointed",
                   "organization_reviewed"):
        assert found_by_of(f"record_{method}") == method
    assert found_by_of("record_public_suggestion") == "public_suggested"  # 群众提


def test_the_assessment_asks_for_the_four_ways_of_assessing() -> None:
    properties = form("assessment")["properties"]
    assert [name for name in properties if name.startswith("score_")] == ASSESSMENT
