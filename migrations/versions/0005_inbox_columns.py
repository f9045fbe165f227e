"""inbox: the organisation a task concerns (unit, department, post) and whether anyone may
claim it (no candidates) on the task row, and the indexes the inbox views filter and sort by;
candidates indexed by task (eligibility checks, loading a task's candidates)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.add_column(sa.Column("unit_code", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("department_code", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("post_code", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("open_to_all", sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.create_index("ix_task_state_unit", ["state", "unit_code", "due_at"],
                              unique=False)
        batch_op.create_index("ix_task_completed_by", ["completed_by", "completed_at"],
                              unique=False)
        batch_op.create_index("ix_task_post_code", ["post_code"], unique=False)
        batch_op.create_index("ix_task_open_to_all", ["open_to_all", "state"], unique=False)
    with op.batch_alter_table("task_candidate", schema=None) as batch_op:
        batch_op.create_index("ix_task_candidate_task_id", ["task_id"], unique=False)
    task = sa.table("task", sa.column("id"), sa.column("open_to_all", sa.Boolean()))
    candidate = sa.table("task_candidate", sa.column("task_id"))
    op.execute(task.update().values(
        open_to_all=~sa.exists().where(candidate.c.task_id == task.c.id)))
    with op.batch_alter_table("process_instance", schema=None) as batch_op:
        batch_op.create_index("ix_process_instance_started_by", ["started_by"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("process_instance", schema=None) as batch_op:
        batch_op.drop_index("ix_process_instance_started_by")
    with op.batch_alter_table("task_candidate", schema=None) as batch_op:
        batch_op.drop_index("ix_task_candidate_task_id")
    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.drop_index("ix_task_open_to_all")
        batch_op.drop_index("ix_task_post_code")
        batch_op.drop_index("ix_task_completed_by")
        batch_op.drop_index("ix_task_state_unit")
        batch_op.drop_column("open_to_all")
        batch_op.drop_column("post_code")
        batch_op.drop_column("department_code")
        batch_op.drop_column("unit_code")
