"""issue 4 — the public feedback's rate limit shared by every process (``rate_limit``: per
scope and keyed address hash, the latest hits, pruned once expired), and the e-mail outbox
(``mail_outbox``: written with its notification, sent after the commit, retried with backoff,
given up after too many attempts or a permanent refusal); ``ix_task_open_to_all`` becomes a
partial index of the tasks without candidates (with planner statistics, the full one looked
useless and 待认领 scanned every task)

Written to match engine/models/rate_limit.py and engine/models/mail.py; UtcDateTime is
sa.DateTime(timezone=True) (no engine imports).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Autoincrementing 64-bit keys as engine.models.base.BigId declares them.
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "rate_limit",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("scope", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("hits", sa.Text(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rate_limit")),
        sa.UniqueConstraint("scope", "key", name=op.f("uq_rate_limit_scope_key")),
    )
    with op.batch_alter_table("rate_limit", schema=None) as batch_op:
        batch_op.create_index("ix_rate_limit_expires_at", ["expires_at"], unique=False)

    op.create_table(
        "mail_outbox",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("notification_id", BIG_ID, nullable=True),
        sa.Column("recipient", sa.String(length=64), nullable=False),
        sa.Column("to_address", sa.String(length=254), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('pending', 'sent', 'failed')",
                           name=op.f("ck_mail_outbox_status")),
        sa.ForeignKeyConstraint(["notification_id"], ["notification.id"],
                                name=op.f("fk_mail_outbox_notification_id_notification"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_outbox")),
    )
    with op.batch_alter_table("mail_outbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_mail_outbox_notification_id"),
                              ["notification_id"], unique=False)
        batch_op.create_index("ix_mail_outbox_status_next", ["status", "next_attempt_at"],
                              unique=False)

    op.drop_index("ix_task_open_to_all", table_name="task")
    op.create_index("ix_task_open_to_all", "task", ["state"], unique=False,
                    sqlite_where=sa.text("open_to_all = 1"),
                    postgresql_where=sa.text("open_to_all"))


def downgrade() -> None:
    op.drop_index("ix_task_open_to_all", table_name="task")
    op.create_index("ix_task_open_to_all", "task", ["open_to_all", "state"], unique=False)
    with op.batch_alter_table("mail_outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_mail_outbox_status_next")
        batch_op.drop_index(batch_op.f("ix_mail_outbox_notification_id"))
    op.drop_table("mail_outbox")
    with op.batch_alter_table("rate_limit", schema=None) as batch_op:
        batch_op.drop_index("ix_rate_limit_expires_at")
    op.drop_table("rate_limit")
