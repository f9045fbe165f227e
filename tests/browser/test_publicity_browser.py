"""The publicity page (公示) in a real browser, on the demo city: a post of 财政局 is taken to
publicity through the engine (its cycle's tasks completed by the people they go to, on the
simulated clock); a member of the public — not signed in — finds the unit, reads the post's
level and responsible leaders, sends an opinion (群众提); the unit's discipline officer signs
in and finds it in the inbox as 审核群众意见, and in the notifications. Screenshots of each
screen: tests/artifacts/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from engine.programme.demo import DEFAULT_PASSWORD
from engine.programme.models import Official, Post
from engine.programme.services import register_pages
from engine.settings import Settings
from tests.databases import Template
from tests.web.conftest import programme_runtime
from tests.web.publicity_cycle import YEAR, deploy_programme, to_publicity

from .conftest import Screens

pytestmark = pytest.mark.browser

#: 财政局 办公室's 科员（文秘） and the unit's discipline officer (纪检组长), by the demo
#: city's default seed.
HOLDER, OFFICER = "CZJ-0011", "czj-0004"


@dataclass(frozen=True)
class Published:
    instance_id: int
    post_code: str
    post_name: str
    level: int
    responsible_name: str


@pytest.fixture
def published(settings: Settings, demo_city_world: Template) -> Iterator[Published]:
    """The demo city with bpmn/ deployed and the holder's post in publicity."""
    rt = programme_runtime(settings)
    deploy_programme(rt)
    with rt.uow(write=False) as uow:
        post = uow.session.scalars(select(Post).join(Official, Post.holder_id == Official.id)
                                   .where(Official.code == HOLDER)).one()
        code, name = post.code, post.name
    iid = to_publicity(rt, code)
    with rt.uow(write=False) as uow:
        published = register_pages.unit_publicity(uow, "CZJ", YEAR)
        [entry] = [e for e in published if e.post_code == code]
    assert entry.responsible_name
    yield Published(iid, code, name, entry.level, entry.responsible_name)
    rt.close()


def sign_in(page: Page, username: str) -> None:
    page.goto("/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(DEFAULT_PASSWORD)
    page.locator("#sign-in").click()
    expect(page.locator("#user-menu")).to_be_visible()


def test_public_feedback_on_the_publicity_page_reaches_the_discipline_officer(
        page: Page, published: Published, shots: Screens) -> None:
    level = {1: "一级", 2: "二级", 3: "三级"}[published.level]

    # A member of the public: no sign-in, the navigation's public entry.
    page.goto("/publicity/")
    expect(page.locator("#user-menu")).to_have_count(0)
    unit = page.locator("a[data-unit=CZJ]")
    expect(unit).to_contain_text("财政局")
    expect(unit).to_contain_text("1 个岗位公示中")
    shots(page, "publicity-index")

    unit.click()
    expect(page.locator("h1")).to_have_text(f"财政局 {YEAR} 年度岗位廉政风险等级公示")
    row = page.locator(f"tr[data-post='{published.post_code}']")
    expect(row).to_contain_text(published.post_name)
    expect(row.locator("[data-level]")).to_have_text(level)
    expect(row.locator("[data-role=responsible]")).to_contain_text(published.responsible_name)
    expect(row).to_contain_text("公示中")
    expect(page.locator("body")).not_to_contain_text(re.compile(r"czj-\d{4}"))
    shots(page, "publicity-unit")

    row.locator("[data-action=feedback]").click()
    expect(page.locator("#feedback-form")).to_be_visible()
    expect(page.locator("input[name=website]")).not_to_be_in_viewport()  # the honeypot
    page.locator("#feedback-submit").click()  # nothing written: the form says what is missing
    expect(page.locator("#text-errors")).to_have_text("请填写您的意见。")
    shots(page, "feedback-missing-text")

    page.get_by_label("您的意见").fill("该岗位办理公文时存在拖延现象，建议公开办理时限。")
    page.get_by_label("联系方式（可选）").fill("139-0000-1234")
    shots(page, "feedback-form")
    page.locator("#feedback-submit").click()
    expect(page.locator(".alert-success")).to_contain_text("您的意见已收到，将由本单位纪检监察员审核")
    expect(page).to_have_url(re.compile(rf"/publicity/CZJ/{YEAR}$"))
    shots(page, "feedback-sent")

    page.set_viewport_size({"width": 390, "height": 844})
    expect(page.locator(f"tr[data-post='{published.post_code}'] [data-action=feedback]")
           ).to_be_visible()
    shots(page, "publicity-phone")
    page.set_viewport_size({"width": 1280, "height": 860})

    # The unit's discipline officer finds it among the tasks to claim and in the notices.
    sign_in(page, OFFICER)
    badge = page.locator("a[data-nav='notifications.index'] [data-count=unread]")
    expect(badge).to_be_visible()
    page.locator("a[data-nav='inbox.tasks:claimable']").click()
    review = page.locator("tr[data-task]", has_text="审核群众意见")
    expect(review).to_have_count(1)
    expect(review).to_contain_text(published.post_name)
    shots(page, "officer-inbox")

    page.locator("a[data-nav='notifications.index']").click()
    note = page.locator("[data-notification][data-kind=task]", has_text="审核群众意见")
    expect(note).to_have_count(1)
    expect(note).to_have_attribute("data-unread", "true")
    shots(page, "officer-notifications")
    note.locator("[data-action=open]").click()
    expect(page).to_have_url(re.compile(r"/tasks/[0-9a-f-]+$"))
    shots(page, "officer-task")
