"""The task page in a real browser, on the demo city: a post holder of 财政局 signs in, opens
their 自己找 task, adds two risk points with the row adder (JavaScript), attaches a file,
sees a mistake marked at its field, corrects it and submits; the department head then opens
their next task of the post cycle (领导点), sees the two risk points in the post's register,
the history and the diagram with their step highlighted, points out one more risk and
submits. Screenshots of each screen:
tests/artifacts/."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from engine.models import Evidence, HumanTask, TaskDraft, TaskState
from engine.parsing import read_sources
from engine.programme.models import Official, Post, RiskPoint
from engine.programme.services import organisation
from engine.runtime import Runtime
from engine.services import deployment, instances, tasks
from engine.settings import Settings
from tests.conftest import BPMN_DIR
from tests.databases import Template
from tests.web.conftest import programme_runtime
from web import create_app

from .conftest import LiveServer, Screens
from .test_inbox_browser import sign_in

pytestmark = pytest.mark.browser

#: 财政局 办公室: a staff member (科员（文秘）), a colleague (互相查) and the office's head.
HOLDER, COLLEAGUE, HEAD = "czj-0011", "czj-0012", "czj-0009"
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<<>>\n%%EOF\n"


@dataclass
class Cycle:
    rt: Runtime
    instance_id: int
    post_code: str
    post_name: str

    def task(self, element_id: str) -> HumanTask:
        with self.rt.uow(write=False) as uow:
            [task] = uow.session.scalars(select(HumanTask).where(
                HumanTask.instance_id == self.instance_id, HumanTask.element_id == element_id))
            return task

    def points(self) -> list[RiskPoint]:
        with self.rt.uow(write=False) as uow:
            return list(uow.session.scalars(select(RiskPoint).order_by(RiskPoint.id)))

    def count(self, model: type[Evidence] | type[TaskDraft]) -> int:
        with self.rt.uow(write=False) as uow:
            return len(list(uow.session.scalars(select(model))))


@pytest.fixture
def live_app(settings: Settings, tmp_path: Path) -> Iterator[Flask]:
    """The app of tests/browser/conftest.py, keeping evidence files under tmp_path."""
    app = create_app({"IRPM_SETTINGS": settings, "SECRET_KEY": "browser-test-secret-key",
                      "IRPM_EVIDENCE_DIR": str(tmp_path / "evidence")})
    yield app
    app.extensions["irpm"].close()


@pytest.fixture
def cycle(settings: Settings, demo_city_world: Template) -> Iterator[Cycle]:
    """The demo city, bpmn/ deployed and the holder's post cycle started."""
    rt = programme_runtime(settings)
    with rt.uow() as uow:
        deployment.deploy(uow, read_sources([BPMN_DIR]), deployed_by="tests")
    with rt.uow(write=False) as uow:
        post = uow.session.scalars(select(Post).join(Official, Post.holder_id == Official.id)
                                   .where(Official.code == HOLDER.upper())).one()
        data = {**post.attributes(), "post_code": post.code, "post_name": post.name,
                "department_code": post.department.code,
                "unit_code": post.department.unit.code, "year": 2011}
        code, name = post.code, post.name
    with rt.uow() as uow:
        iid = instances.start_instance(uow, "post_cycle", code, data,
                                      actor=organisation.actor_for(uow, "admin")).id
    yield Cycle(rt, iid, code, name)
    rt.close()


def fill_risk(page: Page, row: int, category: str, description: str, likelihood: str,
              harm: str) -> None:
    page.locator(f"select[name='risks.{row}.category']").select_option(label=category)
    page.locator(f"textarea[name='risks.{row}.description']").fill(description)
    page.locator(f"select[name='risks.{row}.likelihood']").select_option(label=likelihood)
    page.locator(f"select[name='risks.{row}.harm']").select_option(label=harm)


def expect_diagram(page: Page, element_id: str) -> None:
    diagram = page.locator("#diagram")
    expect(diagram).to_have_attribute("data-state", "ready")
    expect(diagram).to_have_attribute("data-current", element_id)
    expect(diagram.locator(f".djs-element.irpm-current[data-element-id='{element_id}']")
           ).to_be_visible()


