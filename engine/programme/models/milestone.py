"""A campaign's milestone plan (工作节点) and the reports written at each deadline.

The source sets four dates for the city — launch by 2010-12-31, rollout in every department
by 2011-06-30, an initial network over every post by 2011-12-31, a long-term mechanism by
2012-12-31. A plan belongs to one running ``campaign`` instance: its BPMN timers fire the
warning and the deadline of each milestone, and the plan rows say what the dates are (the
timers are re-timed when a row is edited), whom the warning was sent to and what the
deadline found. Rows are written in the campaign's own transaction by its service tasks, so
a plan never disagrees with the timers that drive it.

A report is written once, at the deadline, and never changed afterwards: it is what the
discipline commission's checkpoint task (the escalation) is about.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ...models.base import Base, BigId, UtcDateTime


class MilestonePlan(Base):
    """The plan of one campaign instance: its year and the units it covers."""

    __tablename__ = "milestone_plan"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(
        ForeignKey("process_instance.id", ondelete="CASCADE"), unique=True)
    business_key: Mapped[str | None] = mapped_column(String(255), index=True)
    year: Mapped[int] = mapped_column(Integer)
    #: The unit codes the campaign runs a cycle for, in its order.
    units: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)

    milestones: Mapped[list[Milestone]] = relationship(
        back_populates="plan", order_by="Milestone.position", cascade="all, delete-orphan")


class Milestone(Base):
    __tablename__ = "milestone"
    __table_args__ = (UniqueConstraint("plan_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("milestone_plan.id", ondelete="CASCADE"),
                                         index=True)
    #: launch, rollout, initial_network, long_term_mechanism — also the BPMN element suffix.
    name: Mapped[str] = mapped_column(String(32))
    position: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(64))
    #: The coverage rule the deadline applies (``engine.programme.coverage.RULES``).
    rule: Mapped[str] = mapped_column(String(32))
    due_at: Mapped[datetime] = mapped_column(UtcDateTime)
    #: The yellow card goes out this many days before ``due_at``.
    warn_days: Mapped[int] = mapped_column(Integer)
    warned_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    evaluated_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    yellow_cards: Mapped[int] = mapped_column(Integer, default=0)
    red_cards: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_by: Mapped[str | None] = mapped_column(String(255))

    plan: Mapped[MilestonePlan] = relationship(back_populates="milestones")
    report: Mapped[MilestoneReport | None] = relationship(back_populates="milestone",
                                                          uselist=False)


class MilestoneReport(Base):
    """Coverage at a deadline, per unit and overall, with why each late unit is late.

    ``units`` holds one entry per unit: ``{unit_code, unit_name, on_track, done, total,
    reasons: [{code, text, items}], principal}`` — copied at the deadline, so the report
    still reads the same after the organisation changes.
    """

    __tablename__ = "milestone_report"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    milestone_id: Mapped[int] = mapped_column(
        ForeignKey("milestone.id", ondelete="CASCADE"), unique=True)
    instance_id: Mapped[int] = mapped_column(BigId, index=True)
    name: Mapped[str] = mapped_column(String(32))
    rule: Mapped[str] = mapped_column(String(32))
    due_at: Mapped[datetime] = mapped_column(UtcDateTime)
    evaluated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    units_total: Mapped[int] = mapped_column(Integer)
    units_on_track: Mapped[int] = mapped_column(Integer)
    units: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    red_cards: Mapped[int] = mapped_column(Integer, default=0)

    milestone: Mapped[Milestone] = relationship(back_populates="report")

    @property
    def coverage(self) -> float:
        """Share of units on track, 0.0–1.0 (1.0 for a campaign without units)."""
        return self.units_on_track / self.units_total if self.units_total else 1.0

    @property
    def late_units(self) -> list[str]:
        return [u["unit_code"] for u in self.units if not u["on_track"]]
