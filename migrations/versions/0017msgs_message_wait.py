"""issue 12 — messages: ``message_wait``, the waiting message catches with the correlation
values they compare (and the waiting signal catches, ``kind``), so a message or signal sent
without a target instance finds its receivers by name (an index on ``name``) instead of
loading every workflow.

Instances already waiting for a message get their rows the next time they are saved; until
then they are reached only by a message naming the instance (as before this revision).

Revision ID: 0017msgs
Revises: 0016
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017msgs"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "message_wait",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  nullable=False),
        sa.Column("task_id", sa.Uuid(), nullable=False),
        sa.Column("element_id", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("correlations", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["instance_id"], ["process_instance.id"],
                                name=op.f("fk_message_wait_instance_id_process_instance"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message_wait")),
    )
    with op.batch_alter_table("message_wait", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_message_wait_instance_id"), ["instance_id"],
                              unique=False)
        batch_op.create_index(batch_op.f("ix_message_wait_name"), ["name"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("message_wait", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_message_wait_name"))
        batch_op.drop_index(batch_op.f("ix_message_wait_instance_id"))
    op.drop_table("message_wait")
