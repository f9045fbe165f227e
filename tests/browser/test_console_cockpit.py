"""The console's instance page at 1366 px in Chromium (issue 16, point 6): the 状态 and 事件
columns keep each label on one line, event details are key / value lines in real
characters, a completed step shows its variable diff, the diagram spans the page and zooms
with its buttons. Screenshot: tests/artifacts/."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from engine.parsing import Source
from engine.programme.services import organisation
from engine.services import deployment, tasks
from engine.settings import Settings
from tests.databases import Template
from tests.inbox_org import INBOX_CYCLE, PASSWORD, Org, open_org

from .conftest import Screens

pytestmark = pytest.mark.browser


#: The test process's layout (tests/web/fixtures/inbox_cycle.bpmn has none, and bpmn-js
#: draws only what a diagram lays out): start → 查找廉政风险 → 严格审核把关 → end in a row.
SHAPES = [("start", 100, 100, 36, 36), ("discovery", 200, 78, 100, 80),
          ("review", 360, 78, 100, 80), ("end", 520, 100, 36, 36)]
EDGES = [("f1", 136, 200), ("f2", 300, 360), ("f3", 460, 520)]


def _layout() -> str:
    shapes = "".join(
        f'<bpmndi:BPMNShape id="s_{e}" bpmnElement="{e}">'
        f'<dc:Bounds x="{x}" y="{y}" width="{w}" height="{h}"/></bpmndi:BPMNShape>'
        for e, x, y, w, h in SHAPES)
    edges = "".join(
        f'<bpmndi:BPMNEdge id="e_{f}" bpmnElement="{f}"><di:waypoint x="{a}" y="118"/>'
        f'<di:waypoint x="{b}" y="118"/></bpmndi:BPMNEdge>' for f, a, b in EDGES)
    return ('<bpmndi:BPMNDiagram xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" '
            'xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" '
            'xmlns:di="http://www.omg.org/spec/DD/20100524/DI" id="diagram_inbox_cycle">'
            '<bpmndi:BPMNPlane id="plane_inbox_cycle" bpmnElement="inbox_cycle">'
            f"{shapes}{edges}</bpmndi:BPMNPlane></bpmndi:BPMNDiagram>")


@pytest.fixture
def org(settings: Settings, inbox_org_world: Template) -> Iterator[Org]:
    """The inbox organisation with a version 2 of its process that carries a layout."""
    org = open_org(settings)
    xml = INBOX_CYCLE.read_text(encoding="utf-8").replace(
        "</bpmn:definitions>", _layout() + "</bpmn:definitions>")
    with org.rt.uow() as uow:
        deployment.deploy(uow, [Source("inbox_cycle.bpmn", xml.encode())], deployed_by="tests")
    yield org
    org.rt.close()


def _lines(page: Page, selector: str) -> list[int]:
    """Per matching cell, how many lines its text is laid out on (the distinct tops of its
    text's line boxes: the cell itself is as tall as its row)."""
    return page.eval_on_selector_all(selector, """cells => cells.map(c => {
        const range = document.createRange();
        range.selectNodeContents(c);
        const tops = new Set([...range.getClientRects()].filter(r => r.width > 0)
                                                        .map(r => Math.round(r.top)));
        return tops.size;
    })""")


def test_an_admin_reads_an_instance_at_1366(page: Page, org: Org, shots: Screens) -> None:
    iid = org.start("CZJ-BGS-02")
    with org.rt.uow() as uow:
        tasks.complete_task(uow, org.open_task(iid).id, organisation.actor_for(uow, "admin"),
                            {"opinion": "同意，无异议", "score": 1})
    with org.rt.uow() as uow:
        tasks.complete_task(uow, org.open_task(iid).id, organisation.actor_for(uow, "admin"),
                            {"opinion": "同意，无异议", "score": 2})
    page.set_viewport_size({"width": 1366, "height": 860})
    page.goto("/login")
    page.get_by_label("用户名").fill("admin")
    page.get_by_label("密码").fill(PASSWORD)
    page.locator("#sign-in").click()
    expect(page.locator("#user-menu")).to_be_visible()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"/console/instances/{iid}")
    diagram = page.locator("#diagram")
    expect(diagram).to_have_attribute("data-state", "ready")

    # no one-character wrapping: each label is one line, each column wider than two characters
    for selector in ('#event-table td[data-col="event"]', '#task-table td[data-col="state"]'):
        heights = _lines(page, selector)
        assert heights and set(heights) == {1}, (selector, heights)
    widths = page.eval_on_selector_all('#event-table td[data-col="event"]',
                                       "cells => cells.map(c => c.getBoundingClientRect().width)")
    assert min(widths) > 40, widths

    # decoded details and the second step's diff
    expect(page.locator("#event-table").get_by_text("同意，无异议").first).to_be_visible()
    assert "\\u" not in page.locator("#event-table").inner_text()
    diff = page.locator('[data-role="step-diff"] [data-changed="score"]')
    expect(diff).to_have_count(2)
    expect(diff.first.locator(".diff-before")).to_have_text("1")
    expect(diff.first.locator(".diff-after")).to_have_text("2")

    shots(page, "instance-1366")
    # the diagram spans the content width and zooms with its buttons
    card = page.locator("#diagram-card").bounding_box()
    assert card is not None and card["width"] > 1100, card
    fitted = float(diagram.get_attribute("data-zoom") or 0)
    page.locator('[data-zoom="in"]').click()
    expect(diagram).not_to_have_attribute("data-zoom", f"{fitted:.2f}")
    assert float(diagram.get_attribute("data-zoom") or 0) > fitted
    page.locator('[data-zoom="fit"]').click()
    expect(diagram).to_have_attribute("data-zoom", f"{fitted:.2f}")
    expect(page.locator("#diagram .djs-element[data-element-id='discovery'] text")
           ).to_contain_text("查找廉政风险")
    expect(page.locator('[data-zoom="fit"]')).to_have_text("适应窗口")
    assert errors == []
