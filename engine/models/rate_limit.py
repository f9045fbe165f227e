"""Rate limits shared by every process on the database (the public feedback form's, per
address).

One row per scope and key — the key a keyed hash (``services.feedback.hash_address``), never
an address — holding the times of the key's latest hits inside the window (at most the
limit's number of them: older ones cannot decide anything). A request locks its row, so two
workers counting the same address queue instead of both letting a request through; a row
whose every hit has left the window (``expires_at`` passed) is pruned.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, BigId, UtcDateTime


class RateLimit(Base):
    __tablename__ = "rate_limit"
    __table_args__ = (
        UniqueConstraint("scope", "key"),
        Index("ix_rate_limit_expires_at", "expires_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    #: What is limited (``feedback``).
    scope: Mapped[str] = mapped_column(String(32))
    #: Whose hits (hex HMAC-SHA256 of the client address).
    key: Mapped[str] = mapped_column(String(64))
    #: JSON list of the hits' UNIX times, oldest first.
    hits: Mapped[str] = mapped_column(Text)
    #: When the newest hit leaves the window: from then on the row says nothing.
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
