"""The inbox in a real browser, on the demo city: a post holder of 财政局 signs in, finds the
post cycle's task for their post among the tasks to claim, claims it and hands it to a
colleague; another official is refused the task's URL; the language switch and a phone
screen work. Screenshots of each screen: tests/artifacts/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from engine.models import HumanTask, TaskState
from engine.parsing import read_sources
from engine.programme.demo import DEFAULT_PASSWORD
from engine.programme.models import Official, Post
from engine.programme.services import organisation
from engine.runtime import Runtime
from engine.services import deployment, inbox, instances
from engine.settings import Settings
from tests.conftest import BPMN_DIR
from tests.databases import Template
from tests.web.conftest import programme_runtime

from .conftest import Screens

pytestmark = pytest.mark.browser

#: 财政局 办公室: a staff member (科员（文秘）), a colleague of the same office, and an
#: official of another unit (发展和改革委员会), by the demo city's default seed.
HOLDER, COLLEAGUE, OUTSIDER = "czj-0011", "czj-0012", "fgw-0011"


@dataclass(frozen=True)
class Cycle:
    instance_id: int
    task_id: str
    task_name: str
    post_name: str
    #: What the holder's navigation counts (the cycle may give their department more tasks).
    claimable: int


def _post_of(rt: Runtime, official_code: str) -> Post:
    with rt.uow(write=False) as uow:
        post = uow.session.scalars(select(Post).join(Official, Post.holder_id == Official.id)
                                   .where(Official.code == official_code)).one()
        _ = post.department.unit  # loaded while the unit of work is open
        return post


@pytest.fixture
def cycle(settings: Settings, demo_city_world: Template) -> Iterator[Cycle]:
    """The demo city, bpmn/ deployed, and a post cycle started for the holder's post, so its
    task for that post waits for them to claim it."""
    rt = programme_runtime(settings)
    with rt.uow() as uow:
        deployment.deploy(uow, read_sources([BPMN_DIR]), deployed_by="tests")
    post = _post_of(rt, HOLDER.upper())
    data = {**post.attributes(), "post_code": post.code, "post_name": post.name,
            "department_code": post.department.code, "unit_code": post.department.unit.code,
            "business_key": post.code, "year": 2011}
    with rt.uow() as uow:
        iid = instances.start_instance(uow, "post_cycle", post.code, data,
                                      actor=organisation.actor_for(uow, "admin")).id
    with rt.uow(write=False) as uow:
        [task] = [t for t in uow.session.scalars(select(HumanTask).where(
            HumanTask.instance_id == iid, HumanTask.state == TaskState.OPEN))
            if f"post:{post.code}" in t.candidate_groups]
        counts = inbox.inbox_counts(uow, organisation.actor_for(uow, HOLDER))
    yield Cycle(iid, str(task.id), task.name, post.name, counts["claimable"])
    rt.close()


def sign_in(page: Page, username: str, shots: Screens | None = None) -> None:
    page.goto("/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(DEFAULT_PASSWORD)
    if shots is not None:
        shots(page, "login")
    page.locator("#sign-in").click()
    expect(page.locator("#user-menu")).to_be_visible()


def test_a_post_holder_claims_their_task_and_delegates_it(page: Page, cycle: Cycle,
                                                           shots: Screens) -> None:
    page.goto("/inbox/mine")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    sign_in(page, HOLDER, shots)
    expect(page).to_have_url(re.compile(r"/inbox/mine$"))
    expect(page.locator("[data-role=empty]")).to_be_visible()
    claimable = page.locator("a[data-nav='inbox.tasks:claimable'] [data-count]")
    expect(claimable).to_have_text(str(cycle.claimable))
    shots(page, "mine-empty")

    page.locator("a[data-nav='inbox.tasks:claimable']").click()
    row = page.locator(f"tr[data-task='{cycle.task_id}']")
    expect(row).to_contain_text(cycle.task_name)
    expect(row).to_contain_text(cycle.post_name)
    expect(row).to_contain_text("财政局")
    shots(page, "claimable")

    row.locator("[data-action=claim]").click()
    expect(page.locator(".alert-success")).to_contain_text("已认领")
    page.locator("a[data-view=mine]").click()
    row = page.locator(f"tr[data-task='{cycle.task_id}']")
    expect(row).to_contain_text(cycle.task_name)
    expect(row.locator("[data-action=unclaim]")).to_be_visible()
    expect(page.locator("a[data-nav='inbox.tasks:mine'] [data-count]")).to_have_text("1")
    shots(page, "mine-claimed")

    row.locator("[data-action=delegate]").click()
    page.get_by_label("同事").select_option(COLLEAGUE)
    page.get_by_label("转办理由").fill("本人下周出差，请代为查找本岗位风险")
    shots(page, "delegate")
    page.locator("#delegate-submit").click()
    expect(page.locator(".alert-success")).to_contain_text("转办")
    expect(page.locator(f"tr[data-task='{cycle.task_id}']")).to_have_count(0)
    shots(page, "after-delegate")


def test_the_inbox_switches_to_english_and_fits_a_phone(page: Page, cycle: Cycle,
                                                        shots: Screens) -> None:
    sign_in(page, HOLDER)
    page.goto("/inbox/claimable")
    page.locator("button[data-lang=en]").click()
    expect(page.locator("h1")).to_have_text("To claim")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    shots(page, "english")
    page.locator("button[data-lang=zh_CN]").click()
    expect(page.locator("h1")).to_have_text("待认领")

    page.set_viewport_size({"width": 390, "height": 844})
    expect(page.locator(".navbar-toggler")).to_be_visible()
    row = page.locator(f"tr[data-task='{cycle.task_id}']")
    expect(row.locator("[data-action=claim]")).to_be_visible()
    shots(page, "phone")
    page.locator(".navbar-toggler").click()
    expect(page.locator("a[data-nav='inbox.tasks:mine']")).to_be_visible()
    shots(page, "phone-menu")


def test_an_official_of_another_unit_is_refused_the_task_by_url(page: Page, cycle: Cycle,
                                                                shots: Screens) -> None:
    page.goto(f"/tasks/{cycle.task_id}")
    expect(page).to_have_url(re.compile(r"/login\?next=/tasks/"))

    sign_in(page, OUTSIDER)
    response = page.goto(f"/tasks/{cycle.task_id}")
    assert response is not None and response.status == 403
    expect(page.locator("h1")).to_have_text("无权访问")
    expect(page.locator("body")).not_to_contain_text(cycle.task_name)
    shots(page, "refused")

    page.locator("#user-menu").click()
    page.locator("#sign-out").click()
    sign_in(page, HOLDER)
    response = page.goto(f"/tasks/{cycle.task_id}")
    assert response is not None and response.status == 200
    expect(page.locator("#task-name")).to_have_text(cycle.task_name)
    shots(page, "task-page")
