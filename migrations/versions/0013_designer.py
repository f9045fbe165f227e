"""issue 6 — designer drafts: a .bpmn/.dmn file saved in the editor without deploying it
(one per file name, who saved it and when)

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Autoincrementing 64-bit keys as engine.models.base.BigId declares them.
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "design_draft",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("process_id", sa.String(length=255), nullable=True),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("saved_by", sa.String(length=255), nullable=False),
        sa.Column("saved_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_design_draft")),
        sa.UniqueConstraint("filename", name=op.f("uq_design_draft_filename")),
    )
    with op.batch_alter_table("design_draft", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_design_draft_process_id"), ["process_id"],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table("design_draft", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_design_draft_process_id"))
    op.drop_table("design_draft")
