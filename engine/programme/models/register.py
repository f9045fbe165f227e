"""The risk register (信息档案): risk points, their control measures, post gradings, history.

"排查廉政风险……主要包括:广泛宣传发动、查找廉政风险、确定风险等级和建立信息档案" — the register
keeps what discovery found at the three tiers ("从单位、内设机构、岗位'三个层次'"), how each risk
was graded, the measures taken against it ("前期预防、中期监控、后期处置") and who answers for each
post ("分级管理、分级负责"). Every change to these rows is also written, one field at a time, to
``register_change``, which is only ever inserted into.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ...models.audit import Chained
from ...models.base import Base, BigId, UtcDateTime, one_of
from .org import Department, Official, Post, Unit


class RiskCategory(StrEnum):
    """"重点是排查4类风险"."""

    DUTY = "duty"  # 岗位职责风险
    PROCESS = "process"  # 业务流程风险
    INSTITUTIONAL = "institutional"  # 制度机制风险
    EXTERNAL = "external"  # 外部环境风险


class FoundBy(StrEnum):
    """"自己找、群众提、互相查、领导点、组织评5种方法和利用举报投诉、财务审计、执法检查、问卷调查等
    专用监督渠道和手段"."""

    SELF_IDENTIFIED = "self_identified"
    PUBLIC_SUGGESTED = "public_suggested"
    PEER_CHECKED = "peer_checked"
    LEADER_POINTED = "leader_pointed"
    ORGANIZATION_REVIEWED = "organization_reviewed"
    COMPLAINT = "complaint"
    FINANCIAL_AUDIT = "financial_audit"
    ENFORCEMENT_INSPECTION = "enforcement_inspection"
    QUESTIONNAIRE = "questionnaire"


class Likelihood(StrEnum):
    """"根据岗位风险发生的几率大小": 几率高 / 几率较高 / 几率较小."""

    HIGH = "high"
    FAIRLY_HIGH = "fairly_high"
    LOW = "low"


class Harm(StrEnum):
    """"可能造成的危害程度": 构成犯罪 / 受到纪律处分 / 不良社会影响或一定经济损失."""

    CRIME = "crime"
    DISCIPLINARY = "disciplinary"
    MINOR = "minor"


class RiskStatus(StrEnum):
    IDENTIFIED = "identified"  # found (查找廉政风险)
    GRADED = "graded"  # its post was graded (确定风险等级)
    PUBLISHED = "published"  # the unit's levels were published (公示)
    CONTROLLED = "controlled"  # measures are in place (健全防控措施)
    CLOSED = "closed"


class MeasureKind(StrEnum):
    PREVENTION = "prevention"  # 前期预防
    MONITORING = "monitoring"  # 中期监控
    DISPOSAL = "disposal"  # 后期处置


class MeasureStatus(StrEnum):
    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    DONE = "done"


class RegisterEntity(StrEnum):
    """What a ``RegisterChange`` row is about (the table of ``entity_id``)."""

    RISK_POINT = "risk_point"
    CONTROL_MEASURE = "control_measure"
    POST_GRADING = "post_grading"


LEVEL_CHECK = "{0} IN (1, 2, 3)"


