"""The dashboard's aggregates on a small city whose every figure is known: 财政局 (CZJ, 8
posts) and 发展和改革委员会 (FGW, 4 posts), risks at the three tiers, some posts graded, FGW
published, inbox tasks overdue, due soon and not due, a unit assessment and a campaign with
its milestones."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from engine.actors import Actor
from engine.execution.mirror import write_events
from engine.models import EventType, ProcessDefinition, ProcessInstance
from engine.programme.models import MilestoneReport
from engine.programme.services import dashboard as figures
from engine.programme.services import organisation, register_grading, register_risk_points
from engine.programme.services.dashboard_milestones import CHINA
from engine.programme.services.dashboard_register import RegisterCache
from engine.programme.services.milestones import create_plan
from engine.settings import Settings
from tests.databases import Template, TestDatabases, world
from tests.inbox_org import T0, Org, open_org

ADMIN = Actor("admin", frozenset(), is_admin=True)
YEAR = 2011


def point(category: str, likelihood: str, harm: str) -> dict[str, str]:
    return {"category": category, "description": f"{category} {likelihood} {harm}",
            "found_by": "self_identified", "likelihood": likelihood, "harm": harm}


def fabricated_instance(org: Org, process_id: str, key: str,
                        events: list[tuple[str, str | None, dict[str, object]]]) -> int:
    """An instance row with a hand-written log, standing in for a campaign or a unit cycle
    (running the whole programme would take minutes and test the engine, not these reads)."""
    with org.rt.uow() as uow:
        definition_id = uow.session.scalar(select(ProcessDefinition.id).limit(1))
        assert definition_id is not None
        instance = ProcessInstance(definition_id=definition_id, process_id=process_id,
                                   business_key=key, status="waiting", state_format=0,
                                   state=b"", started_at=T0, updated_at=T0)
        uow.session.add(instance)
        uow.session.flush()
        write_events(uow, [{"instance_id": instance.id, "at": T0, "type": kind,
                            "element_id": element, "data": data}
                           for kind, element, data in events])
        uow.commit()
        return instance.id


def seed_dashboard_city(settings: Settings) -> None:
    org = open_org(settings)
    rt = org.rt
    with rt.uow() as uow:
        # CZJ: a level-1 and a level-3 risk on a post, one at the unit itself.
        register_risk_points.add_risk_points(uow, {"post": "CZJ-BGS-02"}, YEAR, [
            point("duty", "high", "minor"), point("process", "low", "minor")], ADMIN)
        register_risk_points.add_risk_points(uow, {"unit": "CZJ"}, YEAR, [
            point("institutional", "fairly_high", "minor")], ADMIN)
        # FGW: one at a department; another year's risk counts nowhere.
        register_risk_points.add_risk_points(uow, {"department": "FGW-BGS"}, YEAR, [
            point("external", "low", "disciplinary")], ADMIN)
        register_risk_points.add_risk_points(uow, {"post": "FGW-BGS-01"}, YEAR - 1, [
            point("duty", "high", "crime")], ADMIN)
        for post in ("CZJ-BGS-01", "CZJ-BGS-02"):
            register_grading.grade_post(uow, post, YEAR, ADMIN)
        for post in ("FGW-LDBZ-01", "FGW-LDBZ-02", "FGW-BGS-01", "FGW-BGS-02"):
            register_grading.grade_post(uow, post, YEAR, ADMIN)
        register_grading.publish(uow, "FGW", YEAR, ADMIN)
    # Inbox tasks are due 10 days after they are created.
    org.start("CZJ-BGS-02")  # due T0+10d
    org.start("CZJ-YSK-02")  # due T0+10d
    org.set_clock(T0 + timedelta(days=4))
    org.start("FGW-BGS-01")  # due T0+14d
    org.set_clock(T0 + timedelta(days=8))
    org.start("FGW-BGS-02")  # due T0+18d
    org.set_clock(T0 + timedelta(days=12))  # 2 overdue (CZJ), 1 due within 3 days (FGW)
    rt.close()


@world
def dashboard_city_world(test_databases: TestDatabases, inbox_org_world: Template) -> Template:
    """The inbox organisation with this module's risks, grades, publication and tasks,
    built once for the module's tests."""
    return test_databases.build("dashboard_city", seed_dashboard_city, inbox_org_world)


@pytest.fixture
def city(settings: Settings, dashboard_city_world: Template) -> Iterator[Org]:
    org = open_org(settings)
    yield org
    org.rt.close()


def read(org: Org, year: int | None = YEAR) -> figures.Dashboard:
    with org.rt.uow(write=False) as uow:
        return figures.dashboard(uow, year)


