"""The project clock as a service: system time, or a simulated time stored in the database.

``move_clock`` is how people move it (the ``irpm clock`` commands, the console's clock
controls): it fires what falls due on the way and then runs the scheduler's card scan
(``due_cards.scan_due_cards``) at the new reading, so yellow and red cards (黄牌 / 红牌)
appear when a simulated clock moves past due dates, as the scheduler gives them on the system
clock. ``set_clock``, ``advance_clock`` and
``use_system_clock`` are the bare moves underneath, for code that fires timers itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from sqlalchemy import select

from ..actors import Actor
from ..clock import Clock, FrozenClock, SystemClock
from ..db import UnitOfWork
from ..errors import Conflict, ValidationFailed
from ..models import CLOCK_ROW, ClockState
from . import admin_rule

if TYPE_CHECKING:
    from .due_cards import CardScan


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
                               "(irpm clock set 2011-01-04T09:00:00+08:00 --reason …)")
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


# --------------------------------------------------------------------------- moving it


class Step(Protocol):
    """A step forward that is not a fixed span, e.g. calendar months (``after(start)`` is
    where it lands from ``start``)."""

    def after(self, start: datetime) -> datetime: ...


class ClockNotSimulated(Conflict):
    """The move needs the simulated clock (advancing, a rehearsal move) but the system clock
    is in force."""

    code = "clock_not_simulated"


class ClockNotAhead(ValidationFailed):
    """A rehearsal move to a time that is not after the clock's reading (``now``)."""

    code = "clock_not_ahead"

    def __init__(self, now: datetime, target: datetime) -> None:
        super().__init__(f"the simulated clock reads {now.isoformat()}; a move must go past it "
                         f"(not to {target.isoformat()})", {"at": ["not after the clock"]})
        self.now = now


@dataclass(frozen=True)
class ClockMove:
    """What a move did: the readings before and after it, the timer firings on the way, and
    the cards the scan after it wrote (not compared: a move is the same move whoever's tasks
    it made due)."""

    before: datetime
    now: datetime
    simulated: bool
    fired: int
    yellow_cards: int = field(default=0, compare=False)
    red_cards: int = field(default=0, compare=False)


#: The audit log's target for moves of the clock.
CLOCK_TARGET = "clock"


def move_clock(uow: UnitOfWork, *, to: datetime | None = None,
               by: timedelta | Step | None = None, system: bool = False,
               rehearsal: bool = False, audited_by: Actor | None = None,
               reason: str | None = None) -> ClockMove:
    """Move the project clock and fire the timers it makes due: the one way the ``irpm clock``
    commands and the console's clock controls move it. Commits each step itself.

    Exactly one of:

    - ``to``: the simulated time ``to``. Forward from a simulated reading, every timer falling
      due on the way fires at its own due time, in due order (``timers.advance_to``); the
      first setting (from the system clock), or the time it already reads, sets the clock and
      fires what is due then at once. Back in time is refused.
    - ``by``: forward from the simulated reading by a span or a ``Step`` (calendar months),
      as ``to`` moves forward; refused on the system clock (``ClockNotSimulated``).
    - ``system``: back to the system clock; fires nothing and scans no cards (a scheduler
      does both on the system clock).

    After a move to or by, the cards due at the new reading are written
    (``due_cards.scan_due_cards``, idempotent: each task one card per colour, ever) — the
    scheduler's scan skips a simulated clock, so without this a rehearsal moved by hand would
    show overdue tasks and nobody carded. Cards are judged at the reading the move ends at:
    a task that passes from due-soon to overdue within one move gets its red card only.

    ``rehearsal`` (the console) moves only a simulated clock (``ClockNotSimulated``) and only
    past its reading (``ClockNotAhead``), checked before anything is written. ``audited_by``
    — how every person's move comes (the console, ``irpm clock``) — must be an administrator
    (``admin_rule``) and give a ``reason``, both checked before anything moves, and the move
    goes to the audit log (``clock_set``, ``clock_advance``, ``clock_system``: from, to,
    timers fired) with the reason, committed after the move. Without it (fixtures, the
    rehearsal driving its own clock) nothing is recorded.
    """
    if (to is not None) + (by is not None) + system != 1:
        raise ValueError("move the clock to a time, by a step, or back to the system clock")
    if audited_by is not None:  # a person's move: the one rule, and a reason, first
        admin_rule.require_administrator(audited_by, "move the clock")
        reason = admin_rule.require_reason(reason)
    if system:
        before = now(uow)
        use_system_clock(uow)
        return _moved(uow, before, 0, "system", audited_by, reason)
    if to is not None and to.tzinfo is None:
        raise ValidationFailed("the clock needs a time zone, e.g. 2011-01-04T09:00:00+08:00",
                               {"at": ["naive datetime"]})
    # Imported here: timers, due_cards (and audit) import this module for the clock's reading.
    from . import due_cards, timers

    before, simulated = now(uow), is_simulated(uow)
    if (by is not None or rehearsal) and not simulated:
        raise ClockNotSimulated(
            "the system clock cannot be advanced; set a simulated time first "
            "(irpm clock set 2011-01-04T09:00 --reason …)" if by is not None else
            "the clock is not simulated: it moves only in rehearsal mode (a simulated time "
            "set with 'irpm clock set')")
    if to is not None:
        target = to
    elif isinstance(by, timedelta):
        target = before + by
    else:
        assert by is not None
        target = by.after(before)
    if rehearsal and target <= before:
        raise ClockNotAhead(before, target)
    if by is not None or (simulated and target > before):
        fired = timers.advance_to(uow, target)
    else:
        set_clock(uow, target)
        fired = timers.fire_due_timers(uow, now(uow))
    cards = due_cards.scan_due_cards(uow, now(uow))  # commits its own batches
    return _moved(uow, before, fired, "set" if to is not None else "advance", audited_by,
                  reason, cards)


def _moved(uow: UnitOfWork, before: datetime, fired: int, action: str,
           audited_by: Actor | None, reason: str | None,
           cards: CardScan | None = None) -> ClockMove:
    yellow, red = (cards.yellow, cards.red) if cards is not None else (0, 0)
    moved = ClockMove(before, now(uow), is_simulated(uow), fired, yellow, red)
    if audited_by is not None:
        from . import audit  # imported here: audit imports this module for the clock

        audit.record_admin_action(
            uow, audited_by, f"clock_{action}", CLOCK_TARGET, reason,
            {"from": before.isoformat(), "to": moved.now.isoformat(), "timers_fired": fired})
        uow.commit()
    return moved
