"""A SpiffArena-style form in a real browser (issue 12, point 5): the task's JSON Schema and
ui-schema are files deployed beside the BPMN (tests/conformance/models/forms/). The page
shows the fields in ``ui:order`` with their widgets (date and date-time pickers, a radio
group, a text area of six rows, a hidden field, a read-only prefilled field), the help and
placeholder texts and the schema's defaults; a submit missing required fields is refused
at those fields by the engine, and the corrected form completes the task. A form with file
inputs (tests/conformance/models/file_inputs/): a file of a type the field does not accept is
refused at it with nothing stored; the accepted files go into the evidence store, the task
data keeps their references and the submitted form links to them. Screenshots:
tests/artifacts/."""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Page, expect
from sqlalchemy import select

from engine.models import Evidence, HumanTask, InstanceEvent
from engine.parsing import read_sources
from engine.runtime import Runtime
from engine.services import deployment, instances
from engine.settings import Settings
from tests.conftest import ADMIN
from tests.databases import Template
from tests.web.conftest import programme_runtime
from tests.web.test_file_inputs import MODELS as FILE_MODELS
from tests.web.test_spiff_forms import MODELS
from tests.web.test_task_page_evidence import PDF, PNG
from web import create_app

from .conftest import Screens
from .test_inbox_browser import sign_in

pytestmark = pytest.mark.browser

HOLDER = "czj-0011"  # the task's candidate user (gift_report.bpmn), a demo city official


@pytest.fixture
def live_app(settings: Settings, tmp_path: Path) -> Iterator[Flask]:
    """The app of tests/browser/conftest.py, keeping evidence files under tmp_path."""
    app = create_app({"IRPM_SETTINGS": settings, "SECRET_KEY": "browser-test-secret-key",
                      "IRPM_EVIDENCE_DIR": str(tmp_path / "evidence")})
    yield app
    app.extensions["irpm"].close()


def _started(rt: Runtime, models: Path, process_id: str) -> uuid.UUID:
    with rt.uow() as uow:
        deployment.deploy(uow, read_sources([models]), deployed_by="tests")
    with rt.uow() as uow:
        instance_id = instances.start_instance(uow, process_id, None, {}, actor=ADMIN).id
    with rt.uow(write=False) as uow:
        [task] = uow.session.scalars(select(HumanTask).where(
            HumanTask.instance_id == instance_id))
    return task.id


@pytest.fixture
def receipt_task(settings: Settings, demo_city_world: Template
                 ) -> Iterator[tuple[Runtime, uuid.UUID]]:
    rt = programme_runtime(settings)
    yield rt, _started(rt, FILE_MODELS, "receipt_report")
    rt.close()


@pytest.fixture
def gift_task(settings: Settings, demo_city_world: Template) -> Iterator[tuple[Runtime, uuid.UUID]]:
    rt = programme_runtime(settings)
    yield rt, _started(rt, MODELS, "gift_report")
    rt.close()


def _state(rt: Runtime, task_id: uuid.UUID) -> str:
    with rt.uow(write=False) as uow:
        [state] = uow.session.scalars(select(HumanTask.state).where(
            HumanTask.id == task_id))
        return str(state)


