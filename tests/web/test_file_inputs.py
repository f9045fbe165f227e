"""File inputs of a task form (issue 12, point 5): a JSON Schema string of ``format:
data-url`` — and an array of them — as react-jsonschema-form renders them, put into the
evidence store with only a reference in the task data (engine/file_inputs.py,
engine/services/file_inputs.py, engine/services/file_references.py), from the task page
(files posted) and the REST API (rjsf's data-urls) alike.

The model is tests/conformance/models/file_inputs/: a receipt (one PDF, required) and
photos (at most two images)."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from engine.errors import DeploymentError, ValidationFailed
from engine.file_inputs import NotADataUrl, accepts, decode
from engine.forms import compile_form, normalise, validate_task_data
from engine.models import Evidence, HumanTask, InstanceEvent
from engine.parsing import read_sources
from engine.runtime import Runtime
from engine.services import deployment, file_inputs, instances, tasks
from engine.settings import Settings
from tests.conformance import compare
from tests.conftest import ADMIN
from web.cli import main
from web.tasks import form_values, schema_form

from . import conftest as web
from .conftest import AuthActions, Org
from .test_api_auth import bearer, make_token
from .test_task_page_evidence import JPEG, PDF, PNG

MODELS = Path(__file__).parents[1] / "conformance" / "models" / "file_inputs"
HOLDER = "czj-0011"  # the task's candidate user (an account of tests/inbox_org.py)
OUTSIDER = "czj-0012"
LIMIT = 4096


def schema_file() -> dict[str, Any]:
    return dict(json.loads((MODELS / "receipt-schema.json").read_text("utf-8")))


def ui_file() -> dict[str, Any]:
    return dict(json.loads((MODELS / "receipt-uischema.json").read_text("utf-8")))


def data_url(content: bytes, name: str, media_type: str = "application/pdf") -> str:
    return f"data:{media_type};name={name};base64," + base64.b64encode(content).decode()


def deploy_and_start(rt: Runtime) -> HumanTask:
    with rt.uow() as uow:
        deployment.deploy(uow, read_sources([MODELS]), deployed_by="tests")
    with rt.uow() as uow:
        instance_id = instances.start_instance(uow, "receipt_report", None, {},
                                               actor=ADMIN).id
    with rt.uow(write=False) as uow:
        [task] = uow.session.scalars(select(HumanTask).where(
            HumanTask.instance_id == instance_id))
        return task


def evidence_count(rt: Runtime) -> int:
    with rt.uow(write=False) as uow:
        return int(uow.session.scalar(select(func.count()).select_from(Evidence)) or 0)


# ----------------------------------------------------------------------- the schema


def test_a_data_url_field_is_a_reference_for_the_engine_and_a_file_input_on_the_page(
) -> None:
    spec = normalise(schema_file())
    receipt = spec["properties"]["receipt"]
    assert receipt["type"] == "object" and receipt["title"] == "收据 (PDF)"
    assert set(receipt["required"]) == {"id", "name", "size", "sha256", "media_type"}
    fields = {f.name: f for f in schema_form.build(spec, ui_file())}
    assert (fields["receipt"].kind, fields["receipt"].accept) == ("file", ".pdf")
    assert (fields["photos"].kind, fields["photos"].accept) == ("files", "image/*")
    assert fields["receipt"].help == "收据的扫描件"
    form = compile_form(json.dumps(schema_file()))
    ref = {"id": 1, "name": "r.pdf", "size": 3, "sha256": "0" * 64,
           "media_type": "application/pdf"}
    assert validate_task_data({"note": "n", "receipt": ref, "photos": [ref]}, form,
                              max_bytes=1 << 20)["receipt"] == ref
    with pytest.raises(ValidationFailed) as caught:  # the bytes themselves are not data
        validate_task_data({"note": "n", "receipt": data_url(PDF, "r.pdf")}, form,
                           max_bytes=1 << 20)
    assert set(caught.value.errors) == {"receipt"}
    with pytest.raises(ValidationFailed) as caught:
        validate_task_data({"note": "n"}, form, max_bytes=1 << 20)
    assert caught.value.errors == {"receipt": ["Missing data for required field."]}


@pytest.mark.parametrize("nested", [
    {"type": "object", "properties": {"scan": {"type": "string", "format": "data-url"}}},
    {"type": "array", "items": {"type": "object", "properties": {
        "scan": {"type": "string", "format": "data-url"}}}},
])
def test_a_file_input_below_the_forms_own_properties_is_refused_at_deploy(
        nested: dict[str, Any]) -> None:
    schema = {"type": "object", "properties": {"docs": nested}}
    with pytest.raises(DeploymentError, match=r"move docs\.(\[\]\.)?scan up"):
        compile_form(json.dumps(schema))


def test_posted_references_come_back_and_forged_text_is_dropped() -> None:
    fields = schema_form.build(normalise(schema_file()), ui_file())
    ref = {"id": 7, "name": "r.pdf", "size": 3, "sha256": "0" * 64,
           "media_type": "application/pdf"}
    raw = form_values.parse(fields, {"note": "n", "receipt": json.dumps(ref),
                                     "photos.0": json.dumps(ref), "photos.1": "{nonsense"})
    assert raw == {"note": "n", "receipt": ref, "photos": [ref]}
    assert form_values.to_data(fields, raw) == raw
    assert form_values.to_data(fields, {"note": "n", "receipt": "", "photos": []}) == {
        "note": "n"}


def test_data_urls_are_decoded_within_their_bound_and_accept_lists_apply() -> None:
    assert decode(data_url(PDF, "%E6%94%B6%E6%8D%AE.pdf"), LIMIT) == ("收据.pdf", PDF)
    with pytest.raises(NotADataUrl, match="too large"):
        decode(data_url(b"x" * (LIMIT + 1), "big.pdf"), LIMIT)
    with pytest.raises(NotADataUrl, match="not a data-url"):
        decode("data:text/plain,hello", LIMIT)
    assert accepts((".pdf",), "a.PDF", "application/pdf")
    assert accepts(("image/*",), "a.png", "image/png")
    assert not accepts(("image/*",), "a.pdf", "application/pdf")
    assert accepts((), "a.pdf", "application/pdf")


# ---------------------------------------------------------------------- the services


def test_data_urls_go_into_the_evidence_store_and_the_task_keeps_references(
        rt: Runtime, tmp_path: Path) -> None:
    task = deploy_and_start(rt)
    data = {"note": "已上交", "receipt": data_url(PDF, "收据.pdf"),
            "photos": [data_url(PNG, "a.png", "image/png"), data_url(JPEG, "b.jpg", "image/jpeg")]}
    with rt.uow() as uow:
        stored = file_inputs.store_data_urls(uow, task.id, ADMIN, data, store=tmp_path,
                                             max_bytes=LIMIT)
    digest = hashlib.sha256(PDF).hexdigest()
    assert stored["receipt"]["sha256"] == digest and stored["receipt"]["name"] == "收据.pdf"
    assert stored["receipt"]["media_type"] == "application/pdf"
    assert [p["media_type"] for p in stored["photos"]] == ["image/png", "image/jpeg"]
    assert (tmp_path / digest).read_bytes() == PDF
    with rt.uow() as uow:
        done = tasks.complete_task(uow, task.id, ADMIN, stored)
    assert done.status == "completed"
    with rt.uow(write=False) as uow:
        [event] = uow.session.scalars(select(InstanceEvent).where(
            InstanceEvent.instance_id == task.instance_id,
            InstanceEvent.type == "task_completed"))
        assert event.data["receipt"] == stored["receipt"]
        assert "base64" not in json.dumps(event.data)
        rows = list(uow.session.scalars(select(Evidence).order_by(Evidence.id)))
    assert [(r.filename, r.task_id) for r in rows] == [
        ("收据.pdf", task.id), ("a.png", task.id), ("b.jpg", task.id)]


@pytest.mark.parametrize("data,errors", [
    ({"receipt": data_url(PNG, "r.png", "image/png")}, {"receipt": ["type not accepted here"]}),
    ({"receipt": data_url(PDF, "r.pdf"), "photos": [data_url(PNG, "a.png", "image/png")] * 3},
     {"photos": ["too many files"]}),
    ({"receipt": data_url(b"x" * (LIMIT + 1), "r.pdf")}, {"receipt": ["too large"]}),
    ({"receipt": data_url(b"MZ\x90\x00", "r.pdf")}, {"receipt": ["type not accepted"]}),
    ({"receipt": data_url(PDF, "r.pdf"), "photos": ["data:image/png,abc"]},
     {"photos": ["not a data-url"]}),
])
def test_a_bad_file_is_refused_at_its_field_and_nothing_is_stored(
        rt: Runtime, tmp_path: Path, data: dict[str, Any], errors: dict[str, Any]) -> None:
    task = deploy_and_start(rt)
    with rt.uow() as uow, pytest.raises(ValidationFailed) as caught:
        file_inputs.store_data_urls(uow, task.id, ADMIN, {"note": "n", **data},
                                    store=tmp_path / "evidence", max_bytes=LIMIT)
    assert caught.value.errors == errors
    assert evidence_count(rt) == 0
    assert not (tmp_path / "evidence").exists()


def test_a_reference_to_a_file_of_another_task_or_altered_is_refused(
        rt: Runtime, tmp_path: Path) -> None:
    first, second = deploy_and_start(rt), deploy_and_start(rt)
    with rt.uow() as uow:
        theirs = file_inputs.store_data_urls(
            uow, first.id, ADMIN, {"receipt": data_url(PDF, "r.pdf")}, store=tmp_path,
            max_bytes=LIMIT)["receipt"]
    with rt.uow() as uow:
        ours = file_inputs.store_data_urls(
            uow, second.id, ADMIN, {"receipt": data_url(PDF, "r.pdf")}, store=tmp_path,
            max_bytes=LIMIT)["receipt"]
    for forged in (theirs, {**ours, "name": "other.pdf"}, {**ours, "size": 1}):
        with rt.uow() as uow, pytest.raises(ValidationFailed) as caught:
            tasks.complete_task(uow, second.id, ADMIN, {"note": "n", "receipt": forged})
        assert caught.value.errors == {"receipt": ["not a file of this task"]}
    with rt.uow(write=False) as uow:
        assert uow.session.get(HumanTask, second.id).state == "open"
    with rt.uow() as uow:
        assert tasks.complete_task(uow, second.id, ADMIN,
                                   {"note": "n", "receipt": ours}).status == "completed"


# ------------------------------------------------------------------- page and API


@pytest.fixture
def app(settings: Settings, tmp_path: Path) -> Iterator[Flask]:
    app = web.make_app(settings, IRPM_EVIDENCE_DIR=str(tmp_path / "evidence"),
                       IRPM_MAX_EVIDENCE_BYTES=LIMIT)
    yield app
    app.extensions["irpm"].close()


def _input(page: str, name: str, kind: str = "file") -> str:
    match = re.search(rf'<input[^>]*type="{kind}"[^>]*name="{re.escape(name)}"[^>]*>', page)
    assert match, name
    return match.group(0)


def test_the_page_uploads_into_the_store_keeps_the_file_through_errors_and_links_it(
        org: Org, app: Flask, client: FlaskClient, auth: AuthActions, tmp_path: Path) -> None:
    task = deploy_and_start(org.rt)
    auth.login(HOLDER)
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert 'accept=".pdf"' in _input(page, "receipt")
    assert "multiple" in _input(page, "photos") and 'accept="image/*"' in _input(page, "photos")
    response = client.post(f"/tasks/{task.id}", data={
        "action": "submit", "note": "", "receipt": (BytesIO(PDF), "收据.pdf")},
        content_type="multipart/form-data")
    assert response.status_code == 400  # the note is missing; the file is kept
    page = response.get_data(as_text=True)
    assert 'id="f-note-errors"' in page and 'id="f-receipt-errors"' not in page
    kept = re.search(r'<input type="hidden" name="receipt" value="([^"]+)"', page)
    assert kept and "收据.pdf" in page
    assert (tmp_path / "evidence" / hashlib.sha256(PDF).hexdigest()).read_bytes() == PDF
    response = client.post(f"/tasks/{task.id}", data={
        "action": "submit", "note": "已上交", "receipt": kept.group(1).replace("&#34;", '"')})
    assert response.status_code == 302
    done = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    submitted = done[done.index('id="submitted"'):]
    link = re.search(r'href="(/tasks/[^"]+/evidence/\d+)"[^>]*>收据.pdf<', submitted)
    assert link
    assert client.get(link.group(1)).data == PDF
    history = done[done.index('id="history"'):]
    assert f'href="{link.group(1)}"' in history  # the history links the file too
    auth.logout()
    auth.login(OUTSIDER)
    assert client.get(link.group(1)).status_code in (403, 404)
    auth.logout()
    auth.login("admin")
    console = client.get(f"/console/instances/{task.instance_id}").get_data(as_text=True)
    assert re.search(rf'href="{re.escape(link.group(1))}" data-event-file="\d+">收据.pdf<',
                     console)


def test_a_draft_keeps_the_uploaded_file_and_a_chosen_file_can_be_removed(
        org: Org, app: Flask, client: FlaskClient, auth: AuthActions) -> None:
    task = deploy_and_start(org.rt)
    auth.login(HOLDER)
    response = client.post(f"/tasks/{task.id}", data={
        "action": "save", "note": "草稿", "photos": [(BytesIO(PNG), "a.png"),
                                                     (BytesIO(JPEG), "b.jpg")]},
        content_type="multipart/form-data")
    assert response.status_code == 302
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    kept = re.findall(r'<input type="hidden" name="(photos\.\d)" value="([^"]+)"', page)
    assert [name for name, _value in kept] == ["photos.0", "photos.1"]
    assert "a.png" in page and "b.jpg" in page
    form = {name: value.replace("&#34;", '"') for name, value in kept}
    response = client.post(f"/tasks/{task.id}", data={
        **form, "note": "草稿", "action": "remove:photos.0"})
    page = response.get_data(as_text=True)
    assert re.findall(r'<input type="hidden" name="(photos\.\d)"', page) == ["photos.0"]
    assert "b.jpg" in page and "a.png" not in page
    response = client.post(f"/tasks/{task.id}", data={
        **form, "action": "submit", "note": "n", "photos.2": "x",
        "receipt": (BytesIO(PDF), "r.pdf"), "photos": (BytesIO(PNG), "c.png")},
        content_type="multipart/form-data")
    assert response.status_code == 400  # a third photo is one too many: nothing stored
    assert "此栏的文件过多。" in response.get_data(as_text=True)
    assert evidence_count(org.rt) == 2


def test_a_file_of_a_type_the_field_does_not_take_is_refused_at_it_on_the_page(
        org: Org, app: Flask, client: FlaskClient, auth: AuthActions) -> None:
    task = deploy_and_start(org.rt)
    auth.login(HOLDER)
    response = client.post(f"/tasks/{task.id}", data={
        "action": "submit", "note": "n", "receipt": (BytesIO(PNG), "r.png")},
        content_type="multipart/form-data")
    assert response.status_code == 400
    errors = re.search(r'id="f-receipt-errors"[^>]*>(.*?)</div>',
                       response.get_data(as_text=True), re.S)
    assert errors and "此栏不接受这种类型的文件" in errors.group(1)
    assert evidence_count(org.rt) == 0
    with org.rt.uow(write=False) as uow:
        assert uow.session.get(HumanTask, task.id).state == "open"


def test_an_api_client_completes_with_data_urls_as_rjsf_sends_them(
        org: Org, app: Flask, client: FlaskClient) -> None:
    task = deploy_and_start(org.rt)
    headers = bearer(make_token(org, HOLDER))
    refused = client.post(f"/api/v1/tasks/{task.id}/complete", headers=headers, json={
        "data": {"note": "n", "receipt": data_url(PNG, "r.png", "image/png")}})
    assert refused.status_code == 422, refused.get_data(as_text=True)
    assert "receipt" in json.dumps(refused.get_json())
    assert evidence_count(org.rt) == 0
    response = client.post(f"/api/v1/tasks/{task.id}/complete", headers=headers, json={
        "data": {"note": "n", "receipt": data_url(PDF, "r.pdf")}})
    assert response.status_code == 200, response.get_data(as_text=True)
    with org.rt.uow(write=False) as uow:
        [event] = uow.session.scalars(select(InstanceEvent).where(
            InstanceEvent.instance_id == task.instance_id,
            InstanceEvent.type == "task_completed"))
        assert event.data["receipt"]["sha256"] == hashlib.sha256(PDF).hexdigest()


# --------------------------------------------------------- the same as SpiffWorkflow


def test_the_task_data_and_path_are_those_of_raw_spiffworkflow_given_the_reference(
        rt: Runtime, tmp_path: Path) -> None:
    """SpiffWorkflow knows nothing of files: a user task's data is what the form gave. Raw
    SpiffWorkflow completing the task with the reference and IRPM completing it with the
    file (stored, its reference in the data) end with the same status, data and path."""
    task = deploy_and_start(rt)
    with rt.uow() as uow:
        data = file_inputs.store_data_urls(
            uow, task.id, ADMIN, {"note": "n", "receipt": data_url(PDF, "r.pdf")},
            store=tmp_path, max_bytes=LIMIT)
    with rt.uow() as uow:
        tasks.complete_task(uow, task.id, ADMIN, data)
    raw = compare.run_raw("file_inputs/receipt_report.bpmn", "receipt_report", compare.T0,
                          None, (compare.Complete("report", data),))
    persisted = compare.irpm_outcome(rt, task.instance_id)
    assert persisted == raw
    assert raw.status == "completed" and raw.data["receipt"]["sha256"] == hashlib.sha256(
        PDF).hexdigest()


def test_the_cli_completes_with_a_data_url_into_the_same_store(
        rt: Runtime, settings: Settings, tmp_path: Path) -> None:
    task = deploy_and_start(rt)
    runner = CliRunner(env={"IRPM_DATABASE_URL": settings.database_url, "IRPM_USER": None,
                            "IRPM_EVIDENCE_DIR": str(tmp_path / "evidence")})
    refused = runner.invoke(main, ["complete", str(task.id), "--user", HOLDER, "--data",
                                   json.dumps({"note": "n", "receipt": data_url(
                                       PNG, "r.png", "image/png")})])
    assert refused.exit_code == 1 and "receipt" in refused.stderr
    assert evidence_count(rt) == 0
    done = runner.invoke(main, ["complete", str(task.id), "--user", HOLDER, "--data",
                                json.dumps({"note": "n", "receipt": data_url(PDF, "r.pdf")})])
    assert done.exit_code == 0, done.output
    digest = hashlib.sha256(PDF).hexdigest()
    assert (tmp_path / "evidence" / digest).read_bytes() == PDF
    with rt.uow(write=False) as uow:
        assert uow.session.get(HumanTask, task.id).state == "completed"
