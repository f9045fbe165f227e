"""The process designer in a real browser: a designer opens the unit cycle (单位廉政风险防控
年度循环) in the BPMN editor and adds a user task (dropped from the palette onto a sequence
flow, which bpmn-js splits); takes it out of its lane (meaning to name candidates, but does
not); validation reports the task in no lane, in the list and on the diagram, and deploying
is refused; the designer puts it into a lane from the properties panel, gives it a form
(formSchema, JSON checked as typed) and a due time, deploys version 2 (the engine's catalog
has the task with its lane and properties) and sees the diff: the task and its flow added,
the split flow changed. An invalid upload is refused with its message, nothing deployed; the
DMN editor opens a decision table, validates, downloads and deploys it; a timer's duration is
edited in the properties panel and checked. Screenshots: tests/artifacts/."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from engine.decision_cases import read_cases
from engine.models import ProcessDefinition
from engine.parsing import Source, parse_xml, read_sources
from engine.passwords import hash_password
from engine.programme.services.organisation import save_account
from engine.runtime import Runtime
from engine.services.deployment import deploy, find_definition
from engine.settings import Settings
from tests.conftest import BPMN_DIR

from .conftest import Screens

pytestmark = pytest.mark.browser

PASSWORD = "irpm-designer-1"


@pytest.fixture
def rt(settings: Settings) -> Iterator[Runtime]:
    """bpmn/ deployed (version 1 of each process) and the designer's account."""
    runtime = Runtime(settings)
    with runtime.uow() as uow:
        save_account(uow, "designer", password_hash=hash_password(PASSWORD),
                     roles={"designer"})
        deploy(uow, read_sources([BPMN_DIR]), deployed_by="setup")
    yield runtime
    runtime.close()


def versions(rt: Runtime, process_id: str) -> list[tuple[int, str | None]]:
    with rt.uow(write=False) as uow:
        return [(r.version, r.deployed_by) for r in uow.session.scalars(
            select(ProcessDefinition).where(ProcessDefinition.process_id == process_id)
            .order_by(ProcessDefinition.version))]


def sign_in(page: Page) -> None:
    page.goto("/login")
    page.get_by_label("用户名").fill("designer")
    page.get_by_label("密码").fill(PASSWORD)
    page.locator("#sign-in").click()
    expect(page.locator("#user-menu")).to_be_visible()


def add_user_task(page: Page) -> str:
    """Create a task from the palette and drop it on the flow from 记录单位层面风险 to the
    join (bpmn-js splits the flow: the task comes in between, in the lane of the unit's
    principal), name it and make it a user task (bpmn-js leaves it selected); returns its
    id."""
    flow = page.locator(
        '.djs-element[data-element-id="flow_unit_join"] .djs-visual > path').bounding_box()
    assert flow is not None
    x, y = flow["x"] + flow["width"] / 2, flow["y"] + 1  # its horizontal stretch
    page.locator('.djs-palette [data-action="create.task"]').click()
    page.mouse.move(x - 20, y)
    page.mouse.move(x, y)
    page.mouse.click(x, y)
    page.keyboard.type("复核整改情况")
    page.keyboard.press("Enter")
    page.locator('.djs-context-pad [data-action="replace"]').click()
    page.locator('.djs-popup [data-id="replace-with-user-task"]').click()
    user_task = page.locator('.djs-element.djs-shape[data-element-id^="Activity_"]')
    expect(user_task).to_have_count(1)
    expect(user_task).to_contain_text("复核整改情况")
    element_id = user_task.get_attribute("data-element-id")
    assert element_id
    expect(page.locator("#bio-properties-panel-irpm-lane")).to_have_value("principal")
    return element_id


