"""issue 14 point 5 / issue 16 point 4 — background jobs (``job``): bulk instance starts run
by the scheduler in batched transactions, with their progress, who asked and how they ended.

Written by hand against engine/models/job.py; UtcDateTime is written as
sa.DateTime(timezone=True) (no engine imports).

Revision ID: 0020jobs
Revises: 0016
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020jobs"
down_revision: str | None = "0017msgs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "job",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.Column("instance_id", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("started_by", sa.String(length=255), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("started_at", TS, nullable=True),
        sa.Column("finished_at", TS, nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job")),
    )
    op.create_index("ix_job_status_id", "job", ["status", "id"])
    op.create_index("ix_job_instance", "job", ["instance_id", "status"])
    op.create_index("ix_job_created", "job", ["created_at", "id"])


def downgrade() -> None:
    op.drop_table("job")
