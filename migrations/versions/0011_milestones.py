"""issue 5 — campaign milestone plans (工作节点): a plan per campaign instance, its milestones
(dates, warning days, coverage rule, when warned and evaluated) and the report each deadline
writes (coverage per unit and overall, with the reasons a unit is late)

Written by hand from engine/programme/models/milestone.py; UtcDateTime is
sa.DateTime(timezone=True).

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Autoincrementing 64-bit keys as engine.models.base.BigId declares them.
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "milestone_plan",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instance_id", BIG_ID, nullable=False),
        sa.Column("business_key", sa.String(length=255), nullable=True),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("units", sa.JSON(), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(["instance_id"], ["process_instance.id"],
                                name=op.f("fk_milestone_plan_instance_id_process_instance"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_milestone_plan")),
        sa.UniqueConstraint("instance_id", name=op.f("uq_milestone_plan_instance_id")),
    )
    with op.batch_alter_table("milestone_plan", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_milestone_plan_business_key"), ["business_key"],
                              unique=False)

    op.create_table(
        "milestone",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=64), nullable=False),
        sa.Column("rule", sa.String(length=32), nullable=False),
        sa.Column("due_at", WHEN, nullable=False),
        sa.Column("warn_days", sa.Integer(), nullable=False),
        sa.Column("warned_at", WHEN, nullable=True),
        sa.Column("evaluated_at", WHEN, nullable=True),
        sa.Column("yellow_cards", sa.Integer(), nullable=False),
        sa.Column("red_cards", sa.Integer(), nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.Column("updated_by", sa.String(length=255), nullable=True),
        sa.ForeignKeyConstraint(["plan_id"], ["milestone_plan.id"],
                                name=op.f("fk_milestone_plan_id_milestone_plan"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_milestone")),
        sa.UniqueConstraint("plan_id", "name", name=op.f("uq_milestone_plan_id_name")),
    )
    with op.batch_alter_table("milestone", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_milestone_plan_id"), ["plan_id"], unique=False)

    op.create_table(
        "milestone_report",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("milestone_id", sa.Integer(), nullable=False),
        sa.Column("instance_id", BIG_ID, nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("rule", sa.String(length=32), nullable=False),
        sa.Column("due_at", WHEN, nullable=False),
        sa.Column("evaluated_at", WHEN, nullable=False),
        sa.Column("units_total", sa.Integer(), nullable=False),
        sa.Column("units_on_track", sa.Integer(), nullable=False),
        sa.Column("units", sa.JSON(), nullable=False),
        sa.Column("red_cards", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["milestone_id"], ["milestone.id"],
                                name=op.f("fk_milestone_report_milestone_id_milestone"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_milestone_report")),
        sa.UniqueConstraint("milestone_id", name=op.f("uq_milestone_report_milestone_id")),
    )
    with op.batch_alter_table("milestone_report", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_milestone_report_instance_id"), ["instance_id"],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table("milestone_report", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_milestone_report_instance_id"))
    op.drop_table("milestone_report")
    with op.batch_alter_table("milestone", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_milestone_plan_id"))
    op.drop_table("milestone")
    with op.batch_alter_table("milestone_plan", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_milestone_plan_business_key"))
    op.drop_table("milestone_plan")