def test_levels_categories_and_units(city: Org) -> None:
    d = read(city)
    assert d.year == YEAR and d.simulated
    assert d.posts == 12 and d.graded == 6 and d.published == 4
    # CZJ-BGS-02 is level 1 by its risk; the other graded posts level 3 by their attributes.
    assert d.posts_by_level == {1: 1, 2: 0, 3: 5}
    assert d.risks_by_level == {1: 1, 2: 2, 3: 1}
    assert d.risks_by_category == {"duty": {1: 1, 2: 0, 3: 0}, "process": {1: 0, 2: 0, 3: 1},
                                   "institutional": {1: 0, 2: 1, 3: 0},
                                   "external": {1: 0, 2: 1, 3: 0}}
    units = {u.code: u for u in d.units}
    czj, fgw = units["CZJ"], units["FGW"]
    assert (czj.posts, czj.graded, czj.published) == (8, 2, 0)
    assert (fgw.posts, fgw.graded, fgw.published) == (4, 4, 4)
    assert czj.post_levels == {1: 1, 2: 0, 3: 1} and fgw.post_levels == {1: 0, 2: 0, 3: 4}
    assert czj.risk_levels == {1: 1, 2: 1, 3: 1} and fgw.risk_levels == {1: 0, 2: 1, 3: 0}


def test_cards_and_late_tasks(city: Org) -> None:
    d = read(city)
    assert (d.open_tasks, d.red_cards, d.yellow_cards) == (4, 2, 1)
    units = {u.code: u for u in d.units}
    assert (units["CZJ"].open_tasks, units["CZJ"].overdue, units["CZJ"].near_due) == (2, 2, 0)
    assert (units["FGW"].open_tasks, units["FGW"].overdue, units["FGW"].near_due) == (2, 0, 1)
    # Equally late: in task id order, so compare as a set.
    assert sorted(t.post_code or "" for t in d.late_tasks) == ["CZJ-BGS-02", "CZJ-YSK-02"]
    assert all(t.due_at == T0 + timedelta(days=10) for t in d.late_tasks)


def test_ranking_score_is_the_documented_sum(city: Org) -> None:
    fabricated_instance(city, "unit_cycle", f"unit_cycle:CZJ:{YEAR}", [
        (EventType.TASK_COMPLETED, "unit_assessment", {
            "score_information_monitoring": 80, "score_self_check": 90,
            "score_superior_inspection": 70, "score_social_evaluation": 100})])
    fabricated_instance(city, "unit_cycle", f"unit_cycle:FGW:{YEAR - 1}", [
        (EventType.TASK_COMPLETED, "unit_assessment", {
            "score_information_monitoring": 100, "score_self_check": 100,
            "score_superior_inspection": 100, "score_social_evaluation": 100})])
    d = read(city)
    czj, fgw = sorted(d.units, key=lambda u: u.code)
    assert czj.assessment == 85.0 and fgw.assessment is None  # FGW's is of another year
    # CZJ: 30 × 2/8 graded + 0 published + 20 × 0/2 on time + 20 × 0.85 = 7.5 + 17
    assert czj.score == 24.5
    # FGW: 30 + 30 + 20 × (1 − 0/2) + 0 (not assessed)
    assert fgw.score == 80.0
    assert [(u.rank, u.code) for u in d.units] == [(1, "FGW"), (2, "CZJ")]


def test_milestones_without_a_campaign_are_the_source_dates(city: Org) -> None:
    d = read(city)
    assert d.campaign_instance_id is None
    assert [(m.name, m.due_at, m.state) for m in d.milestones] == [
        ("launch", datetime(2010, 12, 31, 9, tzinfo=CHINA), "not_started"),
        ("rollout", datetime(2011, 6, 30, 9, tzinfo=CHINA), "not_started"),
        ("initial_network", datetime(2011, 12, 31, 9, tzinfo=CHINA), "not_started"),
        ("long_term_mechanism", datetime(2012, 12, 31, 9, tzinfo=CHINA), "not_started")]
    # Graded on 2011-01-04: after the launch date, before every later deadline.
    assert [d.graded_by(m.name) for m in d.milestones] == [0, 6, 6, 6]


OVERRIDES = {"launch": "2011-01-10", "rollout": "2011-05-31T18:00:00+08:00"}


def test_milestones_follow_the_campaign_start_data_and_log(city: Org) -> None:
    other = fabricated_instance(city, "campaign", "campaign-2012", [
        (EventType.STARTED, None, {"data": {"year": 2012, "units": ["CZJ"]}})])
    campaign = fabricated_instance(city, "campaign", "campaign-2011", [
        (EventType.STARTED, None, {"data": {"year": 2011, "units": ["CZJ", "FGW"],
                                            "milestones": OVERRIDES}}),
        (EventType.TIMER_FIRED, "milestone_launch", {}),
        (EventType.TASK_COMPLETED, "checkpoint_launch", {"launch_met": False}),
        (EventType.TIMER_FIRED, "milestone_rollout", {})])
    d = read(city)
    assert d.campaign_instance_id == campaign != other
    assert [(m.name, m.due_at, m.state, m.met) for m in d.milestones] == [
        ("launch", datetime(2011, 1, 10, 9, tzinfo=CHINA), "checked", False),
        ("rollout", datetime(2011, 5, 31, 18, tzinfo=CHINA), "due", None),
        ("initial_network", datetime(2011, 12, 31, 9, tzinfo=CHINA), "pending", None),
        ("long_term_mechanism", datetime(2012, 12, 31, 9, tzinfo=CHINA), "pending", None)]
    assert [d.graded_by(m.name) for m in d.milestones] == [6, 6, 6, 6]
    chart = d.chart_data()
    assert chart["units"] == ["CZJ", "FGW"]
    assert chart["coverage"]["launch"] == [25.0, 100.0]


