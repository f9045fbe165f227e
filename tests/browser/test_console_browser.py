"""The administrator console in a real browser, on the demo city: an administrator filters
the instances by unit and status, opens one (in a new tab), sees its current step
highlighted on the diagram, suspends and resumes it with a reason, migrates a batch to a
newer version the test deploys through the engine's deployment service, and sees the
heatmap of that version. No script errors, no CSP refusals. Screenshots: tests/artifacts/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from engine.actors import Actor
from engine.models import ProcessInstance
from engine.runtime import Runtime
from engine.services import instance_admin, instances
from engine.settings import Settings
from tests.console_versions import SOURCE, deploy_version, with_added_step
from tests.databases import Template

from .conftest import Screens
from .test_inbox_browser import sign_in

pytestmark = pytest.mark.browser

ADMIN = Actor("admin", frozenset(), is_admin=True)
ATTRIBUTES = ("principal_post", "approval_power", "enforcement_power", "key_resources",
              "livelihood", "general_economic", "social_affairs", "public_service")


@dataclass
class City:
    rt: Runtime
    czj: list[int]
    fgw: list[int]

    def instance(self, iid: int) -> ProcessInstance:
        with self.rt.uow(write=False) as uow:
            found = uow.session.get(ProcessInstance, iid)
            assert found is not None
            return found


@pytest.fixture
def city(settings: Settings, demo_city_world: Template) -> Iterator[City]:
    """The demo city, the engine tests' cycle deployed (version 1), three instances in 财政局
    (one suspended) and two in 发展和改革委员会."""
    rt = Runtime(settings)
    deploy_version(rt, SOURCE)
    ids: dict[str, list[int]] = {"CZJ": [], "FGW": []}
    for n, unit in enumerate(["CZJ", "CZJ", "CZJ", "FGW", "FGW"]):
        with rt.uow() as uow:
            ids[unit].append(instances.start_instance(
                uow, "simple_cycle", f"{unit}-BGS-0{n}",
                {**dict.fromkeys(ATTRIBUTES, False), "unit_code": unit, "year": 2011}).id)
    with rt.uow() as uow:
        instance_admin.admin_lifecycle(uow, "suspend", ids["CZJ"][2], ADMIN, "核查材料")
    yield City(rt, ids["CZJ"], ids["FGW"])
    rt.close()


def test_an_administrator_finds_steers_migrates_and_sees_the_heat(page: Page, city: City,
                                                                  shots: Screens) -> None:
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    sign_in(page, "admin")

    # -- filter by unit and status -----------------------------------------------------
    page.goto("/console/instances")
    page.locator("#f-unit").select_option("CZJ")
    page.locator("#f-status").select_option("waiting")
    page.locator("[data-action=filter]").click()
    expect(page).to_have_url(re.compile(r"unit=CZJ.*status=waiting|status=waiting.*unit=CZJ"))
    rows = page.locator("#instance-table tbody tr")
    expect(rows).to_have_count(2)
    shown = sorted(int(r) for r in rows.evaluate_all("rs => rs.map(r => r.dataset.instance)"))
    assert shown == sorted(city.czj[:2])
    shots(page, "filtered")

    # -- open one in a new tab: the current step on the diagram --------------------------
    target = city.czj[0]
    with page.context.expect_page() as opened:
        page.locator(f"tr[data-instance='{target}'] [data-role=open]").click()
    tab = opened.value
    tab.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    tab.on("pageerror", lambda e: problems.append(str(e)))
    diagram = tab.locator("#diagram")
    expect(diagram).to_have_attribute("data-state", "ready")
    expect(diagram).to_have_attribute("data-current", "discovery")
    expect(tab.locator("g.djs-element.irpm-current[data-element-id='discovery']")).to_have_count(1)
    expect(tab.locator("g.djs-element.irpm-done[data-element-id='start']")).to_have_count(1)
    shots(tab, "instance")

    # -- suspend and resume, each with a reason ------------------------------------------
    tab.locator("#reason-suspend").fill("核对岗位信息")
    tab.locator("[data-action=suspend]").click()
    expect(tab.locator("[data-role=status]")).to_have_attribute("data-status", "suspended")
    expect(tab.locator("#instance-audit [data-action=suspend]")).to_contain_text("核对岗位信息")
    shots(tab, "suspended")
    tab.locator("#reason-resume").fill("核对完毕")
    tab.locator("[data-action=resume]").click()
    expect(tab.locator("[data-role=status]")).to_have_attribute("data-status", "waiting")
    assert city.instance(target).status == "waiting"
    tab.close()

    # -- a new version, deployed through the engine; the batch moves version 1 to it -----
    v2 = deploy_version(city.rt, with_added_step())
    page.goto("/console/instances?process=simple_cycle&version=1&unit=CZJ")
    expect(page.locator("#instance-table tbody tr")).to_have_count(3)
    page.locator("#b-op").select_option("migrate")
    page.locator("#b-version").select_option(str(v2.version))
    page.locator("#b-reason").fill("新增复核环节")
    shots(page, "batch-form")
    page.locator("[data-action=batch]").click()
    expect(page).to_have_url(re.compile(r"/console/batches/\d+$"))
    expect(page.locator("#batch")).to_have_attribute("data-status", "done")
    expect(page.locator("[data-role=succeeded]")).to_have_text("3")
    expect(page.locator("#succeeded-items a")).to_have_count(3)
    shots(page, "batch-done")
    for iid in city.czj:
        assert city.instance(iid).definition_id == v2.definition_id
    assert city.instance(city.fgw[0]).definition_id != v2.definition_id

    # -- the heatmap of version 2 ----------------------------------------------------------
    page.goto(f"/console/heatmap?definition={v2.definition_id}")
    heat = page.locator("#diagram")
    expect(heat).to_have_attribute("data-state", "ready")
    badge = page.locator("[data-element='discovery'] [data-kind=waiting]")
    expect(badge).to_have_text("3")
    expect(page.locator("g.djs-element.heat-5[data-element-id='discovery']")).to_have_count(1)
    shots(page, "heatmap")

    # -- the audit page lists what was done ----------------------------------------------
    page.goto("/console/audit")
    for action in ("suspend", "resume", "batch_migrate", "migrate"):
        expect(page.locator(f"#audit-table tr[data-action={action}]").first).to_be_visible()
    shots(page, "audit")
    assert not problems, problems


def test_instance_list_refuses_a_staff_member(page: Page, city: City) -> None:
    sign_in(page, "czj-0011")
    response = page.goto("/console/instances")
    assert response is not None and response.status == 403
    with city.rt.uow(write=False) as uow:
        assert uow.session.scalars(select(ProcessInstance.id)).all()
