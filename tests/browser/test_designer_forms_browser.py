"""The designer with SpiffArena's form files in a real browser (issue 12, point 5): a draft
whose user task names a schema and a ui-schema file is opened in the BPMN editor; validating
reports both files missing; the designer adds the schema file, types an invalid schema (the
preview and the validation say why), then a valid one and a ui-schema: the preview shows the
form as the task page renders it (the ui:order, an enumeration from $ref, a date picker, the
default, a file input, the help). Deploying puts both files into the version, and a started
task renders the form. Screenshots: tests/artifacts/."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from engine.models import HumanTask, ProcessDefinition
from engine.parsing import Source
from engine.passwords import hash_password
from engine.programme.services.organisation import save_account
from engine.runtime import Runtime
from engine.services import design, instances
from engine.settings import Settings
from tests.conftest import ADMIN
from tests.web.test_designer_form_files import BPMN, PREVIEWED

from .conftest import Screens

pytestmark = pytest.mark.browser

PASSWORD = "irpm-designer-1"
UI = {"ui:order": ["notes", "*"], "notes": {"ui:widget": "textarea", "ui:help": "写明经过"},
      "scan": {"ui:options": {"accept": ".pdf"}}}


@pytest.fixture
def rt(settings: Settings) -> Iterator[Runtime]:
    """The designer's account and a draft of receipt_report whose task the designer does."""
    runtime = Runtime(settings)
    with runtime.uow() as uow:
        save_account(uow, "designer", password_hash=hash_password(PASSWORD),
                     roles={"designer"})
    xml = BPMN.replace('value="czj-0011"', 'value="designer"')
    with runtime.uow() as uow:
        design.save_drafts(uow, [Source("receipt_report.bpmn", xml.encode())],
                           saved_by="setup")
    yield runtime
    runtime.close()


def sign_in(page: Page) -> None:
    page.goto("/login")
    page.get_by_label("用户名").fill("designer")
    page.get_by_label("密码").fill(PASSWORD)
    page.locator("#sign-in").click()
    expect(page.locator("#user-menu")).to_be_visible()


def add_file(page: Page, name: str, text: str) -> None:
    page.locator("#form-file-name").fill(name)
    page.locator("#form-file-add").click()
    expect(page.locator("#form-file-current")).to_have_text(name)
    page.locator("#form-file-text").fill(text)


def test_a_designer_adds_form_files_previews_the_form_and_deploys_it(
        page: Page, rt: Runtime, shots: Screens) -> None:
    sign_in(page)
    page.goto("/designer/bpmn/receipt_report?draft=1")
    expect(page.locator("#canvas")).to_have_attribute("data-state", "ready")
    page.locator("#btn-validate").click()
    missing = page.locator('#problems [data-rule="form_file"]')
    expect(missing).to_have_count(2)
    expect(missing.first).to_contain_text("不在表单文件中")

    add_file(page, "receipt-schema.json",
             '{"type": "object", "properties": {"a": {"type": "tuple"}}}')
    preview = page.locator("#form-preview")
    expect(preview).to_contain_text("properties/a/type")
    expect(preview).to_have_attribute("data-state", "problem")
    page.locator("#btn-validate").click()
    expect(page.locator('#problems [data-rule="form_file"]').filter(
        has_text="不是有效的 JSON Schema")).to_have_count(1)
    shots(page, "invalid-schema")

    page.locator("#form-file-text").fill(json.dumps(PREVIEWED, ensure_ascii=False, indent=2))
    add_file(page, "receipt-uischema.json", json.dumps(UI, ensure_ascii=False))
    expect(preview).to_have_attribute("data-state", "ready")
    expect(preview.locator("[data-field]").first).to_have_attribute("data-field", "notes")
    expect(preview.locator("[data-preview-note]")).to_have_count(0)  # the ui-schema is in
    names = preview.locator("[data-field]").evaluate_all("els => els.map(e => e.dataset.field)")
    assert names == ["notes", "kind", "received_on", "count", "scan"]
    expect(preview.locator("#f-kind option", has_text="购物卡")).to_have_count(1)
    expect(preview.locator("#f-received_on")).to_have_attribute("type", "date")
    expect(preview.locator("#f-count")).to_have_value("2")
    expect(preview.locator("#f-scan")).to_have_attribute("accept", ".pdf")
    expect(preview.locator("#f-notes-help")).to_have_text("写明经过")
    page.locator("#btn-validate").click()
    expect(page.locator("#problems")).to_have_attribute("data-count", "0")
    shots(page, "preview")

    page.once("dialog", lambda dialog: dialog.accept())  # the deploy asks first (its draft)
    page.locator("#btn-deploy").click()
    expect(page.locator("#designer-status-link")).to_be_visible()  # the new version's diff
    with rt.uow(write=False) as uow:
        [row] = uow.session.scalars(select(ProcessDefinition).where(
            ProcessDefinition.process_id == "receipt_report"))
        assert sorted(s.filename for s in row.sources) == [
            "receipt-schema.json", "receipt-uischema.json", "receipt_report.bpmn"]
    with rt.uow() as uow:
        instance_id = instances.start_instance(uow, "receipt_report", None, {},
                                               actor=ADMIN).id
    with rt.uow(write=False) as uow:
        [task] = uow.session.scalars(select(HumanTask).where(
            HumanTask.instance_id == instance_id))
    page.goto(f"/tasks/{task.id}")
    expect(page.locator("#f-kind option", has_text="购物卡")).to_have_count(1)
    expect(page.locator("#f-received_on")).to_have_attribute("type", "date")
    expect(page.locator("#f-scan")).to_have_attribute("type", "file")
    shots(page, "task")
