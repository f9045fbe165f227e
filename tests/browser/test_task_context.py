"""Task context in a real browser, on the demo city, at a laptop's width (1366 px) and a
phone's (390 px): the discipline officer deciding a citizen's feedback reads it beside the
form and, answering 否, is no longer asked to classify it; the post's holder correcting a
shortfall reads which one. Screenshots: tests/artifacts/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from engine.parsing import Source, parse_xml, read_sources
from engine.passwords import hash_password
from engine.programme.demo import DEFAULT_PASSWORD
from engine.programme.models import Official, Post
from engine.programme.services import feedback
from engine.programme.services.organisation import save_account
from engine.runtime import Runtime
from engine.services.deployment import deploy
from engine.settings import Settings
from engine.task_context import read_fields
from tests.conftest import BPMN_DIR
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


DESIGNER_PASSWORD = "irpm-designer-1"


@pytest.fixture
def designed(settings: Settings) -> Iterator[Runtime]:
    """bpmn/ deployed and a designer's account."""
    rt = Runtime(settings)
    with rt.uow() as uow:
        save_account(uow, "designer", password_hash=hash_password(DESIGNER_PASSWORD),
                     roles={"designer"})
        deploy(uow, read_sources([BPMN_DIR]), deployed_by="setup")
    yield rt
    rt.close()


def test_the_designer_edits_a_tasks_context_and_it_survives_the_round_trip(
        page: Page, designed: Runtime, shots: Screens) -> None:
    page.set_viewport_size({"width": 1366, "height": 860})
    page.goto("/login")
    page.get_by_label("用户名").fill("designer")
    page.get_by_label("密码").fill(DESIGNER_PASSWORD)
    page.locator("#sign-in").click()
    expect(page.locator("#user-menu")).to_be_visible()
    page.goto("/designer/bpmn/post_cycle")
    expect(page.locator("#canvas")).to_have_attribute("data-state", "ready")
    page.locator('.djs-element[data-element-id="correct_shortfall"]').click()
    group = page.locator('[data-group-id="group-irpm-task-context"]')
    expect(group).to_contain_text("任务上下文")
    fields = page.locator("#bio-properties-panel-irpm-context")
    expect(fields).to_have_value(re.compile(
        r"^shortfall \| 考核发现的问题 \| Shortfall found by the assessment\n"))
    shipped = fields.input_value()
    fields.fill(shipped + "\n风险 | 等级")
    expect(group).to_contain_text("第 4 行: 来源须是变量路径")
    fields.fill(shipped + "\npost_level | 风险等级 | Risk level")
    page.locator("#btn-validate").click()
    expect(page.locator("#problems")).to_have_attribute("data-count", "0")
    shots(page, "designer-task-context", full_page=False)
    xml = page.evaluate("async () => (await window.irpmDesigner.modeler.saveXML()).xml")
    root = parse_xml(Source("post_cycle.bpmn", xml.encode()))
    [task] = root.xpath("//*[@id='correct_shortfall']")
    assert [(f.source, f.label, f.label_en, f.optional) for f in read_fields(task)] == [
        ("shortfall", "考核发现的问题", "Shortfall found by the assessment", False),
        ("assessment_score", "考核得分", "Assessment score", False),
        ("assessment_remarks", "考核评语", "Assessment remarks", True),
        ("post_level", "风险等级", "Risk level", False)]
    # Elements the panel did not touch keep theirs, the other extensions included.
    [review] = root.xpath("//*[@id='suggestion_review']")
    assert [f.source for f in read_fields(review)] == ["suggestion.text", "suggestion.contact"]
    assert task.find(".//{*}property[@name='formSchema']") is not None
