"""The grading and responsibility rules, asked of the deployed decision tables.

The rules are the tables in bpmn/, which designers see and edit in the designer; no copy of a
rule lives in Python. Each function here evaluates one table through
``engine.services.decisions``:

==================================== ================================= ======================
function                             table (decision id)               outputs
==================================== ================================= ======================
``post_rule_level``, ``post_floor``  post_grading.dmn (post_grading)   post_level (and the
                                                                       matched rule's
                                                                       sentence)
``risk_level``                       risk_grading.dmn (risk_grading)   risk_level
``responsibility``                   responsibility.dmn                responsible_role,
                                     (responsibility)                  direct_manager_role
==================================== ================================= ======================

Source: ../shared/reference/000_3a9f7385a5d2023f.txt, "根据岗位风险发生的几率大小、可能造成的危害
程度,将岗位廉政风险等级划分为三级" (levels) and "根据岗位廉政风险不同等级,实行分级管理、分级负责和
重点防控" (responsibility); each rule of a table quotes its sentence.

Inside a process, pass ``definition_id`` — the version the instance runs — so an instance
keeps the tables of its version and instances started after a redeploy get the new ones;
outside one (register pages and API, the demo) the latest deployed tables apply. What stays
here is the register's vocabulary, which is not a rule: a level is 1, 2 or 3 and a leader
role one of ``LEADER_ROLES`` (the database and the routing know no others), so a table
answering anything else fails with ``DecisionFailed`` instead of storing it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..db import UnitOfWork
from ..decisions import DecisionFailed
from ..services import decisions
from .models.org import POST_ATTRIBUTES, Post, Role

POST_GRADING, RISK_GRADING, RESPONSIBILITY = "post_grading", "risk_grading", "responsibility"
LEVELS = (1, 2, 3)
#: The leaders a post's level can make answer for it (``Role`` values), from the top.
LEADER_ROLES = (Role.PRINCIPAL.value, Role.DEPUTY_IN_CHARGE.value, Role.DEPARTMENT_HEAD.value)


def _answer(decision: str, answer: dict[str, Any], name: str,
            allowed: tuple[Any, ...]) -> Any:
    value = answer.get(name)
    if isinstance(value, bool) or value not in allowed:
        raise DecisionFailed(f"decision '{decision}' answered {name} = {value!r}; the register "
                             f"takes one of {', '.join(map(str, allowed))}",
                             decision=decision, answer=answer)
    return value


def post_rule_level(uow: UnitOfWork, post: Post | Mapping[str, Any], *,
                    definition_id: int | None = None) -> int:
    """The level a post has by its attributes alone (post_grading.dmn: "单位领导班子正职岗位
    ……应确定为一级廉政风险"; "具有一般经济管理、社会事务管理、公共服务等职能的岗位,应确定为二级廉政
    风险"). ``post`` is a post or its attributes (other keys are ignored)."""
    attributes = post.attributes() if isinstance(post, Post) else post
    inputs = {name: attributes[name] for name in POST_ATTRIBUTES if name in attributes}
    answer = decisions.evaluate(uow, POST_GRADING, inputs, definition_id=definition_id)
    level: int = _answer(POST_GRADING, answer, "post_level", LEVELS)
    return level


@dataclass(frozen=True)
class Floor:
    """A post's floor: the level its rule demands (a review may not go below it) and the
    sentence of the post_grading rule that demands it (the matched rule's description)."""

    level: int
    sentence: str


def post_floor(uow: UnitOfWork, post: Post | Mapping[str, Any], *,
               definition_id: int | None = None) -> Floor:
    """``post_rule_level`` with the sentence of the rule that gave it: "岗位规则的等级是底线" —
    a reviewer may raise a post's level, never set it below this."""
    attributes = post.attributes() if isinstance(post, Post) else post
    inputs = {name: attributes[name] for name in POST_ATTRIBUTES if name in attributes}
    answer, rules = decisions.evaluate_explained(uow, POST_GRADING, inputs,
                                                 definition_id=definition_id)
    level: int = _answer(POST_GRADING, answer, "post_level", LEVELS)
    return Floor(level, next((r for r in rules if r), f"{POST_GRADING}: post_level {level}"))


def risk_level(uow: UnitOfWork, likelihood: str, harm: str, *,
               definition_id: int | None = None) -> int:
    """The level of one risk point by its likelihood and harm (risk_grading.dmn: "一级廉政风险
    是发生几率高的风险,或者一旦发生可能造成严重损害后果的风险……")."""
    answer = decisions.evaluate(uow, RISK_GRADING, {"likelihood": likelihood, "harm": harm},
                                definition_id=definition_id)
    level: int = _answer(RISK_GRADING, answer, "risk_level", LEVELS)
    return level


def responsibility(uow: UnitOfWork, level: int, *,
                   definition_id: int | None = None) -> tuple[str, str]:
    """The roles that answer for and directly manage a post of ``level``:
    (responsible_role, direct_manager_role) (responsibility.dmn: "对确定为一级廉政风险等级的,
    在单位分管领导直接管理的基础上,由单位主要领导负责" …)."""
    answer = decisions.evaluate(uow, RESPONSIBILITY, {"level": level},
                                definition_id=definition_id)
    return (_answer(RESPONSIBILITY, answer, "responsible_role", LEADER_ROLES),
            _answer(RESPONSIBILITY, answer, "direct_manager_role", LEADER_ROLES))