def test_a_post_holder_finds_two_risks_and_the_department_head_reviews_them(
        page: Page, cycle: Cycle, shots: Screens) -> None:
    task = cycle.task("self_identified")
    # Script errors and CSP refusals (inline script or style) would show up here.
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    sign_in(page, HOLDER, shots)
    page.locator("a[data-nav='inbox.tasks:claimable']").click()
    row = page.locator(f"tr[data-task='{task.id}']")
    expect(row).to_contain_text("自己找")
    shots(page, "claimable")
    row.get_by_role("link", name="自己找").click()

    # The task page: the form from the schema, the post's register, the diagram.
    expect(page.locator("#task-name")).to_have_text("自己找")
    expect(page.locator("[data-role=found-by]")).to_have_text("自己找")
    expect(page.locator("#register [data-role=post]")).to_contain_text(cycle.post_name)
    expect(page.locator("[data-role=register-empty]")).to_be_visible()
    expect_diagram(page, "self_identified")
    shots(page, "discovery-form")

    page.locator("[data-action=claim]").click()
    expect(page.locator(".alert-success")).to_contain_text("已认领")
    expect(page.locator("[data-role=assignee]")).to_have_text(HOLDER)

    # Two risk points: the second row comes from the row adder, in the page (no request).
    fill_risk(page, 0, "岗位职责风险", "起草公文时接触涉密信息，可能泄露工作秘密", "几率较小",
              "可能受到纪律处分")
    page.evaluate("window.irpmNoReload = true")
    page.get_by_role("button", name="+ 添加廉政风险点").click()
    expect(page.locator("[data-row]")).to_have_count(2)
    expect(page.locator("select[name='risks.1.category']")).to_be_focused()
    assert page.evaluate("window.irpmNoReload") is True
    expect(page.locator("[data-row='risks.1'] [data-row-number]")).to_have_text("2")
    # A third row, added and removed again.
    page.get_by_role("button", name="+ 添加廉政风险点").click()
    expect(page.locator("[data-row]")).to_have_count(3)
    page.locator("[data-row='risks.2'] [data-remove-row]").click()
    expect(page.locator("[data-row]")).to_have_count(2)
    assert page.evaluate("window.irpmNoReload") is True
    # The second risk, but with its description forgotten.
    page.locator("select[name='risks.1.category']").select_option(label="业务流程风险")
    page.locator("select[name='risks.1.likelihood']").select_option(label="几率较高")
    page.locator("select[name='risks.1.harm']").select_option(label="不良社会影响或一定经济损失")
    page.locator("#evidence-file").set_input_files(files=[{
        "name": "办文流程说明.pdf", "mimeType": "application/pdf", "buffer": PDF}])
    shots(page, "two-risks")

    page.locator("#task-submit").click()
    expect(page.locator("#form-errors")).to_contain_text("任务未提交")
    expect(page.locator("#f-risks-1-description-errors")).to_have_text("此项为必填项。")
    expect(page.locator("#f-risks-1-description")).to_have_class(re.compile("is-invalid"))
    # Nothing typed was lost, and the file was attached on the way.
    expect(page.locator("textarea[name='risks.0.description']")).to_have_value(
        "起草公文时接触涉密信息，可能泄露工作秘密")
    expect(page.locator("select[name='risks.1.likelihood']")).to_have_value("fairly_high")
    expect(page.locator("#evidence-list")).to_contain_text("办文流程说明.pdf")
    shots(page, "error-at-field")

    page.locator("#f-risks-1-description").fill("公文流转环节缺少登记，可能被篡改或延误")
    page.locator("#task-submit").click()
    expect(page).to_have_url(re.compile(r"/inbox/mine$"))
    expect(page.locator(".alert-success")).to_contain_text("“自己找”已提交")
    shots(page, "submitted")

    assert [(p.category, p.found_by, p.created_by) for p in cycle.points()] == [
        ("duty", "self_identified", HOLDER), ("process", "self_identified", HOLDER)]
    assert cycle.count(Evidence) == 1 and cycle.count(TaskDraft) == 0

    # 互相查 by a colleague (not what this test is about: through the engine).
    with cycle.rt.uow() as uow:
        tasks.complete_task(uow, cycle.task("peer_checked").id,
                               organisation.actor_for(uow, COLLEAGUE), {"risks": []})

    # The department head: 领导点, the next task of the cycle for them.
    page.locator("#user-menu").click()
    page.locator("#sign-out").click()
    sign_in(page, HEAD)
    leader = cycle.task("leader_pointed")
    page.locator("a[data-nav='inbox.tasks:claimable']").click()
    page.locator(f"tr[data-task='{leader.id}']").get_by_role("link", name="领导点").click()
    expect(page.locator("#task-name")).to_have_text("领导点")
    points_shown = page.locator("#register-points [data-risk-point]")
    expect(points_shown).to_have_count(2)
    expect(points_shown.first).to_contain_text("起草公文时接触涉密信息")
    expect(points_shown.first).to_contain_text("自己找")
    expect(points_shown.last).to_contain_text("公文流转环节缺少登记")
    with cycle.rt.uow(write=False) as uow:  # people by name, not by login
        holder = organisation.get_account(uow, "czj-0011").official
    assert holder is not None
    expect(page.locator("#history")).to_contain_text(f"办结任务 · 自己找 · {holder.name}")
    expect_diagram(page, "leader_pointed")
    expect(page.locator(".djs-element.irpm-done[data-element-id='self_identified']")
           ).to_be_visible()
    shots(page, "review")

    page.locator("[data-action=claim]").click()
    expect(page.locator("[data-role=assignee]")).to_have_text(HEAD)
    # 领导点 may add nothing (no row to start with); the head points out one more risk.
    expect(page.locator("[data-row]")).to_have_count(0)
    page.get_by_role("button", name="+ 添加廉政风险点").click()
    fill_risk(page, 0, "制度机制风险", "办公室采购未执行比价程序", "几率较高",
              "可能受到纪律处分")
    shots(page, "review-ready")
    page.locator("#task-submit").click()
    expect(page).to_have_url(re.compile(r"/inbox/mine$"))
    expect(page.locator(".alert-success")).to_contain_text("“领导点”已提交")
    shots(page, "reviewed")
    # Only the rejected submit's 400.
    assert problems == ["Failed to load resource: the server responded with a status of 400 "
                        "(BAD REQUEST)"], problems
    done = cycle.task("leader_pointed")
    assert (done.state, done.completed_by) == (TaskState.COMPLETED, HEAD)
    assert [(p.found_by, p.created_by) for p in cycle.points()][2:] == [
        ("leader_pointed", HEAD)]