class RiskPoint(Base):
    """廉政风险点: one risk found at exactly one tier (unit, department or post) in one
    campaign year. ``level`` is ``engine.programme.grading.risk_level(likelihood, harm)``, kept in
    step
    by the services."""

    __tablename__ = "risk_point"
    __table_args__ = (
        CheckConstraint(
            "(CASE WHEN unit_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN department_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN post_id IS NULL THEN 0 ELSE 1 END) = 1",
            name="one_tier"),
        CheckConstraint(one_of("category", RiskCategory), name="category"),
        CheckConstraint(one_of("found_by", FoundBy), name="found_by"),
        CheckConstraint(one_of("likelihood", Likelihood), name="likelihood"),
        CheckConstraint(one_of("harm", Harm), name="harm"),
        CheckConstraint(LEVEL_CHECK.format("level"), name="level"),
        CheckConstraint(one_of("status", RiskStatus), name="status"),
        Index("ix_risk_point_post_year", "post_id", "year"),
        Index("ix_risk_point_department_year", "department_id", "year"),
        Index("ix_risk_point_unit_year", "unit_id", "year"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"))
    post_id: Mapped[int | None] = mapped_column(ForeignKey("post.id"))
    #: The campaign year the risk was found in.
    year: Mapped[int] = mapped_column(Integer)
    category: Mapped[str] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(Text)
    found_by: Mapped[str] = mapped_column(String(32))
    likelihood: Mapped[str] = mapped_column(String(16))
    harm: Mapped[str] = mapped_column(String(16))
    level: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_by: Mapped[str] = mapped_column(String(255))
    #: The process instance whose task recorded it (a discovery form), if any.
    source_instance_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("process_instance.id", ondelete="SET NULL"), index=True)

    unit: Mapped[Unit | None] = relationship()
    department: Mapped[Department | None] = relationship()
    post: Mapped[Post | None] = relationship()
    measures: Mapped[list[ControlMeasure]] = relationship(
        back_populates="risk_point", order_by="ControlMeasure.id")

    @property
    def tier(self) -> str:
        """``unit``, ``department`` or ``post``."""
        if self.post_id is not None:
            return "post"
        return "department" if self.department_id is not None else "unit"


class ControlMeasure(Base):
    """防控措施 against one risk point, with an owner (落实监管责任) and a due date."""

    __tablename__ = "control_measure"
    __table_args__ = (
        CheckConstraint(one_of("kind", MeasureKind), name="kind"),
        CheckConstraint(one_of("status", MeasureStatus), name="status"),
        CheckConstraint("(status = 'done' AND done_at IS NOT NULL)"
                        " OR (status <> 'done' AND done_at IS NULL)", name="done_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    risk_point_id: Mapped[int] = mapped_column(ForeignKey("risk_point.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(Text)
    owner_id: Mapped[int] = mapped_column(ForeignKey("official.id"), index=True)
    due_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16))
    done_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_by: Mapped[str] = mapped_column(String(255))

    risk_point: Mapped[RiskPoint] = relationship(back_populates="measures")
    owner: Mapped[Official] = relationship()


class PostGrading(Base):
    """确定风险等级 for one post in one campaign year.

    ``level`` is the rule's answer: the most severe of ``rule_level`` (the post's attributes)
    and ``risk_level`` (its risk points of the year). A reviewer may set ``override_level``,
    only with a written reason ("严格审核把关"); ``effective_level`` is what is published and
    routed, and the two roles follow it.
    """

    __tablename__ = "post_grading"
    __table_args__ = (
        UniqueConstraint("post_id", "year"),
        CheckConstraint(LEVEL_CHECK.format("rule_level"), name="rule_level"),
        CheckConstraint(f"risk_level IS NULL OR {LEVEL_CHECK.format('risk_level')}",
                        name="risk_level"),
        CheckConstraint(LEVEL_CHECK.format("level"), name="level"),
        CheckConstraint(
            f"override_level IS NULL OR ({LEVEL_CHECK.format('override_level')}"
            " AND override_reason IS NOT NULL AND overridden_by IS NOT NULL)",
            name="override"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("post.id"))
    year: Mapped[int] = mapped_column(Integer)
    rule_level: Mapped[int] = mapped_column(Integer)
    #: None while the post has no risk point that year.
    risk_level: Mapped[int | None] = mapped_column(Integer)
    level: Mapped[int] = mapped_column(Integer)
    override_level: Mapped[int | None] = mapped_column(Integer)
    override_reason: Mapped[str | None] = mapped_column(Text)
    overridden_by: Mapped[str | None] = mapped_column(String(255))
    #: ``engine.models.Role`` values from the responsibility rule.
    responsible_role: Mapped[str] = mapped_column(String(32))
    direct_manager_role: Mapped[str] = mapped_column(String(32))
    graded_at: Mapped[datetime] = mapped_column(UtcDateTime)
    graded_by: Mapped[str] = mapped_column(String(255))
    published_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    post: Mapped[Post] = relationship()

    @property
    def effective_level(self) -> int:
        return self.level if self.override_level is None else self.override_level


class RegisterChange(Chained, Base):
    """One field of one register row changing: append-only (the migration adds triggers that
    refuse UPDATE and DELETE) and hash-chained (written only through
    ``engine.audit_chain.append``, by ``register_writes.History``). A row's creation is one
    change per field set, old value NULL. Values are text: codes for references, ISO 8601
    for dates and times."""

    __tablename__ = "register_change"
    __table_args__ = (
        CheckConstraint(one_of("entity", RegisterEntity), name="entity"),
        Index("ix_register_change_entity", "entity", "entity_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[int] = mapped_column(Integer)
    field: Mapped[str] = mapped_column(String(64))
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)
    changed_by: Mapped[str] = mapped_column(String(255))
    changed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    reason: Mapped[str | None] = mapped_column(Text)
