"""The grading and responsibility rules as plain Python, for the risk register.

The processes grade through the decision tables in bpmn/ (editable by designers); the register
needs the same answers inside a service, without running a workflow. Each function here
mirrors one table, rule for rule, and ``tests/engine/test_register.py`` checks it against
the table on every valid input — so a designer who edits a table sees that test fail until
this module follows.

Source: ../shared/reference/000_3a9f7385a5d2023f.txt, "岗位廉政风险等级是怎么划分的?" (levels)
and "采取的中期监控措施有哪些?" (responsibility).
"""

from __future__ import annotations

from collections.abc import Mapping

from .models.org import POST_ATTRIBUTES, Post

LEVELS = (1, 2, 3)
LIKELIHOODS = ("high", "fairly_high", "low")
HARMS = ("crime", "disciplinary", "minor")

#: 一级: "单位领导班子正职岗位,与经济发展和人民群众生产生活密切相关的岗位,具有行政审批权和
#: 执法权的岗位,从事人事、财务、物资、采购、基建等管理的岗位,应确定为一级廉政风险" (rules 1–5).
LEVEL_1_POST_ATTRIBUTES = ("principal_post", "approval_power", "enforcement_power",
                           "key_resources", "livelihood")
#: 二级: "具有一般经济管理、社会事务管理、公共服务等职能的岗位,应确定为二级廉政风险" (rules 6–8).
LEVEL_2_POST_ATTRIBUTES = ("general_economic", "social_affairs", "public_service")


def risk_level(likelihood: str, harm: str) -> int:
    """bpmn/risk_grading.dmn: the level of one risk point.

    - 一级 (risk_rule_1, risk_rule_2): "一级廉政风险是发生几率高的风险,或者一旦发生可能造成严重损害
      后果的风险,如有可能触犯国家法律,构成犯罪的风险等" — likelihood high, or harm crime;
    - 二级 (risk_rule_3, risk_rule_4): "二级廉政风险是发生几率较高的风险,或者……受到纪律处分的风险
      等" — likelihood fairly_high, or harm disciplinary;
    - 三级 (risk_rule_5): "三级廉政风险是发生几率较小的风险,或者一旦发生可能造成不良社会影响或一定
      经济损失的风险" — low and minor.

    Where likelihood and harm point to different levels the more severe one wins (the table's
    convention: the source joins the two criteria with "或者"). Unknown values raise
    ``ValueError``; the table would silently write no level.
    """
    if likelihood not in LIKELIHOODS:
        raise ValueError(f"unknown likelihood {likelihood!r}; one of {', '.join(LIKELIHOODS)}")
    if harm not in HARMS:
        raise ValueError(f"unknown harm {harm!r}; one of {', '.join(HARMS)}")
    if likelihood == "high" or harm == "crime":
        return 1
    if likelihood == "fairly_high" or harm == "disciplinary":
        return 2
    return 3


def post_rule_level(post: Post | Mapping[str, bool]) -> int:
    """bpmn/post_grading.dmn: the level a post has by its attributes alone.

    Level 1 if any of ``LEVEL_1_POST_ATTRIBUTES`` holds (rules 1–5), else level 2 if any of
    ``LEVEL_2_POST_ATTRIBUTES`` holds (rules 6–8), else level 3 (rule 9: "三级廉政风险是发生几率
    较小的风险……"; a post on neither list is level 3 by the product's convention). Every one
    of the eight attributes must be a bool, as the table's cells compare with True/False.
    """
    attributes = post.attributes() if isinstance(post, Post) else post
    for name in POST_ATTRIBUTES:
        if not isinstance(attributes.get(name), bool):
            raise ValueError(f"post attribute {name!r} must be True or False, "
                             f"not {attributes.get(name)!r}")
    if any(attributes[name] for name in LEVEL_1_POST_ATTRIBUTES):
        return 1
    if any(attributes[name] for name in LEVEL_2_POST_ATTRIBUTES):
        return 2
    return 3


#: bpmn/responsibility.dmn: level → (responsible_role, direct_manager_role).
RESPONSIBILITY: dict[int, tuple[str, str]] = {
    #: "对确定为一级廉政风险等级的,在单位分管领导直接管理的基础上,由单位主要领导负责"
    1: ("principal", "deputy_in_charge"),
    #: "对确定为二级廉政风险等级的,在内设机构领导直接管理的基础上,由单位分管领导负责"
    2: ("deputy_in_charge", "department_head"),
    #: "对确定为三级廉政风险等级的,由内设机构领导直接管理和负责"
    3: ("department_head", "department_head"),
}


def responsibility(level: int) -> tuple[str, str]:
    """The roles (``engine.models.Role`` values) that answer for and directly manage a post
    of ``level``: (responsible_role, direct_manager_role)."""
    if isinstance(level, bool) or level not in RESPONSIBILITY:
        raise ValueError(f"unknown level {level!r}; levels are 1, 2, 3")
    return RESPONSIBILITY[level]
