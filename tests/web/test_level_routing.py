"""Responsibility follows the level (bpmn/responsibility.dmn: 一级 — the unit's principal
answers for the post, the deputy in charge manages it directly): once a level-1 post's
publicity ends, its control steps 制定前期预防措施 and 廉政谈话 wait in the principal's inbox —
shown with the post's level and due date, in the page and the REST API — and not in the
deputy's, who gets 中期监控 instead."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine.services import timers

from .conftest import T0, AuthActions, Org
from .publicity_cycle import deploy_programme, to_publicity

LEVEL1 = "CZJ-BGS-03"  # 办公室 科员（档案管理）: a high risk makes it level 1
PRINCIPAL, DEPUTY, HEAD = "czj-0001", "czj-0002", "czj-0009"
CONTROL = ("制定前期预防措施", "廉政谈话")


@pytest.fixture
def archived(app: Flask, org: Org) -> int:
    rt = app.extensions["irpm"]
    deploy_programme(rt)
    iid = to_publicity(rt, LEVEL1, high_risk=True)
    with rt.uow() as uow:  # publicity (7 days) ends: archived, control steps begin
        timers.advance_to(uow, T0 + timedelta(days=8))
    return iid


def rows(client: FlaskClient) -> dict[str, str]:
    html = client.get("/inbox/claimable").get_data(as_text=True)
    found = re.findall(r'<tr data-task="[^"]+">(.*?)</tr>', html, re.S)
    return {re.search(r'class="fw-semibold">([^<]+)<', row).group(1): row  # type: ignore[union-attr]
            for row in found}


def test_a_level_one_post_s_control_steps_go_to_the_principal(
        client: FlaskClient, auth: AuthActions, archived: int) -> None:
    auth.login(PRINCIPAL)
    mine = rows(client)
    assert sorted(mine) == sorted(CONTROL)
    for row in mine.values():
        assert 'data-level="1"' in row and "一级" in row
        assert "科员（档案管理）" in row
    # publicity ended 2011-01-11 09:00; the measures are due 30 days later
    assert 'data-label="办理期限">2011-02-10 09:00<' in mine["制定前期预防措施"]
    tasks = client.get("/api/v1/tasks?view=claimable").get_json()["items"]
    assert sorted(t["name"] for t in tasks) == sorted(CONTROL)
    assert {(t["post_code"], t["post_level"]) for t in tasks} == {(LEVEL1, 1)}
    auth.logout()

    auth.login(DEPUTY)  # the level-1 post's direct manager: monitoring, not the control steps
    assert list(rows(client)) == ["中期监控"]
    auth.logout()
    auth.login(HEAD)
    assert rows(client) == {}
