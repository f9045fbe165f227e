"""The dashboard and the clock controls in a real browser, on the demo city: the
administrator opens the dashboard, every chart is drawn (a canvas in each box) without a
console error or a Content-Security-Policy refusal; opens the clock controls, is refused a
move of zero hours, advances the rehearsal clock 12 days — the waiting timer fires on the
way — and back on the dashboard the tasks that fell due show as red cards. Screenshots:
tests/artifacts/."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import ConsoleMessage, Page, expect

from engine.actors import Actor
from engine.parsing import read_sources
from engine.programme.demo import DEFAULT_PASSWORD
from engine.programme.services import organisation, register_grading, register_risk_points
from engine.services import deployment, instances
from engine.settings import Settings
from tests.conftest import FIXTURES
from tests.databases import Template
from tests.inbox_org import INBOX_CYCLE
from tests.web.conftest import programme_runtime

from .conftest import Screens

pytestmark = pytest.mark.browser

ADMIN = Actor("admin", frozenset(), is_admin=True)
CHARTS = ("post-levels", "risk-categories", "unit-levels", "unit-cards", "coverage")
#: 财政局 办公室 and 发展和改革委员会 办公室 posts of the demo city (default seed).
POSTS = ("CZJ-BGS-01", "CZJ-BGS-02", "CZJ-BGS-03", "FGW-BGS-01", "FGW-BGS-02")


@pytest.fixture
def city(settings: Settings, demo_city_world: Template) -> Iterator[None]:
    """The demo city (clock 2011-01-04 09:00, simulated) with risks found and posts graded,
    three inbox tasks due in 10 days, and one instance waiting on a two-day timer."""
    rt = programme_runtime(settings)
    with rt.uow() as uow:
        deployment.deploy(uow, read_sources([INBOX_CYCLE, FIXTURES / "timer_duration.bpmn"]),
                        deployed_by="tests")
    with rt.uow() as uow:
        for n, post in enumerate(POSTS):
            register_risk_points.add_risk_points(uow, {"post": post}, 2011, [{
                "category": ("duty", "process", "institutional", "external")[n % 4],
                "description": "审批环节自由裁量权过大", "found_by": "self_identified",
                "likelihood": ("high", "fairly_high", "low")[n % 3], "harm": "minor"}], ADMIN)
            register_grading.grade_post(uow, post, 2011, ADMIN)
    for post in POSTS[:3]:
        with rt.uow(write=False) as uow:
            found = organisation.get_post(uow, post)
            data = {"post_code": post, "department_code": found.department.code,
                    "unit_code": found.department.unit.code}
        with rt.uow() as uow:
            instances.start_instance(uow, "inbox_cycle", f"2011-{post}", data,
                                    actor=organisation.actor_for(uow, "admin"))
    with rt.uow() as uow:
        instances.start_instance(uow, "timer_duration", "rehearsal-wait", {},
                                actor=organisation.actor_for(uow, "admin"))
    yield
    rt.close()


def sign_in(page: Page, username: str) -> None:
    page.goto("/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(DEFAULT_PASSWORD)
    page.locator("#sign-in").click()
    expect(page.locator("#user-menu")).to_be_visible()


def test_charts_render_and_the_clock_advances_from_the_page(page: Page, city: None,
                                                            shots: Screens) -> None:
    problems: list[str] = []

    def console(message: ConsoleMessage) -> None:
        if message.type in ("error", "warning") or "Content Security Policy" in message.text:
            problems.append(f"{message.type}: {message.text}")

    page.on("console", console)
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    sign_in(page, "admin")
    page.locator("a[data-nav='dashboard.index']").click()
    expect(page).to_have_url(re.compile(r"/console/dashboard$"))
    expect(page.locator("h1")).to_contain_text("仪表盘")
    for chart in CHARTS:
        box = page.locator(f"[data-chart='{chart}']")
        expect(box).to_have_attribute("data-rendered", "true")
        expect(box.locator("canvas")).to_have_count(1)
        size = box.locator("canvas").bounding_box()
        assert size is not None and size["width"] > 100 and size["height"] > 100, chart
    expect(page.locator("[data-figure=graded]")).to_contain_text("5")
    expect(page.locator("[data-figure=red_cards]")).to_have_text("0")
    expect(page.locator("#milestones tr[data-milestone]")).to_have_count(4)
    expect(page.locator("#ranking tr[data-unit]")).to_have_count(12)
    shots(page, "dashboard")
    assert problems == []

    page.locator("#clock-controls").click()
    expect(page.locator("#clock-now")).to_have_text("2011-01-04 09:00")
    expect(page.locator("#clock-next-due")).to_contain_text("2011-01-06 09:00")
    page.locator("#advance-days").fill("0")
    page.locator("#advance-reason").fill("演练:推进到任务逾期")
    page.locator("#clock-advance").click()
    expect(page.locator("#advance-days-errors")).to_contain_text("至少推进一小时")
    expect(page.locator("#clock-now")).to_have_text("2011-01-04 09:00")
    shots(page, "clock-refused")
    # The browser reports the refusal's status 400 as a failed load: that one is expected.
    assert [p for p in problems if "status of 400" not in p] == []
    problems.clear()

    page.locator("#advance-days").fill("12")
    page.locator("#clock-advance").click()
    expect(page.locator(".alert-success")).to_contain_text("2011-01-16 09:00")
    expect(page.locator(".alert-success")).to_contain_text("1 个定时器")
    expect(page.locator("#clock-now")).to_have_text("2011-01-16 09:00")
    expect(page.locator("#clock-next-due")).to_contain_text("没有等待中的定时器")
    shots(page, "clock-advanced")

    page.goto("/console/dashboard")
    expect(page.locator("#clock-reading")).to_contain_text("2011-01-16 09:00")
    expect(page.locator("[data-figure=red_cards]")).to_have_text("3")
    expect(page.locator("#late-tasks tr[data-task]")).to_have_count(3)
    expect(page.locator("[data-chart='unit-cards'] canvas")).to_have_count(1)
    shots(page, "dashboard-after")
    assert problems == []


def test_the_commission_sees_the_dashboard_but_no_clock_controls(page: Page, city: None,
                                                                 shots: Screens) -> None:
    sign_in(page, "jiwei")
    page.goto("/console/dashboard")
    expect(page.locator("[data-chart='post-levels'] canvas")).to_have_count(1)
    expect(page.locator("#clock-controls")).to_have_count(0)
    response = page.goto("/console/clock")
    assert response is not None and response.status == 403
    shots(page, "commission-clock-refused")
