"""The principal sees a level-1 task, in a real browser, on the demo city. A post of 财政局
is taken through its cycle by the engine — each task completed by the person it is routed
to — with a high risk that makes it 一级; its publicity ends on the simulated clock, and the
control steps begin. Responsibility follows the level (bpmn/responsibility.dmn: 一级 — the
unit's principal answers for the post, the deputy in charge manages it directly), so
制定前期预防措施 and 廉政谈话 land among the principal's tasks to claim: 局长 (czj-0001) signs in,
sees them with the post, its level and the due date, opens the measures task — the form,
the post's register at level 1, the diagram with the step highlighted — and submits it.
The deputy in charge (czj-0002) does not get them (中期监控 is theirs). Screenshots of each
screen: tests/artifacts/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from engine.models import HumanTask, TaskState
from engine.programme.demo import DEMO_START
from engine.programme.models import Official, Post
from engine.programme.services import organisation, register_pages
from engine.runtime import Runtime
from engine.services import timers
from engine.settings import Settings
from tests.databases import Template
from tests.web.conftest import programme_runtime
from tests.web.publicity_cycle import deploy_programme, to_publicity

from .conftest import Screens
from .test_inbox_browser import sign_in
from .test_task_browser import expect_diagram

pytestmark = pytest.mark.browser

#: 财政局 (default seed): 局长 (the principal), 常务副局长 (deputy in charge of 办公室), and the
#: 办公室 staff member whose post becomes level 1.
PRINCIPAL, DEPUTY, HOLDER = "czj-0001", "czj-0002", "CZJ-0011"
PREVENTION, TALK, MONITORING = "制定前期预防措施", "廉政谈话", "中期监控"


@dataclass(frozen=True)
class LevelOne:
    rt: Runtime
    instance_id: int
    post_code: str
    post_name: str
    prevention_id: str
    talk_id: str
    #: The measures' due date as the inbox shows it (Beijing time).
    prevention_due: str

    def task(self, element_id: str) -> HumanTask:
        with self.rt.uow(write=False) as uow:
            [task] = uow.session.scalars(select(HumanTask).where(
                HumanTask.instance_id == self.instance_id, HumanTask.element_id == element_id))
            return task


@pytest.fixture
def level_one(settings: Settings, demo_city_world: Template) -> Iterator[LevelOne]:
    """The demo city, bpmn/ deployed; the holder's post graded 一级 and published; the
    publicity period over, so the post's control steps are open."""
    rt = programme_runtime(settings)
    deploy_programme(rt)
    with rt.uow(write=False) as uow:
        post = uow.session.scalars(select(Post).join(Official, Post.holder_id == Official.id)
                                   .where(Official.code == HOLDER)).one()
        code, name = post.code, post.name
    iid = to_publicity(rt, code, high_risk=True)
    with rt.uow(write=False) as uow:
        published = register_pages.unit_publicity(uow, "CZJ", 2011)
        [entry] = [e for e in published if e.post_code == code]
        leaders = organisation.leaders_for(uow, code)
    assert entry.level == 1, "a high risk makes the post 一级"
    assert (leaders.principal, leaders.deputy_in_charge) == (PRINCIPAL, DEPUTY)
    with rt.uow() as uow:  # the publicity period (7 days) ends on the simulated clock
        timers.advance_to(uow, DEMO_START + timedelta(days=8))
    with rt.uow(write=False) as uow:
        open_tasks = {t.element_id: t for t in uow.session.scalars(select(HumanTask).where(
            HumanTask.instance_id == iid, HumanTask.state == TaskState.OPEN))}
    prevention, talk = open_tasks["prevention"], open_tasks["integrity_talk"]
    assert prevention.candidate_groups == ["principal:CZJ"]
    assert prevention.due_at is not None
    due = prevention.due_at.astimezone(DEMO_START.tzinfo).strftime("%Y-%m-%d %H:%M")
    yield LevelOne(rt, iid, code, name, str(prevention.id), str(talk.id), due)
    rt.close()


def sign_out(page: Page) -> None:
    page.locator("#user-menu").click()
    page.locator("#sign-out").click()