def test_designer_adds_a_task_fixes_its_lane_deploys_and_sees_the_diff(
        page: Page, rt: Runtime, shots: Screens) -> None:
    sign_in(page)
    page.locator('[data-nav="designer.index"]').click()
    process = page.locator('[data-process="unit_cycle"]')
    expect(process.locator('tr[data-version="1"]')).to_contain_text("setup")
    shots(page, "definitions")

    process.locator('[data-action="edit"]').click()
    canvas = page.locator("#canvas")
    expect(canvas).to_have_attribute("data-state", "ready")
    new_id = add_user_task(page)
    # Meant for named candidates, the task is taken out of its lane — and the candidates
    # are forgotten.
    page.locator("#bio-properties-panel-irpm-lane").select_option("")

    page.locator("#btn-validate").click()
    problem = page.locator(f'#problems [data-element="{new_id}"]')
    expect(problem).to_have_attribute("data-rule", "user_task_lane")
    expect(problem).to_contain_text("复核整改情况")
    expect(page.locator(f'.irpm-problem-badge[data-element="{new_id}"]')).to_be_visible()
    expect(page.locator(f'.djs-element[data-element-id="{new_id}"]')).to_have_class(
        re.compile(r"\birpm-problem\b"))
    shots(page, "lint-error", full_page=False)
    page.locator("#btn-deploy").click()  # refused by the server: nothing is stored
    expect(page.locator("#designer-status")).to_contain_text("未部署")
    assert versions(rt, "unit_cycle") == [(1, "setup")]

    # The fix: the problem in the list selects the task; it goes back into the lane of
    # the unit's principal.
    problem.click()
    page.locator("#bio-properties-panel-irpm-lane").select_option("principal")
    page.locator("#btn-validate").click()
    expect(page.locator("#designer-status")).to_have_attribute("data-kind", "success")
    expect(page.locator("#problems")).to_have_attribute("data-count", "0")
    expect(page.locator(".irpm-problem-badge")).to_have_count(0)

    # Its form: the JSON is checked as it is typed; a valid schema is kept.
    form = page.locator("#bio-properties-panel-irpm-form")
    form.fill('{"type": "object", "properties": {"note": {"type": "string"')
    expect(page.locator(".bio-properties-panel-error")).to_contain_text("不是有效的 JSON")
    form.fill('{"type": "object", "properties": {"note": {"type": "string", "title": "说明"}}}')
    expect(page.locator(".bio-properties-panel-error")).to_have_count(0)
    page.locator("#bio-properties-panel-irpm-due").fill("P10D")

    page.locator("#btn-deploy").click()
    expect(page.locator("#designer-status")).to_have_attribute("data-kind", "success")
    expect(page.locator("#designer-status")).to_contain_text("unit_cycle v2")
    expect(page.locator("#editor-origin")).to_have_text("v2")
    shots(page, "deployed", full_page=False)
    assert versions(rt, "unit_cycle") == [(1, "setup"), (2, "designer")]
    with rt.uow(write=False) as uow:
        element = find_definition(uow, "unit_cycle", 2).catalog[new_id]
    assert (element["type"], element["name"], element["lane"]) == (
        "UserTask", "复核整改情况", "principal")
    assert element["properties"]["dueIn"] == "P10D"
    assert json.loads(element["properties"]["formSchema"])["properties"]["note"]["title"] == "说明"

    page.locator("#designer-status-link").click()
    expect(page).to_have_url(re.compile(r"/designer/diff/unit_cycle\?new=2$"))
    diff = page.locator("#diff")
    expect(diff).to_have_attribute("data-state", "ready")
    added = page.locator(f'#diff-list [data-kind="added"][data-element="{new_id}"]')
    expect(added).to_contain_text("复核整改情况")
    expect(page.locator(f'#diff-new-canvas .djs-element[data-element-id="{new_id}"]')
           ).to_have_class(re.compile(r"\bdiff-added\b"))
    # The flow it was dropped on now ends at the new task; nothing was removed.
    expect(page.locator('#diff-list [data-kind="changed"][data-element="flow_unit_join"]')
           ).to_contain_text("targetRef")
    expect(page.locator('#diff-list [data-kind="removed"]')).to_have_count(0)
    shots(page, "diff")

    page.goto("/designer/")
    expect(page.locator('[data-process="unit_cycle"] tr[data-version="2"]')).to_contain_text(
        "designer")


