"""Public feedback (群众提): what members of the public send about a post while its levels are
published (公示) — "接受群众监督".

Every feedback that is not a robot's (the honeypot) is kept here, whether or not a process
took it: ``instance_id`` names the post cycle it was delivered to as the message
``public_suggestion``; without one (no cycle was waiting for it) it stays *pending* until the
unit's discipline officer marks it handled, so nothing a citizen sends is lost. The sender's
address is kept only as a keyed hash (``address_hash``), enough to see many messages from one
place without storing anyone's IP address.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ...models.base import Base, BigId, UtcDateTime


class Feedback(Base):
    __tablename__ = "feedback"
    __table_args__ = (
        Index("ix_feedback_unit_created", "unit_code", "created_at"),
        Index("ix_feedback_post_code", "post_code"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    post_code: Mapped[str] = mapped_column(String(64))
    unit_code: Mapped[str] = mapped_column(String(64))
    #: The year of the publicity page it was sent from (None: not known, e.g. from the API).
    year: Mapped[int | None] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    contact: Mapped[str | None] = mapped_column(String(200))
    #: HMAC-SHA256 of the sender's address under the app's secret; never the address itself.
    address_hash: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    #: The process instance that received it as ``public_suggestion``; None: pending.
    instance_id: Mapped[int | None] = mapped_column(
        ForeignKey("process_instance.id", ondelete="SET NULL"), index=True)
    #: Undelivered feedback the discipline officer has dealt with, when and by whom.
    handled_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    handled_by: Mapped[str | None] = mapped_column(String(64))
    handling_note: Mapped[str | None] = mapped_column(Text)

    @property
    def delivered(self) -> bool:
        return self.instance_id is not None

    @property
    def pending(self) -> bool:
        return self.instance_id is None and self.handled_at is None
