"""中期监控制度 (the monitoring institutions) as the register keeps them: one row per
institution held — a leader's 个人有关事项报告 and its review, a 述职述廉 and the commission's
verdict, a 民主生活会 with its record, a 民主评议 score, a 三重一大 collective decision with its
attendance, votes and dissent, a 廉政谈话, a 回访座谈 or 明察暗访 — with the finding it raised
and the 后期处置 that finding started.

Source: "认真落实廉政谈话、报告个人有关事项、述职述廉、民主生活会、民主评议等制度……凡涉及重大事项
决策、重要人事任免、重大项目安排和大额资金使用等事项,必须经单位领导班子集体研究决定". Rows are only
ever inserted (``register_institutions.record``): what was held stays as it was held.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ...models.base import Base, BigId, UtcDateTime, one_of
from .org import Official, Post, Unit


class Institution(StrEnum):
    """The institutions of 中期监控 (GLOSSARY: monitoring)."""

    PERSONAL_MATTERS = "personal_matters"  # 报告个人有关事项
    DUTY_REPORT = "duty_report"  # 述职述廉
    DEMOCRATIC_LIFE_MEETING = "democratic_life_meeting"  # 民主生活会
    DEMOCRATIC_EVALUATION = "democratic_evaluation"  # 民主评议
    MAJOR_DECISION = "major_decision"  # 三重一大 集体决策
    INTEGRITY_TALK = "integrity_talk"  # 廉政谈话
    FOLLOW_UP_VISIT = "follow_up_visit"  # 回访座谈
    UNANNOUNCED_INSPECTION = "unannounced_inspection"  # 明察暗访


class InstitutionRecord(Base):
    """One institution held in a unit's year: who it concerned (``official``), what was
    recorded (``summary``, the form's fields in ``details``), a 民主评议 ``score``, and — when
    it found a problem — the post the finding is about and the disposal it started."""

    __tablename__ = "institution_record"
    __table_args__ = (
        CheckConstraint(one_of("institution", Institution), name="institution"),
        CheckConstraint("score IS NULL OR (score >= 0 AND score <= 100)", name="score"),
        Index("ix_institution_record_unit_year", "unit_id", "year"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    year: Mapped[int] = mapped_column(Integer)
    institution: Mapped[str] = mapped_column(String(32))
    #: The leader it concerned (a report, a review, a talk), if one.
    official_id: Mapped[int | None] = mapped_column(ForeignKey("official.id"), index=True)
    summary: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: 民主评议: 0–100.
    score: Mapped[int | None] = mapped_column(Integer)
    finding: Mapped[bool] = mapped_column(Boolean)
    #: The post a finding is about (a disposal is always of one post).
    post_id: Mapped[int | None] = mapped_column(ForeignKey("post.id"), index=True)
    disposal_instance_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("process_instance.id", ondelete="SET NULL"))
    #: The institutions instance whose task recorded it.
    source_instance_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("process_instance.id", ondelete="SET NULL"), index=True)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime)
    recorded_by: Mapped[str] = mapped_column(String(255))

    unit: Mapped[Unit] = relationship()
    official: Mapped[Official | None] = relationship()
    post: Mapped[Post | None] = relationship()