def test_without_javascript_the_form_still_adds_rows_and_submits(
        browser: Browser, live_server: LiveServer, cycle: Cycle, shots: Screens) -> None:
    """The same form with JavaScript off: the add button posts the form and the server
    draws the extra row; typed values survive; the submit works."""
    context = browser.new_context(base_url=live_server.url, locale="zh-CN",
                                  java_script_enabled=False,
                                  viewport={"width": 1280, "height": 860})
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        task = cycle.task("self_identified")
        sign_in(page, HOLDER)
        page.goto(f"/tasks/{task.id}")
        expect(page.locator("#diagram noscript")).to_have_count(1)
        fill_risk(page, 0, "制度机制风险", "印章管理制度不健全", "几率较小", "可能受到纪律处分")
        page.get_by_role("button", name="+ 添加廉政风险点").click()
        expect(page.locator("[data-row]")).to_have_count(2)
        expect(page.locator("textarea[name='risks.0.description']")).to_have_value(
            "印章管理制度不健全")
        fill_risk(page, 1, "外部环境风险", "服务对象请托办事", "几率高", "可能触犯法律、构成犯罪")
        shots(page, "no-js-two-rows")
        page.locator("#task-submit").click()
        expect(page).to_have_url(re.compile(r"/inbox/mine$"))
        assert [p.description for p in cycle.points()] == ["印章管理制度不健全", "服务对象请托办事"]
        assert cycle.task("self_identified").completed_by == HOLDER
    finally:
        context.close()


def test_an_unknown_task_id_is_not_found(page: Page, cycle: Cycle) -> None:
    sign_in(page, HOLDER)
    response = page.goto(f"/tasks/{uuid.uuid4()}")
    assert response is not None and response.status == 404