def test_default_year_is_the_clock_year_and_other_years_are_empty(city: Org) -> None:
    assert read(city, None).year == YEAR
    d = read(city, YEAR - 1)
    assert d.graded == 0 and d.risks_by_level == {1: 1, 2: 0, 3: 0}
    assert d.open_tasks == 4  # tasks are counted as they stand, whatever the year


def test_milestones_come_from_the_plan_and_its_reports(city: Org) -> None:
    """With a milestone plan: its dates and warnings, the cards it sent, and per unit the
    coverage its report found at the deadline (the live proxy before a deadline)."""
    campaign = fabricated_instance(city, "campaign", "campaign-2011", [
        (EventType.STARTED, None, {"data": {"year": 2011, "units": ["CZJ", "FGW"]}}),
        (EventType.TASK_COMPLETED, "checkpoint_launch", {"launch_met": False})])
    with city.rt.uow() as uow:
        plan = create_plan(uow, campaign, "campaign-2011", YEAR, ["CZJ", "FGW"],
                           {"rollout": "2011-05-31"}, T0)
        launch, rollout = plan.milestones[0], plan.milestones[1]
        launch.warned_at = launch.evaluated_at = T0
        launch.yellow_cards, launch.red_cards = 2, 1
        rollout.warned_at, rollout.yellow_cards = T0, 1
        uow.session.add(MilestoneReport(
            milestone_id=launch.id, instance_id=campaign, name="launch", rule="launch",
            due_at=launch.due_at, evaluated_at=T0, units_total=2, units_on_track=1,
            red_cards=1, units=[
                {"unit_code": "CZJ", "unit_name": "财政局", "on_track": False, "done": 0,
                 "total": 1, "reasons": [], "principal": None},
                {"unit_code": "FGW", "unit_name": "发展和改革委员会", "on_track": True,
                 "done": 1, "total": 1, "reasons": [], "principal": None}]))
        uow.commit()
    d = read(city)
    assert d.campaign_instance_id == campaign
    launch_m, rollout_m, network, mechanism = d.milestones
    assert (launch_m.state, launch_m.met, launch_m.yellow_cards, launch_m.red_cards) == (
        "checked", False, 2, 1)
    assert (launch_m.units_on_track, launch_m.units_total, launch_m.late_units) == (
        1, 2, ("CZJ",))
    assert rollout_m.state == "warned" and rollout_m.units_total is None
    assert rollout_m.due_at == datetime(2011, 5, 31, 9, tzinfo=CHINA)
    assert rollout_m.warn_at is not None and rollout_m.warn_at < rollout_m.due_at
    assert (network.state, mechanism.state) == ("pending", "pending")
    chart = d.chart_data()
    assert chart["coverage"]["launch"] == [0.0, 100.0]  # the report's, per unit
    assert chart["coverage_source"] == {"launch": "report", "rollout": "graded",
                                        "initial_network": "graded",
                                        "long_term_mechanism": "graded"}
    assert chart["coverage"]["rollout"] == [25.0, 100.0]  # posts graded so far


def test_the_register_cache_is_reused_until_the_register_changes(city: Org) -> None:
    cache = RegisterCache()

    def cached() -> figures.Dashboard:
        with city.rt.uow(write=False) as uow:
            return figures.dashboard(uow, YEAR, cache=cache)

    first, again = cached(), cached()
    assert (cache.misses, cache.hits) == (1, 1)
    assert again.chart_data() == first.chart_data() == read(city).chart_data()
    with city.rt.uow() as uow:  # a register change: the next read sees it
        register_grading.grade_post(uow, "CZJ-YSK-01", YEAR, ADMIN)
    after = cached()
    assert cache.misses == 2 and after.graded == first.graded + 1
    assert after.chart_data() == read(city).chart_data()
    # A graded post moving to another unit's department (an organisation import) too.
    with city.rt.uow() as uow:
        post = organisation.get_post(uow, "CZJ-YSK-01")
        post.department_id = organisation.get_department(uow, "FGW-BGS").id
        uow.commit()
    moved = {u.code: u.graded for u in cached().units}
    assert cache.misses == 3 and moved == {"CZJ": 2, "FGW": 5}
    # Another year is cached apart.
    with city.rt.uow(write=False) as uow:
        assert figures.dashboard(uow, YEAR - 1, cache=cache).graded == 0
    assert cache.misses == 4
