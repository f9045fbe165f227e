"""issue 15 point 1 — the 中期监控 institutions in the register: ``institution_record``, one
row per institution held (个人有关事项报告, 述职述廉, 民主生活会, 民主评议, 三重一大, 廉政谈话,
回访座谈, 明察暗访) with the finding it raised and the disposal that finding started.

Written by hand from engine/programme/models/institution.py; the institutions' codes are
frozen here as they are at this revision.

Revision ID: 0021inst
Revises: 0016
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021inst"
down_revision: str | None = "0020jobs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WHEN = sa.DateTime(timezone=True)
INSTITUTIONS = ("personal_matters", "duty_report", "democratic_life_meeting",
                "democratic_evaluation", "major_decision", "integrity_talk", "follow_up_visit",
                "unannounced_inspection")


def upgrade() -> None:
    op.create_table(
        "institution_record",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("institution", sa.String(length=32), nullable=False),
        sa.Column("official_id", sa.Integer(), nullable=True),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("finding", sa.Boolean(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=True),
        sa.Column("disposal_instance_id", BIG_ID, nullable=True),
        sa.Column("source_instance_id", BIG_ID, nullable=True),
        sa.Column("recorded_at", WHEN, nullable=False),
        sa.Column("recorded_by", sa.String(length=255), nullable=False),
        sa.CheckConstraint("institution IN ({})".format(", ".join(f"'{i}'" for i in INSTITUTIONS)),
                           name=op.f("ck_institution_record_institution")),
        sa.CheckConstraint("score IS NULL OR (score >= 0 AND score <= 100)",
                           name=op.f("ck_institution_record_score")),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"],
                                name=op.f("fk_institution_record_unit_id_unit")),
        sa.ForeignKeyConstraint(["official_id"], ["official.id"],
                                name=op.f("fk_institution_record_official_id_official")),
        sa.ForeignKeyConstraint(["post_id"], ["post.id"],
                                name=op.f("fk_institution_record_post_id_post")),
        sa.ForeignKeyConstraint(
            ["disposal_instance_id"], ["process_instance.id"],
            name=op.f("fk_institution_record_disposal_instance_id_process_instance"),
            ondelete="SET NULL"),
        sa.ForeignKeyConstraint(
            ["source_instance_id"], ["process_instance.id"],
            name=op.f("fk_institution_record_source_instance_id_process_instance"),
            ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_institution_record")),
    )
    with op.batch_alter_table("institution_record", schema=None) as batch_op:
        batch_op.create_index("ix_institution_record_unit_year", ["unit_id", "year"],
                              unique=False)
        batch_op.create_index(batch_op.f("ix_institution_record_official_id"),
                              ["official_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_institution_record_post_id"), ["post_id"],
                              unique=False)
        batch_op.create_index(batch_op.f("ix_institution_record_source_instance_id"),
                              ["source_instance_id"], unique=False)


def downgrade() -> None:
    op.drop_table("institution_record")
