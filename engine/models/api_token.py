"""Personal API tokens: a login's credentials for scripts and other programs.

Only a digest is stored — sha256 of the token's random 32-byte secret — so the table is
worthless to whoever reads it; the token itself is shown once, when it is created. ``prefix``
(the token's first characters) lets a person tell their tokens apart.

The account a token belongs to is named by its foreign key only (``account.id``): the
runtime does not own accounts — its directory says who a login is (``engine.directory``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, UtcDateTime


class ApiToken(Base):
    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("account.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    #: Hex sha256 of the secret's 32 bytes: what a presented token is looked up by.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    def usable_at(self, now: datetime) -> bool:
        return self.revoked_at is None and now < self.expires_at