def test_the_principal_sees_a_level_one_task(page: Page, level_one: LevelOne,
                                             shots: Screens) -> None:
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))

    # The principal: both control steps of the level-1 post wait to be claimed.
    sign_in(page, PRINCIPAL, shots)
    claimable = page.locator("a[data-nav='inbox.tasks:claimable']")
    expect(claimable.locator("[data-count]")).to_have_text("2")
    claimable.click()
    rows = page.locator("#inbox-table tr[data-task]")
    expect(rows).to_have_count(2)
    for task_id, name in ((level_one.prevention_id, PREVENTION), (level_one.talk_id, TALK)):
        row = page.locator(f"tr[data-task='{task_id}']")
        expect(row.get_by_role("link", name=name)).to_be_visible()
        expect(row.locator("[data-role=post]")).to_contain_text(level_one.post_name)
        expect(row.locator("[data-level='1']")).to_have_text("一级")
        expect(row).to_contain_text("财政局")
    prevention = page.locator(f"tr[data-task='{level_one.prevention_id}']")
    expect(prevention.locator("[data-label='办理期限']")).to_have_text(level_one.prevention_due)
    shots(page, "principal-claimable")

    # The task page: the form, the post's register (level 1), the diagram.
    prevention.get_by_role("link", name=PREVENTION).click()
    expect(page).to_have_url(re.compile(rf"/tasks/{level_one.prevention_id}$"))
    expect(page.locator("#task-name")).to_have_text(PREVENTION)
    expect(page.locator("#form-card")).to_contain_text("前期预防措施")
    description = page.locator("[name='measures.0.description']")
    expect(description).to_be_editable()
    expect(page.locator("#register [data-role=post]")).to_contain_text(level_one.post_name)
    expect(page.locator("#register [data-role=level]")).to_contain_text("一级")
    expect(page.locator("#register-points [data-risk-point]").first).to_contain_text(
        "审批材料把关不严")
    expect(page.locator("#history")).to_contain_text("严格审核把关")
    expect_diagram(page, "prevention")
    expect(page.locator(".djs-element.irpm-done[data-element-id='review']")).to_be_visible()
    shots(page, "prevention-task")

    description.fill("档案借阅实行登记和双人审批，每季度核对一次")
    page.locator("#task-submit").click()
    expect(page).to_have_url(re.compile(r"/inbox/mine$"))
    expect(page.locator(".alert-success")).to_contain_text(f"“{PREVENTION}”已提交")
    shots(page, "prevention-submitted")
    done = level_one.task("prevention")
    assert (done.state, done.completed_by) == (TaskState.COMPLETED, PRINCIPAL)
    page.locator("a[data-nav='inbox.tasks:claimable']").click()
    expect(page.locator(f"tr[data-task='{level_one.talk_id}']")).to_be_visible()
    expect(page.locator("#inbox-table tr[data-task]")).to_have_count(1)
    sign_out(page)

    # The deputy in charge manages the post directly: 中期监控 is theirs, the principal's
    # control steps are not among their tasks.
    sign_in(page, DEPUTY)
    page.locator("a[data-nav='inbox.tasks:claimable']").click()
    rows = page.locator("#inbox-table tr[data-task]")
    expect(rows.filter(has_text=MONITORING)).to_have_count(1)
    expect(rows.filter(has_text=TALK)).to_have_count(0)
    expect(rows.filter(has_text=PREVENTION)).to_have_count(0)
    expect(page.locator(f"tr[data-task='{level_one.talk_id}']")).to_have_count(0)
    shots(page, "deputy-claimable")
    page.locator("a[data-nav='inbox.tasks:mine']").click()
    expect(page.locator("[data-role=empty]")).to_be_visible()
    # Overseeing the department, the deputy may follow the talk, not do it.
    page.goto(f"/tasks/{level_one.talk_id}")
    expect(page.locator("#task-name")).to_have_text(TALK)
    expect(page.locator("[data-role=read-only]")).to_be_visible()
    expect(page.locator("#task-form")).to_have_count(0)
    shots(page, "deputy-follows-talk")
    assert problems == [], problems
