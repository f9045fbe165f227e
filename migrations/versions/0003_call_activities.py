"""call activities run as child instances: link a child to its caller

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("process_instance", schema=None) as batch_op:
        batch_op.add_column(sa.Column(
            "parent_instance_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True))
        batch_op.add_column(sa.Column("parent_task_id", sa.Uuid(), nullable=True))
        batch_op.create_index(batch_op.f("ix_process_instance_parent_instance_id"),
                              ["parent_instance_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_process_instance_parent_instance_id_process_instance"),
            "process_instance", ["parent_instance_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("process_instance", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_process_instance_parent_instance_id_process_instance"),
            type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_process_instance_parent_instance_id"))
        batch_op.drop_column("parent_task_id")
        batch_op.drop_column("parent_instance_id")
