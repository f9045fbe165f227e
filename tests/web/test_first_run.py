"""A first run that teaches (issue 16, point 3): moving the simulated clock by hand — ``irpm
clock set`` / ``irpm clock advance``, the same ``move_clock`` the console's clock page calls —
writes the yellow and red cards (黄牌 / 红牌) the scheduler's scan would, once each."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from click.testing import CliRunner
from sqlalchemy import select

from engine.models import Notification
from web.cli import main

from .conftest import T0, Org

HOLDER_POST = "CZJ-BGS-02"  # 办公室 科员（文秘）, held by czj-0011
HOLDER = "czj-0011"
WHY = ("--reason", "演示：拨动模拟时钟")


def irpm(database_url: str, *args: str) -> dict[str, Any]:
    runner = CliRunner(env={"IRPM_DATABASE_URL": database_url, "IRPM_USER": None})
    result = runner.invoke(main, ["--json", *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    payload: dict[str, Any] = json.loads(result.stdout)
    return payload


def cards(org: Org) -> list[tuple[str, str]]:
    with org.rt.uow(write=False) as uow:
        return [(n.recipient, n.kind) for n in uow.session.scalars(
            select(Notification).where(Notification.kind.in_(("yellow_card", "red_card")))
            .order_by(Notification.id))]


def test_moving_the_clock_past_due_dates_writes_each_card_once(org: Org,
                                                                database_url: str) -> None:
    org.open_task(org.start(HOLDER_POST))  # 查找廉政风险, due T0 + 10 days
    assert cards(org) == []

    quiet = irpm(database_url, "clock", "advance", "P6D", *WHY)  # 4 days before: nothing yet
    assert (quiet["yellow_cards"], quiet["red_cards"]) == (0, 0) and cards(org) == []

    near = irpm(database_url, "clock", "advance", "P2D", *WHY)  # within 3 days: yellow
    assert (near["yellow_cards"], near["red_cards"]) == (1, 0)
    assert cards(org) == [(HOLDER, "yellow_card")]

    late = irpm(database_url, "clock", "set", (T0 + timedelta(days=11)).isoformat(), *WHY)
    assert (late["yellow_cards"], late["red_cards"]) == (0, 1)
    assert cards(org) == [(HOLDER, "yellow_card"), (HOLDER, "red_card")]

    again = irpm(database_url, "clock", "advance", "P1D", *WHY)  # still overdue: no new card
    assert (again["yellow_cards"], again["red_cards"]) == (0, 0)
    assert len(cards(org)) == 2
