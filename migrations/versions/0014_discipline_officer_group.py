"""issue 10 — one name per concept: a unit's discipline officer's scoped group is
``discipline_officer:<unit>`` (the lane's name), no longer ``discipline_commission:<unit>``,
which read as the city's commission (the unscoped ``discipline_commission`` role). Open tasks
routed to the old group name follow.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD, NEW = "discipline_commission:", "discipline_officer:"


def _rename(old: str, new: str) -> None:
    op.execute(f"UPDATE task_candidate SET name = '{new}' || substr(name, {len(old) + 1}) "
               f"WHERE kind = 'group' AND name LIKE '{old}%'")


def upgrade() -> None:
    _rename(OLD, NEW)


def downgrade() -> None:
    _rename(NEW, OLD)
