"""The designer at Modeler level, in Chromium: 编辑 opens a draft newer than the deployed
table first, with a link to the deployed one, and the deploy button asks before deploying
when the deploy would keep a differing draft (cancel: nothing deployed; accept: deployed)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Dialog, Page, expect

from engine.parsing import Source
from engine.runtime import Runtime
from engine.services import design
from tests.conftest import BPMN_DIR

from .conftest import Screens
from .test_designer_browser import rt, sign_in, versions  # noqa: F401  (rt: fixture)

pytestmark = pytest.mark.browser

DMN = (BPMN_DIR / "post_grading.dmn").read_text(encoding="utf-8")
DMN_EDITED = DMN.replace("</definitions>", "<!-- edited --></definitions>", 1)


def test_edit_opens_the_draft_and_deploy_asks_before_keeping_it(page: Page,
                                                                 rt: Runtime) -> None:  # noqa: F811
    with rt.uow() as uow:
        design.save_drafts(uow, [Source("post_grading.dmn", DMN_EDITED.encode())],
                           saved_by="designer")
    sign_in(page)
    page.goto("/designer/")
    page.locator('[data-dmn="post_grading.dmn"] a', has_text="编辑").click()
    expect(page.locator("#dmn-canvas")).to_have_attribute("data-state", "ready")
    expect(page.locator("#other-copy")).to_contain_text("这是 designer")
    expect(page.locator("#other-copy-link")).to_have_attribute(
        "href", "/designer/dmn/post_grading.dmn?deployed=1")
    asked: list[str] = []

    def dismiss(dialog: Dialog) -> None:
        asked.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", dismiss)
    page.locator("#btn-deploy").click()
    expect(page.locator("#designer-status")).to_contain_text("未部署:您已取消")
    assert "将予保留" in asked[0] and "post_cycle" in asked[0]
    assert versions(rt, "post_cycle") == [(1, "setup")]

    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#btn-deploy").click()
    expect(page.locator("#designer-status")).to_contain_text("post_cycle v2")
    assert versions(rt, "post_cycle")[-1] == (2, "designer")


def test_the_decision_table_fits_the_window_at_1600_px(page: Page, rt: Runtime,  # noqa: F811
                                                       shots: Screens) -> None:
    """post_grading has nine input/output columns and an annotation: dmn-js's column widths
    ran it 600 px off the right edge; now the table takes the canvas's width."""
    page.set_viewport_size({"width": 1600, "height": 900})
    sign_in(page)
    page.goto("/designer/dmn/post_grading.dmn")
    expect(page.locator("#dmn-canvas")).to_have_attribute("data-state", "ready")
    sizes = page.evaluate("""() => {
      const table = document.querySelector('#dmn-canvas .tjs-table');
      const canvas = document.querySelector('#dmn-canvas');
      return {page: document.documentElement.scrollWidth, window: innerWidth,
              table: table.getBoundingClientRect().right,
              canvas: canvas.getBoundingClientRect().right};
    }""")
    assert sizes["page"] <= sizes["window"] == 1600
    assert sizes["table"] <= sizes["canvas"], sizes
    expect(page.locator(".tjs-table thead .input-cell").first).to_be_visible()
    shots(page, "dmn-fits-1600")


def test_a_new_blank_process_opens_in_the_editor(page: Page, rt: Runtime) -> None:  # noqa: F811
    sign_in(page)
    page.goto("/designer/")
    page.locator("#new-ident").fill("hr_review")
    page.locator("#new-name").fill("干部考察")
    page.locator("#new-create").click()
    expect(page.locator("#canvas")).to_have_attribute("data-state", "ready")
    expect(page.locator('.djs-element[data-element-id="start"]')).to_be_visible()
    expect(page.locator("#editor-origin")).to_have_text("草稿")


def test_the_decision_table_speaks_chinese(page: Page, rt: Runtime) -> None:  # noqa: F811
    sign_in(page)
    page.goto("/designer/dmn/post_grading.dmn")
    expect(page.locator("#dmn-canvas")).to_have_attribute("data-state", "ready")
    table = page.locator("#dmn-canvas")
    expect(table).to_contain_text("命中策略")
    expect(table).to_contain_text("注释")
    for english in ("Hit policy", "Annotations", "When"):
        expect(table).not_to_contain_text(english)


def test_the_properties_panel_names_the_element_type_in_chinese(
        page: Page, rt: Runtime) -> None:  # noqa: F811
    sign_in(page)
    page.goto("/designer/bpmn/unit_cycle")
    expect(page.locator("#canvas")).to_have_attribute("data-state", "ready")
    page.locator('.djs-element[data-element-id="unit_discovery"]').click()
    header = page.locator("#properties .bio-properties-panel-header-type")
    expect(header).to_have_text("用户任务")
