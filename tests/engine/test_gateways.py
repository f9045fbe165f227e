"""Gateways (tests/fixtures/gateways.bpmn): an exclusive gateway with two conditions and a
default flow, then a parallel split whose join waits for both branches."""

from __future__ import annotations

from typing import Any

import pytest

from engine.models import InstanceStatus
from tests.conftest import OUTSIDER

from .conftest import Driver


@pytest.fixture
def gw(driver: Driver) -> Driver:
    driver.deploy_fixture("gateways.bpmn")
    return driver


@pytest.mark.parametrize(("data", "review"), [
    ({"amount": 5000, "category": "plain"}, "high_review"),
    ({"amount": 1001, "category": "special"}, "high_review"),  # first true condition wins
    ({"amount": 1000, "category": "special"}, "special_review"),
    ({"amount": 10, "category": "special"}, "special_review"),
    ({"amount": 1000, "category": "plain"}, "normal_review"),  # default flow
    ({"amount": -1, "category": "Special"}, "normal_review"),
])
def test_exclusive_gateway_takes_one_flow(gw: Driver, data: dict[str, Any], review: str) -> None:
    iid = gw.start("gateways", data)
    assert gw.open_elements(iid) == [review]
    assert gw.instance(iid).status == InstanceStatus.WAITING


def test_condition_on_missing_variable_is_an_error(gw: Driver) -> None:
    iid = gw.start("gateways", {"category": "plain"})  # no amount
    instance = gw.instance(iid)
    assert instance.status == InstanceStatus.ERROR
    assert "amount" in (instance.error_message or "")
    assert gw.open_elements(iid) == []


def test_parallel_split_and_join(gw: Driver) -> None:
    iid = gw.start("gateways", {"amount": 1, "category": "plain"})
    gw.complete_element(iid, "normal_review", OUTSIDER, {"note": "fine"})
    assert gw.open_elements(iid) == ["check_a", "check_b"]

    gw.complete_element(iid, "check_b", OUTSIDER, {"b_ok": True})
    assert gw.open_elements(iid) == ["check_a"]  # the join waits for the other branch
    gw.complete_element(iid, "check_a", OUTSIDER, {"a_ok": True})
    assert gw.open_elements(iid) == ["summary"]  # exactly once after the join

    data = gw.data(iid)
    assert data["a_ok"] is True and data["b_ok"] is True  # both branches' data merged
    gw.complete_element(iid, "summary", OUTSIDER)
    assert gw.instance(iid).status == InstanceStatus.COMPLETED
    completed = sorted(t.element_id for t in gw.tasks(iid, state="completed"))
    assert completed == ["check_a", "check_b", "normal_review", "summary"]
    assert gw.tasks(iid, state="open") == []
    assert gw.event_types(iid).count("task_created") == 4


def test_each_route_reaches_the_same_parallel_part(gw: Driver) -> None:
    for data, review in (({"amount": 2000, "category": "x"}, "high_review"),
                         ({"amount": 0, "category": "special"}, "special_review")):
        iid = gw.start("gateways", data)
        gw.complete_element(iid, review, OUTSIDER)
        assert gw.open_elements(iid) == ["check_a", "check_b"]
