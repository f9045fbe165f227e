"""The simulated clock's persisted reading (one row; absent or NULL means system time)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Integer, select
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, UtcDateTime


class ClockState(Base):
    __tablename__ = "clock_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    simulated_now: Mapped[datetime | None] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


CLOCK_ROW = 1


def simulated_now_column() -> Any:
    """The simulated reading as a scalar subquery, so services that lock an instance read
    the clock in the same statement instead of a query of its own."""
    return (select(ClockState.simulated_now).where(ClockState.id == CLOCK_ROW)
            .scalar_subquery().label("simulated_now"))
