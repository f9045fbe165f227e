"""``irpm clock show|set|advance|system`` — the project clock: the system clock, or a
simulated time shared by every process (for rehearsals of the programme).

Every move is ``engine.services.clock.move_clock``, the service the console's clock page
calls too: it fires what falls due on the way, writes the yellow and red cards due at the new
reading (the scheduler's scan) and commits; this module parses and prints.
Moving the clock is an administrative act: an administrator (``--user``, or the shell
operator ``shell:<login>``) with a ``--reason``, written to the audit log (``clock_set``,
``clock_advance``, ``clock_system``)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import click

from engine.db import UnitOfWork
from engine.services import clock as clock_service

from .format import CHINA, DURATION, ISO_DATETIME, Duration
from .state import State, operator, operator_option, pass_state, reason_option


@click.group()
def clock() -> None:
    """The project clock: the system clock, or a simulated time shared by every process."""


def _clock_payload(uow: UnitOfWork) -> dict[str, Any]:
    return {"simulated": clock_service.is_simulated(uow), "now": clock_service.now(uow)}


def _clock_text(payload: Mapping[str, Any]) -> str:
    kind = "simulated" if payload["simulated"] else "system"
    return f"{kind} clock: {payload['now'].astimezone(CHINA).isoformat(timespec='seconds')}"


def _say_moved(state: State, moved: clock_service.ClockMove) -> None:
    payload = {"simulated": moved.simulated, "now": moved.now, "fired": moved.fired,
               "yellow_cards": moved.yellow_cards, "red_cards": moved.red_cards}
    state.say(payload, f"{_clock_text(payload)}; {moved.fired} timer(s) fired; "
              f"cards: {moved.yellow_cards} yellow (黄牌), {moved.red_cards} red (红牌)")


@clock.command("show")
@pass_state
def clock_show(state: State) -> None:
    """Which clock is in force and what time it reads."""
    with state.rt.uow(write=False) as uow:
        payload = _clock_payload(uow)
    state.say(payload, _clock_text(payload))


@clock.command("set")
@click.argument("at", metavar="ISO_DATETIME", type=ISO_DATETIME)
@operator_option
@reason_option
@pass_state
def clock_set(state: State, at: datetime, operator_name: str | None,
              reason: str | None) -> None:
    """Simulate the time ISO_DATETIME, e.g. 2011-01-04T09:00 (without an offset: China time,
    +08:00). Every timer falling due on the way fires at its own due time, in due order (as
    `clock advance` does); the first setting fires what is due at that time."""
    with state.rt.uow() as uow:
        moved = clock_service.move_clock(uow, to=at, audited_by=operator(uow, operator_name),
                                         reason=reason)
    _say_moved(state, moved)


@clock.command("advance")
@click.argument("duration", type=DURATION)
@operator_option
@reason_option
@pass_state
def clock_advance(state: State, duration: Duration, operator_name: str | None,
                  reason: str | None) -> None:
    """Move the simulated clock forward by DURATION (P7D, PT2H, P1M, or 7d, 36h), firing
    every timer on the way at its own due time."""
    with state.rt.uow() as uow:
        moved = clock_service.move_clock(uow, by=duration,
                                         audited_by=operator(uow, operator_name), reason=reason)
    _say_moved(state, moved)


@clock.command("system")
@operator_option
@reason_option
@pass_state
def clock_system(state: State, operator_name: str | None, reason: str | None) -> None:
    """Go back to the real (system) clock."""
    with state.rt.uow() as uow:
        moved = clock_service.move_clock(uow, system=True,
                                         audited_by=operator(uow, operator_name), reason=reason)
    payload = {"simulated": moved.simulated, "now": moved.now}
    state.say(payload, _clock_text(payload))
