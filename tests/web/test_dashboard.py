"""The dashboard in the web app: who may see it, what it shows, its JSON and its input."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from engine.actors import Actor
from engine.models import ProcessDefinition, ProcessInstance
from engine.programme.models import MilestoneReport
from engine.programme.services import register_grading, register_risk_points
from engine.programme.services.milestones import create_plan
from tests.inbox_org import T0

from .conftest import AuthActions, Org

ADMIN = Actor("admin", frozenset(), is_admin=True)


@pytest.fixture
def city(org: Org) -> Org:
    """Two units; CZJ-BGS-01 graded; one task overdue (CZJ), one due soon (FGW)."""
    with org.rt.uow() as uow:
        register_risk_points.add_risk_points(uow, {"post": "CZJ-BGS-01"}, 2011, [
            {"category": "duty", "description": "审批环节自由裁量权过大",
             "found_by": "self_identified", "likelihood": "high", "harm": "minor"}], ADMIN)
        register_grading.grade_post(uow, "CZJ-BGS-01", 2011, ADMIN)
    org.start("CZJ-BGS-02")  # due T0+10d
    org.set_clock(T0 + timedelta(days=3))
    org.start("FGW-BGS-02")  # due T0+13d
    org.set_clock(T0 + timedelta(days=11))
    return org


@pytest.mark.parametrize("username", ["czj-0011", "czj-0001", "czj-0004", "fgw-0011"])
def test_refused_for_post_holders_leaders_and_unit_discipline_officers(
        client: FlaskClient, auth: AuthActions, city: Org, username: str) -> None:
    auth.login(username)
    for url in ("/console/dashboard", "/console/dashboard/data"):
        assert client.get(url).status_code == 403
    assert 'data-nav="dashboard.index"' not in client.get("/inbox/mine").get_data(as_text=True)


def test_anonymous_visitors_are_sent_to_sign_in(client: FlaskClient, city: Org) -> None:
    response = client.get("/console/dashboard")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


@pytest.mark.parametrize("username", ["admin", "jiwei"])
def test_admin_and_commission_see_the_figures(client: FlaskClient, auth: AuthActions,
                                              city: Org, username: str) -> None:
    auth.login(username)
    response = client.get("/console/dashboard")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'data-nav="dashboard.index"' in html
    assert re.search(r'data-figure="posts">12<', html)
    assert re.search(r'data-figure="graded">1 ', html)
    assert re.search(r'data-figure="red_cards">1<', html)
    assert re.search(r'data-figure="yellow_cards">1<', html)
    assert "仪表盘" in html and "单位排名" in html  # Chinese by default
    # The charts' figures travel in data- attributes, and a static script draws them.
    charts = json.loads(re.search(r"data-charts='([^']*)'", html).group(1))  # type: ignore[union-attr]
    assert charts["units"] == ["CZJ", "FGW"] and charts["unit_overdue"] == [1, 0]
    assert charts["posts_by_level"] == [1, 0, 0]
    assert "<script>" not in html and "dashboard.js" in html
    # The ranking explains its score; FGW (no overdue task) ranks first.
    ranks = re.findall(r'data-unit="(\w+)" data-rank="(\d)"', html)
    assert ranks == [("FGW", "1"), ("CZJ", "2")]
    assert "CZJ-BGS-02" in html  # among the most overdue tasks
    assert html.count('data-state="not_started"') == 4  # no campaign: the source's dates
    # The clock controls are offered to administrators only.
    assert ('id="clock-controls"' in html) == (username == "admin")


def test_the_json_has_the_same_figures(client: FlaskClient, auth: AuthActions,
                                       city: Org) -> None:
    auth.login("jiwei")
    found = client.get("/console/dashboard/data?year=2011").get_json()
    assert found["simulated"] is True
    assert [(r["unit"], r["overdue"], r["near_due"], r["graded"]) for r in found["ranking"]] == [
        ("FGW", 0, 1, 0), ("CZJ", 1, 0, 1)]
    assert found["labels"]["levels"] == ["一级", "二级", "三级"]


@pytest.mark.parametrize("year", ["abc", "1800", "99999"])
def test_a_bad_year_is_refused_with_its_reason(client: FlaskClient, auth: AuthActions,
                                               city: Org, year: str) -> None:
    auth.login("admin")
    page = client.get(f"/console/dashboard?year={year}")
    assert page.status_code == 400
    html = page.get_data(as_text=True)
    assert 'id="year-errors"' in html and ("年份" in html)
    data = client.get(f"/console/dashboard/data?year={year}")
    assert data.status_code == 400 and "year" in data.get_json()["errors"]


def test_english_on_request(client: FlaskClient, auth: AuthActions, city: Org) -> None:
    auth.login("admin")
    client.post("/language", data={"lang": "en"})
    html = client.get("/console/dashboard").get_data(as_text=True)
    assert "Ranking of units" in html and "Campaign milestones" in html


def test_the_milestone_panel_shows_the_plan_and_its_report(
        client: FlaskClient, auth: AuthActions, city: Org) -> None:
    with city.rt.uow() as uow:
        definition_id = uow.session.scalar(select(ProcessDefinition.id).limit(1))
        campaign = ProcessInstance(definition_id=definition_id, process_id="campaign",
                                   business_key="campaign-2011", status="waiting",
                                   state_format=0, state=b"", started_at=T0, updated_at=T0)
        uow.session.add(campaign)
        uow.session.flush()
        plan = create_plan(uow, campaign.id, "campaign-2011", 2011, ["CZJ", "FGW"], None, T0)
        launch, rollout = plan.milestones[0], plan.milestones[1]
        launch.warned_at = launch.evaluated_at = T0
        launch.yellow_cards, launch.red_cards = 1, 1
        rollout.warned_at = T0
        uow.session.add(MilestoneReport(
            milestone_id=launch.id, instance_id=campaign.id, name="launch", rule="launch",
            due_at=launch.due_at, evaluated_at=T0, units_total=2, units_on_track=1,
            red_cards=1, units=[
                {"unit_code": "CZJ", "unit_name": "财政局", "on_track": False, "done": 0,
                 "total": 1, "reasons": [], "principal": None},
                {"unit_code": "FGW", "unit_name": "发展和改革委员会", "on_track": True,
                 "done": 1, "total": 1, "reasons": [], "principal": None}]))
        uow.commit()
    auth.login("jiwei")
    html = client.get("/console/dashboard").get_data(as_text=True)
    launch_row = re.search(r'<tr data-milestone="launch" data-state="due">(.*?)</tr>', html,
                           re.S)
    assert launch_row, "the launch milestone is past its deadline"
    assert "已到期,待检查" in launch_row.group(1) and "1 / 1" in launch_row.group(1)
    on_track = re.search(r"data-on-track>(.*?)</td>", launch_row.group(1), re.S)
    assert on_track and "1 / 2" in on_track.group(1) and "滞后: CZJ" in on_track.group(1)
    assert '<tr data-milestone="rollout" data-state="warned">' in html
    charts = json.loads(re.search(r"data-charts='([^']*)'", html).group(1))  # type: ignore[union-attr]
    assert charts["coverage"]["launch"] == [0.0, 100.0]
    assert charts["coverage_source"]["launch"] == "report"
