"""Task context in a real browser, on the demo city, at a laptop's width (1366 px) and a
phone's (390 px): the discipline officer deciding a citizen's feedback reads it beside the
form and, answering 否, is no longer asked to classify it; the post's holder correcting a
shortfall reads which one. Screenshots: tests/artifacts/."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from engine.programme.demo import DEFAULT_PASSWORD
from engine.programme.models import Official, Post
from engine.programme.services import feedback
from engine.runtime import Runtime
from engine.settings import Settings
from tests.databases import Template
from tests.web.conftest import programme_runtime
from tests.web.correction_cycle import to_correction
from tests.web.publicity_cycle import YEAR, deploy_programme, open_task, to_publicity

from .conftest import Screens

pytestmark = pytest.mark.browser

#: 财政局 办公室's 科员（文秘） (login czj-0011) and the unit's discipline officer.
HOLDER, OFFICER = "CZJ-0011", "czj-0004"
TEXT, CONTACT = "窗口办事要求先请吃饭,已经两次", "138-0000-1234"
SHORTFALL = "岗位廉政风险台账缺少三月份的登记"
WIDTHS = {"laptop": (1366, 860), "phone": (390, 844)}


def sign_in(page: Page, username: str) -> None:
    """Sign in and land on the inbox (the user menu may be folded away on a phone)."""
    page.goto("/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(DEFAULT_PASSWORD)
    page.locator("#sign-in").click()
    page.wait_for_url("**/inbox/**")


@dataclass(frozen=True)
class Cycle:
    rt: Runtime
    instance_id: int
    post_code: str


@pytest.fixture
def cycle(settings: Settings, demo_city_world: Template) -> Iterator[Cycle]:
    """The demo city with bpmn/ deployed and the holder's post in publicity."""
    rt = programme_runtime(settings)
    deploy_programme(rt)
    with rt.uow(write=False) as uow:
        code = uow.session.scalars(select(Post.code).join(
            Official, Post.holder_id == Official.id).where(Official.code == HOLDER)).one()
    yield Cycle(rt, to_publicity(rt, code), code)
    rt.close()


@pytest.mark.parametrize("width", list(WIDTHS))
def test_the_officer_deciding_feedback_reads_it_and_rejects_without_classifying(
        page: Page, cycle: Cycle, shots: Screens, width: str) -> None:
    page.set_viewport_size(dict(zip(("width", "height"), WIDTHS[width], strict=True)))
    with cycle.rt.uow() as uow:
        assert feedback.submit_feedback(uow, cycle.post_code, TEXT, CONTACT,
                                        year=YEAR).delivered
    task_id = open_task(cycle.rt, cycle.instance_id, "suggestion_review")
    sign_in(page, OFFICER)
    page.goto(f"/tasks/{task_id}")
    context = page.locator("#task-context")
    expect(context).to_contain_text("任务上下文")
    expect(context.locator('[data-context="suggestion.text"]')).to_have_text(TEXT)
    expect(context.locator('[data-context="suggestion.contact"]')).to_have_text(CONTACT)
    box = context.bounding_box()
    assert box is not None and box["x"] + box["width"] <= WIDTHS[width][0]  # fits the width
    category = page.locator('[data-field="suggestion_category"]')
    expect(category).to_be_hidden()  # not asked for until the answer needs it
    page.locator("#f-suggestion_accepted-true").check()
    expect(category).to_be_visible()
    shots(page, f"{width}-accepting-asks-for-the-class")
    page.locator("#f-suggestion_accepted-false").check()
    expect(category).to_be_hidden()
    page.locator("#f-suggestion_remarks").fill("反映的是窗口服务态度,不构成本岗位风险点")
    shots(page, f"{width}-feedback-rejected")
    page.locator("#task-submit").click()
    expect(page.locator(".alert-success")).to_contain_text("审核群众意见")


def test_the_holder_correcting_a_shortfall_reads_which_one(
        page: Page, cycle: Cycle, shots: Screens) -> None:
    task_id = to_correction(cycle.rt, cycle.instance_id, SHORTFALL)
    sign_in(page, HOLDER.lower())
    for width, size in WIDTHS.items():
        page.set_viewport_size({"width": size[0], "height": size[1]})
        page.goto(f"/tasks/{task_id}")
        context = page.locator("#task-context")
        expect(context.locator('[data-context="shortfall"]')).to_have_text(SHORTFALL)
        expect(context).to_contain_text("考核发现的问题")
        expect(context).to_contain_text("总体良好")
        shots(page, f"{width}-correction-names-its-shortfall")
