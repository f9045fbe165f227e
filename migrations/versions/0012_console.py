"""issue 6 — the administrator console: audit log, saved instance filters, batch operations
with their per-instance report, instance variables mirrored for filtering, and the indexes
the instance list and the heatmap need at 100,000 instances

Written by hand against the models (engine/models/audit.py, saved_filter.py, batch.py,
variable.py); UtcDateTime is written as sa.DateTime(timezone=True) (no engine imports).

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Autoincrementing 64-bit keys as engine.models.base.BigId declares them.
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "admin_audit",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("clock_at", TS, nullable=True),
        sa.Column("actor", sa.String(length=255), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target", sa.String(length=255), nullable=False),
        sa.Column("instance_id", sa.BigInteger(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_admin_audit")),
    )
    op.create_index("ix_admin_audit_at", "admin_audit", ["at", "id"])
    op.create_index("ix_admin_audit_actor_at", "admin_audit", ["actor", "at"])
    op.create_index("ix_admin_audit_action_at", "admin_audit", ["action", "at"])
    op.create_index("ix_admin_audit_instance", "admin_audit", ["instance_id", "at"])

    op.create_table(
        "saved_filter",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("query", sa.JSON(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_filter")),
        sa.UniqueConstraint("owner", "name", name=op.f("uq_saved_filter_owner_name")),
    )

    op.create_table(
        "instance_variable",
        sa.Column("instance_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(["instance_id"], ["process_instance.id"],
                                name=op.f("fk_instance_variable_instance_id_process_instance"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("instance_id", "name", name=op.f("pk_instance_variable")),
    )
    op.create_index("ix_instance_variable_lookup", "instance_variable",
                    ["name", "value", "instance_id"])

    op.create_table(
        "batch_operation",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("operation", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("query", sa.JSON(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("succeeded", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("finished_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_batch_operation")),
    )
    op.create_index("ix_batch_operation_created", "batch_operation", ["created_at"])
    op.create_table(
        "batch_item",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("batch_id", BIG_ID, nullable=False),
        sa.Column("instance_id", sa.BigInteger(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("done_at", TS, nullable=True),
        sa.ForeignKeyConstraint(["batch_id"], ["batch_operation.id"],
                                name=op.f("fk_batch_item_batch_id_batch_operation"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_batch_item")),
    )
    op.create_index("ix_batch_item_batch_outcome", "batch_item", ["batch_id", "outcome", "id"])

    # The instance list sorts by start or update time within a status or a definition, and
    # the heatmap counts open tasks and events per element of one definition.
    op.create_index("ix_process_instance_status_updated", "process_instance",
                    ["status", "updated_at", "id"])
    op.create_index("ix_process_instance_started", "process_instance", ["started_at", "id"])
    op.create_index("ix_process_instance_definition_status", "process_instance",
                    ["definition_id", "status", "id"])
    op.create_index("ix_task_element_state", "task", ["element_id", "state", "instance_id"])
    op.create_index("ix_task_definition_state", "task", ["definition_id", "state", "element_id"])
    op.create_index("ix_instance_event_type_instance", "instance_event", ["type", "instance_id"])


def downgrade() -> None:
    op.drop_index("ix_instance_event_type_instance", table_name="instance_event")
    op.drop_index("ix_task_definition_state", table_name="task")
    op.drop_index("ix_task_element_state", table_name="task")
    op.drop_index("ix_process_instance_definition_status", table_name="process_instance")
    op.drop_index("ix_process_instance_started", table_name="process_instance")
    op.drop_index("ix_process_instance_status_updated", table_name="process_instance")
    op.drop_table("batch_item")
    op.drop_table("batch_operation")
    op.drop_table("instance_variable")
    op.drop_table("saved_filter")
    op.drop_table("admin_audit")
