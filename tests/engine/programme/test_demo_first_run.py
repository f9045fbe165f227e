"""The demo city as ``make run`` leaves it (issue 16, point 3): bpmn/ deployed, the demo
loaded with the campaign, 广泛宣传发动 done by ``jiwei`` and its background job run. Each
documented official login then has a task at first sign-in; the city-level logins (admin,
jiwei, designer) have none — their first things to do are the console, the dashboard and the
designer (the README says so) — and nothing is overdue, carded or late at the demo's start.
Moving the clock past the first due date writes the red cards, once."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from engine.models import HumanTask, Notification, TaskState
from engine.parsing import read_sources
from engine.programme.composition import programme_runtime
from engine.programme.demo import CAMPAIGN_KEY, DEMO_START, DemoSummary, load_demo_city
from engine.programme.demo_city import DEFAULT_SEED, generate_city
from engine.programme.services.milestones import list_milestone_reports
from engine.programme.services.organisation import actor_for
from engine.runtime import Runtime
from engine.services import clock, inbox
from engine.services.deployment import deploy
from engine.settings import Settings
from tests.databases import Template, TestDatabases, world
from web.cli import main

CARDS = ("yellow_card", "red_card")
CITY_LOGINS = {"admin", "jiwei", "designer"}


@world
def demo_first_run_world(test_databases: TestDatabases, demo_city_world: Template) -> Template:
    """The demo city with bpmn/ deployed and the campaign started and mobilised, as ``make
    run`` (``irpm deploy``, ``irpm demo load --if-empty --start-campaign``) leaves it;
    ``seeded`` is that load's summary."""

    def seed(settings: Settings) -> DemoSummary:
        rt = programme_runtime(settings)
        try:
            with rt.uow() as uow:
                deploy(uow, read_sources([rt.settings.bpmn_dir]), deployed_by="tests")
            return load_demo_city(rt, start_campaign=True, mobilise=True, say=None)
        finally:
            rt.close()

    return test_databases.build("demo_first_run", seed, demo_city_world)


@pytest.fixture
def demo(settings: Settings, demo_first_run_world: Template) -> Iterator[Runtime]:
    rt: Runtime = programme_runtime(settings)
    yield rt
    rt.close()


def test_the_load_mobilised_the_campaign(demo_first_run_world: Template) -> None:
    summary = demo_first_run_world.seeded
    assert summary.campaign_instance_id is not None and summary.mobilised
    assert summary.clock == DEMO_START


def test_every_official_demo_login_has_a_task_at_first_sign_in(demo: Runtime) -> None:
    logins = generate_city(DEFAULT_SEED).logins
    with demo.uow(write=False) as uow:
        waiting = {d.username: sum(inbox.inbox_counts(uow, actor_for(uow, d.username)).values())
                   for d in logins}
    assert {u for u, n in waiting.items() if n == 0} == CITY_LOGINS, waiting
    assert len(waiting) == len(CITY_LOGINS) + 5


def test_nothing_is_overdue_carded_or_late_at_the_start(demo: Runtime) -> None:
    with demo.uow(write=False) as uow:
        now = clock.now(uow)
        assert now == DEMO_START
        first_due = uow.session.scalar(select(func.min(HumanTask.due_at)).where(
            HumanTask.state == TaskState.OPEN))
        assert first_due is not None and first_due > now
        assert uow.session.scalar(select(func.count()).select_from(Notification).where(
            Notification.kind.in_(CARDS))) == 0
        assert list_milestone_reports(uow, CAMPAIGN_KEY) == []  # no unit judged 滞后 yet


def test_moving_the_clock_past_the_first_due_date_cards_once(demo: Runtime) -> None:
    with demo.uow(write=False) as uow:
        first_due = uow.session.scalar(select(func.min(HumanTask.due_at)).where(
            HumanTask.state == TaskState.OPEN))
        overdue_people = uow.session.scalar(select(func.count(HumanTask.id)).where(
            HumanTask.state == TaskState.OPEN, HumanTask.due_at == first_due))
    assert first_due is not None and overdue_people
    with demo.uow() as uow:
        moved = clock.move_clock(uow, to=first_due + timedelta(hours=1))
    assert moved.red_cards >= overdue_people  # each overdue task carded to its people
    with demo.uow(write=False) as uow:
        reds = uow.session.scalar(select(func.count()).select_from(Notification).where(
            Notification.kind == "red_card"))
    assert reds == moved.red_cards
    with demo.uow() as uow:
        again = clock.move_clock(uow, by=timedelta(minutes=1))
    assert again.red_cards == 0
    with demo.uow(write=False) as uow:
        assert uow.session.scalar(select(func.count()).select_from(Notification).where(
            Notification.kind == "red_card")) == reds


def test_loading_again_leaves_the_mobilised_campaign_alone(database_url: str,
                                                          demo_first_run_world: Template) -> None:
    """``irpm demo load --start-campaign`` (mobilising by default) on the loaded demo: the
    campaign is found and 广泛宣传发动, done already, is not done again."""
    runner = CliRunner(env={"IRPM_DATABASE_URL": database_url})
    result = runner.invoke(main, ["--json", "demo", "load", "--start-campaign"],
                           catch_exceptions=False)
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["campaign_instance_id"] == demo_first_run_world.seeded.campaign_instance_id
    assert payload["mobilised"] is False
    assert "mobilised already" in result.stderr