def test_an_invalid_upload_is_refused_with_its_message(page: Page, rt: Runtime,
                                                        shots: Screens) -> None:
    sign_in(page)
    page.goto("/designer/")
    broken = (BPMN_DIR / "unit_cycle.bpmn").read_bytes().replace(b"</bpmn:process>", b"", 1)
    page.locator("#upload-files").set_input_files(
        files=[{"name": "unit_cycle.bpmn", "mimeType": "application/xml", "buffer": broken}])
    page.locator("#upload-deploy").click()
    problems = page.locator("#upload-problems")
    expect(problems).to_contain_text("unit_cycle.bpmn")
    expect(problems).to_contain_text("文件不是格式正确的 XML")
    shots(page, "upload-refused")
    assert versions(rt, "unit_cycle") == [(1, "setup")]


def test_the_dmn_editor_opens_validates_and_deploys_a_decision_table(
        page: Page, rt: Runtime, shots: Screens) -> None:
    sign_in(page)
    page.goto("/designer/")
    page.locator('[data-dmn="post_grading.dmn"] a', has_text="编辑").click()
    canvas = page.locator("#dmn-canvas")
    expect(canvas).to_have_attribute("data-state", "ready")
    expect(canvas.locator(".tjs-table")).to_be_visible()
    page.locator("#btn-validate").click()
    expect(page.locator("#designer-status")).to_have_attribute("data-kind", "success")
    shots(page, "dmn-editor")
    with page.expect_download() as download:
        page.locator("#btn-download").click()
    assert download.value.suggested_filename == "post_grading.dmn"
    saved = Path(download.value.path()).read_bytes()
    assert b'id="post_grading"' in saved
    # dmn-js keeps the table's test cases (extension elements it does not know) as they were
    [shipped] = read_sources([BPMN_DIR / "post_grading.dmn"])
    cases = [read_cases(s.filename, parse_xml(s))["post_grading"]
             for s in (shipped, Source("post_grading.dmn", saved))]
    assert len(cases[1]) == 15 and cases[1] == [
        replace(case, line=cases[1][i].line) for i, case in enumerate(cases[0])]
    page.locator("#btn-draft").click()
    expect(page.locator("#designer-status")).to_contain_text("草稿已保存")
    page.locator("#btn-deploy").click()
    # dmn-js writes the table back in its own layout: new versions of the processes using it
    expect(page.locator("#designer-status")).to_contain_text("post_cycle v2")
    assert versions(rt, "post_cycle")[-1] == (2, "designer")
    page.goto("/designer/")  # deployed: the draft is gone
    expect(page.locator('[data-dmn="post_grading.dmn"]')).not_to_contain_text("草稿")


def test_a_timer_is_edited_in_the_properties_panel_and_checked(page: Page, rt: Runtime,
                                                               shots: Screens) -> None:
    sign_in(page)
    page.goto("/designer/bpmn/disposal")
    expect(page.locator("#canvas")).to_have_attribute("data-state", "ready")
    page.locator('.djs-element[data-element-id="reminder_overdue"]').click()
    page.locator('[data-group-id="group-timer"] .bio-properties-panel-group-header').click()
    value = page.locator("#bio-properties-panel-timerEventDefinitionValue")
    expect(value).to_have_value('"P5D"')
    # a boundary event goes with its task: no lane of its own to choose
    expect(page.locator("#bio-properties-panel-irpm-lane")).to_have_count(0)
    value.fill("P9D")  # without the quotes the engine would look for a variable
    page.locator("#btn-validate").click()
    problem = page.locator('#problems [data-element="reminder_overdue"]')
    expect(problem).to_have_attribute("data-rule", "timer")
    expect(problem).to_contain_text('请写成 "P9D"')
    shots(page, "timer-unquoted", full_page=False)
    value.fill('"P9D"')
    page.locator("#btn-validate").click()
    expect(page.locator("#problems")).to_have_attribute("data-count", "0")
