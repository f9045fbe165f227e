"""scheduler: the job store of APScheduler's SQLAlchemyJobStore (apscheduler_jobs)

The table APScheduler 3.x's ``SQLAlchemyJobStore`` declares — id VARCHAR(191) primary key,
next_run_time FLOAT(25) indexed (a UTC POSIX timestamp, NULL while a job is paused),
job_state the pickled job — so the job store finds it at start and creates nothing itself.
Leadership needs no table: a PostgreSQL session-level advisory lock (or, on SQLite, a lock
file beside the database) says which scheduler process leads.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "apscheduler_jobs",
        sa.Column("id", sa.Unicode(length=191), nullable=False),
        sa.Column("next_run_time", sa.Float(precision=25), nullable=True),
        sa.Column("job_state", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_apscheduler_jobs")),
    )
    with op.batch_alter_table("apscheduler_jobs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_apscheduler_jobs_next_run_time"),
                              ["next_run_time"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("apscheduler_jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_apscheduler_jobs_next_run_time"))
    op.drop_table("apscheduler_jobs")
