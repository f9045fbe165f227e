"""Reading the risk register: a post's register page, its history, a unit's publicity page.

What the pages show ("建立信息档案": each post's risks, level, measures and owners; "公示":
the levels and the leaders answering for them, "明确监管内容,落实监管责任,接受群众监督"). Results
are loaded in full, so they stay readable after the unit of work ends. Unknown codes raise
``NotFound``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import selectinload

from ...db import UnitOfWork
from ..grading import post_rule_level
from ..models import (
    ControlMeasure,
    Department,
    Post,
    PostGrading,
    RegisterChange,
    RegisterEntity,
    RiskPoint,
    Unit,
)
from .organisation import Leaders, get_post, get_unit, leaders_for


@dataclass(frozen=True)
class PostRegister:
    """What a post's register page shows (objects fully loaded: readable after the unit of
    work ends). ``year`` is the one asked for, else the latest with any record."""

    post: Post
    attributes: dict[str, bool]
    #: By the post's attributes as they are now, by the latest deployed post_grading.dmn (a
    #: grading keeps the level it computed).
    rule_level: int
    year: int | None
    grading: PostGrading | None
    risk_points: list[RiskPoint]
    leaders: Leaders


def _loaded_post(uow: UnitOfWork, post_code: str) -> Post:
    post = uow.session.scalar(select(Post).where(Post.code == post_code).options(
        selectinload(Post.holder),
        selectinload(Post.department).selectinload(Department.unit)))
    return post if post is not None else get_post(uow, post_code)  # raises NotFound


def post_register(uow: UnitOfWork, post_code: str, year: int | None = None) -> PostRegister:
    post = _loaded_post(uow, post_code)
    if year is None:
        years = [uow.session.scalar(select(func.max(model.year)).where(model.post_id == post.id))
                 for model in (RiskPoint, PostGrading)]
        year = max((y for y in years if y is not None), default=None)
    grading = None if year is None else uow.session.scalar(select(PostGrading).where(
        PostGrading.post_id == post.id, PostGrading.year == year))
    points = [] if year is None else list(uow.session.scalars(
        select(RiskPoint).where(RiskPoint.post_id == post.id, RiskPoint.year == year)
        .options(selectinload(RiskPoint.measures).selectinload(ControlMeasure.owner))
        .order_by(RiskPoint.level, RiskPoint.id)))
    return PostRegister(post=post, attributes=post.attributes(),
                        rule_level=post_rule_level(uow, post), year=year, grading=grading,
                        risk_points=points, leaders=leaders_for(uow, post.code))


def post_history(uow: UnitOfWork, post_code: str) -> list[RegisterChange]:
    """Every change to the post's gradings, risk points and their measures, newest first."""
    post = get_post(uow, post_code)
    points = select(RiskPoint.id).where(RiskPoint.post_id == post.id)
    measures = select(ControlMeasure.id).where(ControlMeasure.risk_point_id.in_(points))
    gradings = select(PostGrading.id).where(PostGrading.post_id == post.id)
    return list(uow.session.scalars(select(RegisterChange).where(or_(*(
        and_(RegisterChange.entity == entity.value, RegisterChange.entity_id.in_(ids))
        for entity, ids in ((RegisterEntity.RISK_POINT, points),
                            (RegisterEntity.CONTROL_MEASURE, measures),
                            (RegisterEntity.POST_GRADING, gradings)))))
        .order_by(RegisterChange.id.desc())))


@dataclass(frozen=True)
class PublicityEntry:
    """One line of a unit's publicity page. ``responsible`` and ``direct_manager`` are login
    names (``leaders_for``; None if the position is vacant or has no active login), the
    ``*_name`` fields the officials' names."""

    post_code: str
    post_name: str
    department_code: str
    department_name: str
    level: int
    responsible_role: str
    responsible: str | None
    responsible_name: str | None
    direct_manager_role: str
    direct_manager: str | None
    direct_manager_name: str | None
    published_at: datetime


def _leader_name(unit: Unit, department: Department, role: str) -> str | None:
    official = {"principal": unit.principal, "deputy_in_charge": department.deputy_in_charge,
                "department_head": department.head}[role]
    return official.name if official is not None else None


def unit_publicity(uow: UnitOfWork, unit_code: str, year: int) -> list[PublicityEntry]:
    """The published levels of a unit's posts for ``year`` with the leaders who answer for
    and directly manage each ("明确监管内容,落实监管责任,接受群众监督")."""
    unit = get_unit(uow, unit_code)
    gradings = uow.session.scalars(
        select(PostGrading).join(PostGrading.post).join(Post.department)
        .where(Department.unit_id == unit.id, PostGrading.year == year,
               PostGrading.published_at.is_not(None))
        .options(selectinload(PostGrading.post).selectinload(Post.department))
        .order_by(Department.code, Post.code))
    entries = []
    for grading in gradings:
        post, department = grading.post, grading.post.department
        leaders = leaders_for(uow, post.code)
        assert grading.published_at is not None
        entries.append(PublicityEntry(
            post_code=post.code, post_name=post.name, department_code=department.code,
            department_name=department.name, level=grading.effective_level,
            responsible_role=grading.responsible_role,
            responsible=getattr(leaders, grading.responsible_role),
            responsible_name=_leader_name(unit, department, grading.responsible_role),
            direct_manager_role=grading.direct_manager_role,
            direct_manager=getattr(leaders, grading.direct_manager_role),
            direct_manager_name=_leader_name(unit, department, grading.direct_manager_role),
            published_at=grading.published_at))
    return entries
