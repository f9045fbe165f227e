"""The register's 中期监控制度 (``InstitutionRecord``): who a unit's institutions go to, what
each institution held records, and which records are findings that start a 后期处置.

Source: "认真落实廉政谈话、报告个人有关事项、述职述廉、民主生活会、民主评议等制度,加强对党员干部的
监督……凡涉及重大事项决策、重要人事任免、重大项目安排和大额资金使用等事项,必须经单位领导班子集体
研究决定". bpmn/institutions.bpmn holds each institution on its date; its service tasks write here
through ``engine.programme.institution_operators`` in the step's own transaction.

What is a finding is decided here, one rule per institution (``is_finding``), so the process,
the register and the tests agree: a 三重一大 decision taken without a meeting of the leadership
team; a 述职述廉 or 个人有关事项报告 the commission did not pass; a 民主评议 score below
``LOW_SCORE``; a 回访座谈 or 明察暗访 that found problems. A finding is about one post (a
disposal is always of one post: the leader's own post, or the post the form names) and starts
a ``disposal`` with the source ``institution``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from ...actors import Actor
from ...db import UnitOfWork
from ...errors import ValidationFailed
from ...models import ProcessInstance
from ...services import clock, instances
from ..models import (
    Account,
    Department,
    Institution,
    InstitutionRecord,
    Official,
    Post,
    PostGrading,
    Unit,
)
from . import disposals
from .organisation import get_official, get_post, get_unit

#: The process (bpmn/institutions.bpmn): one instance per unit per year.
PROCESS = "institutions"
#: 民主评议 below this score is a finding (product convention: the assessment's pass mark).
LOW_SCORE = 60
#: What the finding's disposal names as its source (``disposals.SOURCES``).
SOURCE = "institution"
#: The name of each institution in the finding's description (the source's terms).
NAMES = {Institution.PERSONAL_MATTERS: "报告个人有关事项", Institution.DUTY_REPORT: "述职述廉",
         Institution.DEMOCRATIC_LIFE_MEETING: "民主生活会",
         Institution.DEMOCRATIC_EVALUATION: "民主评议",
         Institution.MAJOR_DECISION: "三重一大集体决策", Institution.INTEGRITY_TALK: "廉政谈话",
         Institution.FOLLOW_UP_VISIT: "回访座谈",
         Institution.UNANNOUNCED_INSPECTION: "明察暗访"}


def unit_leaders(uow: UnitOfWork, unit_code: str) -> list[dict[str, Any]]:
    """The unit's leadership (单位领导班子) with a login: the principal, then each deputy in
    charge once, each with the post they hold in the unit (their principal post first), if
    any. Institutions for "every leader" go to these people by login."""
    unit = get_unit(uow, unit_code)
    people: list[tuple[Official, str]] = []
    if unit.principal is not None:
        people.append((unit.principal, "principal"))
    deputies = uow.session.scalars(select(Official).join(
        Department, Department.deputy_in_charge_id == Official.id).where(
        Department.unit_id == unit.id).distinct().order_by(Official.code))
    people += [(o, "deputy_in_charge") for o in deputies
               if unit.principal is None or o.id != unit.principal.id]
    leaders = []
    for official, role in people:
        login = uow.session.scalar(select(Account.username).where(
            Account.official_id == official.id, Account.active.is_(True)))
        if login is None:
            continue
        post = uow.session.scalar(select(Post.code).join(Post.department).where(
            Post.holder_id == official.id, Department.unit_id == unit.id)
            .order_by(Post.principal_post.desc(), Post.code))
        leaders.append({"official_code": official.code, "official_name": official.name,
                        "login": login, "role": role, "post_code": post})
    return leaders


def begin(uow: UnitOfWork, unit_code: str, year: int, actor: Actor | None, *,
          now: datetime | None = None) -> ProcessInstance:
    """The unit's ``institutions`` instance of the year (key ``institutions:<unit>:<year>``),
    started in the caller's transaction — the unit's cycle does not wait for it — unless
    one was started already (a unit holds its institutions once a year)."""
    unit = get_unit(uow, unit_code)
    key = f"{PROCESS}:{unit.code}:{year}"
    started = uow.session.scalar(select(ProcessInstance).where(
        ProcessInstance.process_id == PROCESS, ProcessInstance.business_key == key)
        .order_by(ProcessInstance.id).limit(1))
    if started is not None:
        return started
    return instances.begin_instance(uow, PROCESS, key, {"unit_code": unit.code, "year": year},
                                    actor=actor, now=now)


@dataclass(frozen=True)
class Entry:
    """One institution held, as a process step hands it over."""

    institution: Institution
    summary: str
    details: dict[str, Any]
    official_code: str | None = None
    score: int | None = None
    post_code: str | None = None


def entry(raw: Mapping[str, Any], where: str) -> Entry:
    """``raw`` checked: bad input raises ``ValidationFailed`` naming ``where`` and the key."""
    def bad(key: str, problem: str) -> ValidationFailed:
        return ValidationFailed(f"{where}.{key} {problem}", {f"{where}.{key}": [problem]})

    try:
        institution = Institution(str(raw.get("institution")))
    except ValueError:
        raise bad("institution", f"must be one of {', '.join(Institution)}") from None
    summary = raw.get("summary")
    if not isinstance(summary, str) or not summary.strip():
        raise bad("summary", "must be non-empty text")
    details = raw.get("details") or {}
    if not isinstance(details, dict):
        raise bad("details", "must be the form's fields")
    score = raw.get("score")
    if score is not None and (isinstance(score, bool) or not isinstance(score, int)
                              or not 0 <= score <= 100):
        raise bad("score", "must be a whole number 0–100")
    texts = {k: raw.get(k) or None for k in ("official_code", "post_code")}
    for key, value in texts.items():
        if value is not None and not isinstance(value, str):
            raise bad(key, "must be a code")
    return Entry(institution, summary.strip(), details, texts["official_code"], score,
                 texts["post_code"])


def is_finding(e: Entry) -> bool:
    """The one rule per institution of what is a finding (see the module's docstring)."""
    d = e.details
    if e.institution is Institution.MAJOR_DECISION:
        return d.get("meeting_held") is False
    if e.institution in (Institution.DUTY_REPORT, Institution.PERSONAL_MATTERS):
        return d.get("passed") is False
    if e.institution is Institution.DEMOCRATIC_EVALUATION:
        return e.score is not None and e.score < LOW_SCORE
    if e.institution in (Institution.FOLLOW_UP_VISIT, Institution.UNANNOUNCED_INSPECTION):
        return d.get("problems_found") is True
    return False


def record(uow: UnitOfWork, actor: Actor, unit_code: str, year: int, entries: list[Entry], *,
           instance_id: int | None = None, now: datetime | None = None,
           ) -> list[InstitutionRecord]:
    """Write each entry (no commit: the caller's step owns the transaction); a finding starts
    a disposal of its post. Every code is checked before anything is written."""
    unit = get_unit(uow, unit_code)
    when = now or clock.now(uow)
    checked = [(e, _official(uow, e), _post(uow, unit, e, i)) for i, e in enumerate(entries)]
    rows = []
    for e, official, post in checked:
        finding = is_finding(e)
        row = InstitutionRecord(
            unit=unit, year=year, institution=e.institution.value, official=official,
            summary=e.summary, details=e.details, score=e.score, finding=finding,
            post=post if finding else None, source_instance_id=instance_id,
            recorded_at=when, recorded_by=actor.user)
        uow.session.add(row)
        if finding:
            assert post is not None
            started = disposals.begin(uow, post.code, year, {
                "source": SOURCE, "description": f"{NAMES[e.institution]}发现问题:{e.summary}"},
                actor, now=now)
            row.disposal_instance_id = started.id
        rows.append(row)
    uow.session.flush()
    return rows


def _official(uow: UnitOfWork, e: Entry) -> Official | None:
    return get_official(uow, e.official_code) if e.official_code else None


def _post(uow: UnitOfWork, unit: Unit, e: Entry, index: int) -> Post | None:
    """The finding's post, which must be a post of the unit."""
    if not is_finding(e):
        return None
    if not e.post_code:
        raise ValidationFailed(
            f"entries.{index}.post_code: a finding of {NAMES[e.institution]} starts a disposal "
            "of one post; name the post (岗位编码) the finding is about",
            {f"entries.{index}.post_code": ["required for a finding"]})
    post = get_post(uow, e.post_code)
    if post.department.unit_id != unit.id:
        raise ValidationFailed(
            f"entries.{index}.post_code: post {post.code} is not a post of unit {unit.code}",
            {f"entries.{index}.post_code": [f"not a post of {unit.code}"]})
    return post


def unit_post_problem(uow: UnitOfWork, unit_code: str, post_code: Any) -> str | None:
    """Why ``post_code`` cannot be a finding's post in the unit, or None (the forms' check)."""
    if not isinstance(post_code, str) or not post_code.strip():
        return "name the post (岗位编码) the finding is about"
    post = uow.session.scalar(select(Post).where(Post.code == post_code.strip()))
    if post is None:
        return f"there is no post {post_code.strip()}"
    if post.department.unit.code != unit_code:
        return f"post {post.code} is not a post of unit {unit_code}"
    return None


def records_of(uow: UnitOfWork, unit_code: str, year: int) -> list[InstitutionRecord]:
    """The unit's institutions held in the year, in the order they were recorded."""
    unit = get_unit(uow, unit_code)
    return list(uow.session.scalars(select(InstitutionRecord).where(
        InstitutionRecord.unit_id == unit.id, InstitutionRecord.year == year)
        .order_by(InstitutionRecord.id)))


def evaluation_score(uow: UnitOfWork, unit_code: str, year: int) -> int | None:
    """The unit's latest 民主评议 score of the year, or None if none was held: the unit
    cycle's assessment counts it in 社会评议."""
    unit = get_unit(uow, unit_code)
    return uow.session.scalar(select(InstitutionRecord.score).where(
        InstitutionRecord.unit_id == unit.id, InstitutionRecord.year == year,
        InstitutionRecord.institution == Institution.DEMOCRATIC_EVALUATION.value)
        .order_by(InstitutionRecord.id.desc()).limit(1))


def talk_posts(uow: UnitOfWork, unit_code: str, year: int) -> list[dict[str, Any]]:
    """The unit's posts graded level 2 or 3 in the year, with a holder: each gets a 廉政谈话
    by its responsible leader (level 1 has its talk by the principal in the post's cycle).
    As the task data a lane needs (``post_code``, ``department_code``, ``responsible_role``)."""
    unit = get_unit(uow, unit_code)
    rows = uow.session.scalars(select(PostGrading).join(PostGrading.post).join(Post.department)
                               .where(Department.unit_id == unit.id, PostGrading.year == year,
                                      Post.holder_id.is_not(None))
                               .order_by(Post.code))
    return [{"post_code": g.post.code, "post_name": g.post.name,
             "department_code": g.post.department.code, "post_level": g.effective_level,
             "responsible_role": g.responsible_role,
             "holder_code": g.post.holder.code if g.post.holder else None}
            for g in rows if g.effective_level in (2, 3)]
