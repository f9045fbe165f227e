"""The project clock as a service: system time, or a simulated time stored in the database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from ..clock import Clock, FrozenClock, SystemClock
from ..db import UnitOfWork
from ..errors import ValidationFailed
from ..models import CLOCK_ROW, ClockState


def _row(uow: UnitOfWork) -> ClockState | None:
    return uow.session.scalar(select(ClockState).where(ClockState.id == CLOCK_ROW))


def current_clock(uow: UnitOfWork) -> Clock:
    """The clock in force for this transaction: the simulated reading if one is set."""
    row = _row(uow)
    if row is not None and row.simulated_now is not None:
        return FrozenClock(row.simulated_now)
    return SystemClock()


def now(uow: UnitOfWork) -> datetime:
    return current_clock(uow).now()


def is_simulated(uow: UnitOfWork) -> bool:
    row = _row(uow)
    return row is not None and row.simulated_now is not None


def set_clock(uow: UnitOfWork, at: datetime) -> datetime:
    """Switch to (or move) the simulated clock. Moving backwards is refused: due timers and
    history would stop making sense."""
    if at.tzinfo is None:
        raise ValidationFailed("the clock needs a time zone, e.g. 2011-01-04T09:00:00+08:00",
                               {"at": ["naive datetime"]})
    at = at.astimezone(UTC)
    row = _row(uow)
    if row is not None and row.simulated_now is not None and at < row.simulated_now:
        raise ValidationFailed(
            f"the simulated clock reads {row.simulated_now.isoformat()}; it cannot go back to "
            f"{at.isoformat()}", {"at": ["earlier than the current simulated time"]})
    if row is None:
        uow.session.add(ClockState(id=CLOCK_ROW, simulated_now=at, updated_at=at))
    else:
        row.simulated_now, row.updated_at = at, at
    _clock_moved(uow)
    uow.commit()
    return at


def advance_clock(uow: UnitOfWork, delta: timedelta) -> datetime:
    if delta < timedelta(0):
        raise ValidationFailed("the clock only moves forward", {"delta": ["negative"]})
    if not is_simulated(uow):
        raise ValidationFailed("the system clock cannot be advanced; set a simulated time first "
                               "(irpm clock set 2011-01-04T09:00:00+08:00)")
    return set_clock(uow, now(uow) + delta)


def use_system_clock(uow: UnitOfWork) -> None:
    row = _row(uow)
    if row is not None:
        row.simulated_now, row.updated_at = None, datetime.now(UTC)
        _clock_moved(uow)
        uow.commit()


def _clock_moved(uow: UnitOfWork) -> None:
    """A scheduler arms timers by the system clock only: switching clocks changes that."""
    uow.runtime.timers_changed(uow)
