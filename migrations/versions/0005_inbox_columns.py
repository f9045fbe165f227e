"""inbox: the organisation a task concerns (unit, department, post) on the task row, and the
indexes the inbox views filter and sort by

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
        batch_op.create_index("ix_task_state_unit", ["state", "unit_code", "due_at"],
                              unique=False)
        batch_op.create_index("ix_task_completed_by", ["completed_by", "completed_at"],
                              unique=False)
        batch_op.create_index("ix_task_post_code", ["post_code"], unique=False)
    with op.batch_alter_table("process_instance", schema=None) as batch_op:
        batch_op.create_index("ix_process_instance_started_by", ["started_by"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("process_instance", schema=None) as batch_op:
        batch_op.drop_index("ix_process_instance_started_by")
    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.drop_index("ix_task_post_code")
        batch_op.drop_index("ix_task_completed_by")
        batch_op.drop_index("ix_task_state_unit")
        batch_op.drop_column("post_code")
        batch_op.drop_column("department_code")
        batch_op.drop_column("unit_code")
