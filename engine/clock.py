"""Where "now" comes from.

Everything time-dependent (timer due times, task due dates, event timestamps) asks a
``Clock``. Production uses the system clock; rehearsals of the 2010–2012 programme, demos and
tests use a simulated clock whose reading lives in the database (see
``engine.services.clock``), so every process agrees on the simulated date.

SpiffWorkflow's timer events call ``datetime.now()`` inside their module; ``bind_clock``
routes those calls to the clock of the current service call through a context variable, so
concurrent threads with different clocks never see each other's time.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def __repr__(self) -> str:
        return "SystemClock()"


@dataclass(frozen=True)
class FrozenClock:
    """A fixed instant: the simulated clock's reading for one transaction."""

    at: datetime

    def __post_init__(self) -> None:
        if self.at.tzinfo is None:
            raise ValueError("FrozenClock needs an aware datetime")

    def now(self) -> datetime:
        return self.at.astimezone(UTC)


_current: ContextVar[Clock | None] = ContextVar("irpm_clock", default=None)


@contextmanager
def bind_clock(clock: Clock) -> Iterator[Clock]:
    """Make ``clock`` the time source of SpiffWorkflow timers inside the block."""
    token = _current.set(clock)
    try:
        yield clock
    finally:
        _current.reset(token)


class _ClockedDatetime(datetime):
    """Stand-in for ``datetime`` inside SpiffWorkflow's timer module; only ``now`` differs."""

    @classmethod
    def now(cls, tz: tzinfo | None = None) -> _ClockedDatetime:
        clock = _current.get()
        current = clock.now() if clock is not None else datetime.now(UTC)
        current = current.astimezone(tz) if tz is not None else current.astimezone().replace(
            tzinfo=None)
        return cls.fromisoformat(current.isoformat())


def install_spiff_clock() -> None:
    """Point SpiffWorkflow's timer module at the bound clock (idempotent)."""
    from SpiffWorkflow.bpmn.specs.event_definitions import timer

    if timer.datetime is not _ClockedDatetime:
        timer.datetime = _ClockedDatetime  # type: ignore[misc]