def test_a_spiffarena_form_with_a_ui_schema_is_rendered_and_validated(
        page: Page, gift_task: tuple[Runtime, uuid.UUID], shots: Screens) -> None:
    rt, task_id = gift_task
    sign_in(page, HOLDER)
    page.goto(f"/tasks/{task_id}")
    names = page.locator("form [data-field]").evaluate_all(
        "els => els.map(e => e.dataset.field)")
    assert names == ["kind", "giver", "handling", "value", "received_on", "reported_at",
                     "register_no", "notes", "secret"]
    expect(page.locator("#f-received_on")).to_have_attribute("type", "date")
    expect(page.locator("#f-reported_at")).to_have_attribute("type", "datetime-local")
    expect(page.locator("#f-giver")).to_have_attribute("placeholder", "姓名及单位")
    expect(page.locator("#f-giver-help")).to_have_text("写明赠送人的姓名和工作单位")
    expect(page.locator("#f-notes")).to_have_attribute("rows", "6")
    expect(page.locator("#f-secret")).to_be_hidden()
    expect(page.locator("#f-register_no")).to_have_value("自动生成")
    expect(page.locator("#f-register_no")).not_to_be_editable()
    expect(page.locator("#f-handling-handed_in")).to_be_checked()  # the schema's default
    expect(page.locator("#f-value")).to_have_value("0")
    shots(page, "form")

    page.locator("#f-giver").fill("某供应商 张某")
    page.locator("#task-submit").click()
    expect(page.locator("#f-kind-errors")).to_have_text("此项为必填项。")
    expect(page.locator("#f-received_on-errors")).to_have_text("此项为必填项。")
    expect(page.locator("#f-received_on")).to_have_class(re.compile("is-invalid"))
    expect(page.locator("#f-giver")).to_have_value("某供应商 张某")  # nothing typed is lost
    assert _state(rt, task_id) == "open"
    shots(page, "refused")

    page.locator("#f-kind").select_option(label="购物卡")
    page.locator("#f-received_on").fill("2026-03-01")
    page.locator("#f-reported_at").fill("2026-03-02T09:30")
    page.locator("#f-handling-returned").check()
    page.locator("#f-notes").fill("已当面退还")
    page.locator("#task-submit").click()
    expect(page.locator("#f-kind")).to_have_count(0)
    assert _state(rt, task_id) == "completed"
    shots(page, "submitted")


def test_a_file_input_uploads_into_the_evidence_store_and_the_form_keeps_a_reference(
        page: Page, receipt_task: tuple[Runtime, uuid.UUID], shots: Screens,
        tmp_path: Path) -> None:
    rt, task_id = receipt_task
    sign_in(page, HOLDER)
    page.goto(f"/tasks/{task_id}")
    expect(page.locator("#f-receipt")).to_have_attribute("accept", ".pdf")
    expect(page.locator("#f-photos")).to_have_attribute("multiple", "")
    page.locator("#f-note").fill("已上交")
    page.locator("#f-receipt").set_input_files(files=[{
        "name": "收据.png", "mimeType": "image/png", "buffer": PNG}])
    page.locator("#task-submit").click()
    expect(page.locator("#f-receipt-errors")).to_have_text("此栏不接受这种类型的文件。")
    expect(page.locator("#f-note")).to_have_value("已上交")
    with rt.uow(write=False) as uow:
        assert list(uow.session.scalars(select(Evidence))) == []
    shots(page, "file-refused")

    page.locator("#f-receipt").set_input_files(files=[{
        "name": "收据.pdf", "mimeType": "application/pdf", "buffer": PDF}])
    page.locator("#f-photos").set_input_files(files=[{
        "name": "现场.png", "mimeType": "image/png", "buffer": PNG}])
    page.locator("#task-submit").click()
    expect(page.locator("#f-note")).to_have_count(0)
    assert _state(rt, task_id) == "completed"
    digest = hashlib.sha256(PDF).hexdigest()
    assert (tmp_path / "evidence" / digest).read_bytes() == PDF
    with rt.uow(write=False) as uow:
        [event] = uow.session.scalars(select(InstanceEvent).where(
            InstanceEvent.type == "task_completed"))
    assert event.data["receipt"]["sha256"] == digest
    assert [p["name"] for p in event.data["photos"]] == ["现场.png"]

    page.goto(f"/tasks/{task_id}")
    link = page.locator("#submitted a", has_text="收据.pdf")
    expect(link).to_be_visible()
    with page.expect_download() as download:
        link.click()
    assert Path(download.value.path()).read_bytes() == PDF
    shots(page, "file-submitted")
