"""Long work in the background, in a real browser (issue 16 point 4): submitting a task
whose step starts many instances answers at once with the job's page, whose progress bar
(job-progress.js, reading GET /api/v1/jobs/<id>) moves to 100 % once the job has run — here
run by the test as the scheduler would. Screenshots: tests/artifacts/."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from engine.parsing import Source
from engine.runtime import Runtime
from engine.services import deployment, instances, jobs
from engine.settings import Settings
from tests.conftest import FIXTURES
from tests.databases import Template
from tests.web.conftest import programme_runtime

from .conftest import Screens
from .test_inbox_browser import sign_in

pytestmark = pytest.mark.browser

STARTER = "czj-0011"  # a demo city official
ITEMS = 30


@pytest.fixture
def go_task(settings: Settings, demo_city_world: Template) -> Iterator[tuple[Runtime, str]]:
    """``job_parent`` over thirty items, its ``go`` task ``STARTER``'s."""
    rt = programme_runtime(settings)
    sources = [Source(p.name, p.read_bytes().replace(b'value="starter"',
                                                     f'value="{STARTER}"'.encode()))
               for p in sorted((FIXTURES / "jobs").glob("*.bpmn"))]
    with rt.uow() as uow:
        deployment.deploy(uow, sources, deployed_by="tests")
    with rt.uow() as uow:
        instance = instances.start_instance(uow, "job_parent", "p-browser",
                                            {"items": [f"i{n:02d}" for n in range(ITEMS)]})
    with rt.uow(write=False) as uow:
        [task] = instances.open_tasks(uow, instance.id)
    yield rt, str(task.id)
    rt.close()


def test_the_job_page_shows_the_progress_of_the_starts(
        page: Page, go_task: tuple[Runtime, str], shots: Screens) -> None:
    rt, task_id = go_task
    sign_in(page, STARTER)
    page.goto(f"/tasks/{task_id}")
    page.locator("#task-submit").click()
    expect(page).to_have_url(re.compile(r"/jobs/\d+$"))
    box = page.locator("#job")
    expect(box).to_have_attribute("data-status", "queued")
    expect(box.locator("[data-role=status]")).to_have_text("排队中")
    expect(box.locator("[data-role=total]")).to_have_text(str(ITEMS))
    shots(page, "queued")
    with rt.uow() as uow:
        assert jobs.run_pending_jobs(uow) == 1
    expect(box).to_have_attribute("data-status", "done")  # the page polled the API
    expect(box.locator("[data-role=done]")).to_have_text(str(ITEMS))
    expect(box.locator("[data-role=status]")).to_have_text("已完成")
    expect(box.locator("[data-role=started]")).to_have_text(f"已启动 {ITEMS} 个流程实例")
    expect(page.locator("[role=progressbar]")).to_have_attribute("aria-valuenow", "100")
    width = box.locator("[data-role=bar]").evaluate("el => el.style.width")
    assert width == "100%"
    shots(page, "done")
