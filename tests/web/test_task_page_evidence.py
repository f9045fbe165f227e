"""Evidence files on the discovery form (web/tasks, engine.services.evidence): accepted by
content (PDF, PNG, JPEG, DOCX, XLSX), refused when too big, of another type, disguised as
another type, or named with path tricks; stored outside the web root by sha256; recorded
with who, when, name and digest; downloadable only by those who may see the task."""

from __future__ import annotations

import hashlib
import io
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import Workbook
from sqlalchemy import select
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from engine.models import Evidence, TaskState
from engine.settings import Settings
from tests.databases import Template

from .conftest import AuthActions, Org
from .test_task_page import (
    COLLEAGUE,
    HEAD,
    HOLDER,
    OTHER_UNIT,
    PostCycle,
    input_value,
    page_of,
    risk,
    running_post_cycle,
    task_page_app,
)

PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<</Type/Catalog>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"


def _zip(parts: dict[str, str]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in parts.items():
            archive.writestr(name, text)
    return out.getvalue()


def _xlsx() -> bytes:
    book = Workbook()
    book.active.append(["风险点", "证明"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _case_id(value: object) -> str | None:
    """A case's id part for ``value``: "zip" for a zip archive made here, whose bytes hold
    the time it was made (so that every process names the case alike: pytest-xdist's
    workers must collect the same ids), else pytest's own (None); other non-ASCII text keeps
    pytest's escaped id."""
    if isinstance(value, bytes) and value.startswith(b"PK\x03\x04") and len(value) > 64:
        return "zip"
    return value if isinstance(value, str) and value.isascii() else None


DOCX = _zip({"[Content_Types].xml": "<Types/>", "word/document.xml": "<w:document/>"})
XLSX = _xlsx()


@pytest.fixture
def cycle(org: Org, settings: Settings, post_cycle_world: Template) -> Iterator[PostCycle]:
    yield from running_post_cycle(settings, post_cycle_world)


@pytest.fixture
def app(settings: Settings, tmp_path: Path) -> Iterator[Flask]:
    yield from task_page_app(settings, tmp_path)


def evidence_rows(cycle: PostCycle) -> list[Evidence]:
    with cycle.rt.uow(write=False) as uow:
        return list(uow.session.scalars(select(Evidence).order_by(Evidence.id)))


def upload(client: FlaskClient, task_id: uuid.UUID, name: str, content: bytes,
           action: str = "upload", **form: Any) -> Any:
    response = client.post(f"/tasks/{task_id}", content_type="multipart/form-data", data={
        "action": action, "evidence": (io.BytesIO(content), name), **form})
    response.get_data()
    response.close()  # and the request's body with it (a temporary file when large)
    return response


def store_of(app: Flask) -> Path:
    return Path(app.config["IRPM_EVIDENCE_DIR"])


@pytest.mark.parametrize("name,content,content_type", [
    ("风险点说明.pdf", PDF, "application/pdf"),
    ("现场照片.PNG", PNG, "image/png"),
    ("scan.jpeg", JPEG, "image/jpeg"),
    ("岗位职责.docx", DOCX,
     "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ("台账.xlsx", XLSX, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
], ids=_case_id)
def test_an_accepted_file_is_stored_by_digest_and_recorded(
        client: FlaskClient, auth: AuthActions, app: Flask, cycle: PostCycle, name: str,
        content: bytes, content_type: str) -> None:
    task = cycle.task("self_identified")
    auth.login(HOLDER)
    response = upload(client, task.id, name, content, **risk(0, description="附件说明"))
    assert response.status_code == 302
    assert response.headers["Location"] == f"/tasks/{task.id}#evidence"
    [row] = evidence_rows(cycle)
    digest = hashlib.sha256(content).hexdigest()
    assert (row.task_id, row.instance_id, row.post_code, row.filename, row.content_type,
            row.size, row.sha256, row.uploaded_by) == (
        task.id, cycle.instance_id, "CZJ-BGS-02", name, content_type, len(content), digest,
        HOLDER)
    assert row.uploaded_at is not None
    stored = store_of(app) / digest
    assert stored.read_bytes() == content
    assert [p.name for p in store_of(app).iterdir()] == [digest]  # no temporary left over
    html = page_of(client, task.id)
    assert f"已上传“{name}”" in html and f'data-evidence="{row.id}"' in html
    # What was typed next to the file was kept as a draft.
    assert input_value(html, "risks.0.description") == "附件说明"

    download = client.get(f"/tasks/{task.id}/evidence/{row.id}")
    assert download.status_code == 200 and download.data == content
    assert download.mimetype == content_type
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert download.headers["Cache-Control"] == "private, no-store"
    assert download.headers["X-Content-Type-Options"] == "nosniff"


def test_the_same_content_twice_is_stored_once_and_recorded_twice(
        client: FlaskClient, auth: AuthActions, app: Flask, cycle: PostCycle) -> None:
    task = cycle.task("self_identified")
    auth.login(HOLDER)
    upload(client, task.id, "a.pdf", PDF)
    upload(client, task.id, "b.pdf", PDF, action="save", **risk(0))
    assert [r.filename for r in evidence_rows(cycle)] == ["a.pdf", "b.pdf"]
    assert len(list(store_of(app).iterdir())) == 1
    assert "草稿已保存" in page_of(client, task.id)


@pytest.mark.parametrize("name,content,message", [
    # Another type altogether.
    ("notes.txt", "只是一段文字".encode(), "只能上传 PDF、PNG、JPEG"),
    ("page.html", b"<html><script>alert(1)</script></html>", "只能上传 PDF、PNG、JPEG"),
    ("tool.exe", b"MZ\x90\x00\x03\x00\x00\x00", "只能上传 PDF、PNG、JPEG"),
    # Disguised: the name says one type, the content is another (or none of ours).
    ("report.pdf", b"<html><script>alert(1)</script></html>", "只能上传 PDF、PNG、JPEG"),
    ("photo.pdf", PNG, "的内容与文件名不符"),
    ("invoice.png", PDF, "的内容与文件名不符"),
    ("table.docx", XLSX, "的内容与文件名不符"),
    ("archive.docx", _zip({"readme.txt": "not an office document"}), "只能上传 PDF、PNG、JPEG"),
    ("broken.xlsx", b"PK\x03\x04 not really a zip", "只能上传 PDF、PNG、JPEG"),
    # Path tricks and odd names.
    ("../../etc/passwd.pdf", PDF, "文件名不能包含目录或特殊字符"),
    ("..\\..\\boot.pdf", PDF, "文件名不能包含目录或特殊字符"),
    ("sub/dir.pdf", PDF, "文件名不能包含目录或特殊字符"),
    (".hidden.pdf", PDF, "文件名不能包含目录或特殊字符"),
    ("report.pdf:stream", PDF, "文件名不能包含目录或特殊字符"),
    ("tab\tname.pdf", PDF, "文件名不能包含目录或特殊字符"),
    # Empty.
    ("empty.pdf", b"", "文件是空的"),
], ids=_case_id)
def test_a_refused_file_is_neither_stored_nor_recorded_and_nothing_typed_is_lost(
        client: FlaskClient, auth: AuthActions, app: Flask, cycle: PostCycle, name: str,
        content: bytes, message: str) -> None:
    task = cycle.task("self_identified")
    auth.login(HOLDER)
    response = upload(client, task.id, name, content, action="submit",
                      **risk(0, description="写了一半的描述"))
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert message in html and 'id="evidence-errors"' in html
    assert input_value(html, "risks.0.description") == "写了一半的描述"
    assert evidence_rows(cycle) == []
    assert not store_of(app).exists() or list(store_of(app).iterdir()) == []
    assert cycle.task("self_identified").state == TaskState.OPEN  # nor was it submitted
    assert cycle.drafts() == []


def test_a_file_over_the_limit_is_refused(client: FlaskClient, auth: AuthActions, app: Flask,
                                          cycle: PostCycle) -> None:
    app.config["IRPM_MAX_EVIDENCE_BYTES"] = 1024
    task = cycle.task("self_identified")
    auth.login(HOLDER)
    big = PDF + b"0" * 1024
    response = upload(client, task.id, "big.pdf", big, **risk(0, description="保留"))
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and "文件超过 1 KB，未能上传" in html
    assert input_value(html, "risks.0.description") == "保留"
    assert evidence_rows(cycle) == []
    assert 'data-max-bytes="1024"' in html  # the page warns before sending, with JavaScript
    # Exactly at the limit is fine.
    exact = PDF + b"0" * (1024 - len(PDF))
    assert upload(client, task.id, "exact.pdf", exact).status_code == 302
    assert [r.size for r in evidence_rows(cycle)] == [1024]


def test_a_request_far_over_the_limit_is_refused_unread(
        client: FlaskClient, auth: AuthActions, app: Flask, cycle: PostCycle) -> None:
    app.config["IRPM_MAX_EVIDENCE_BYTES"] = 1024
    task = cycle.task("self_identified")
    auth.login(HOLDER)
    # Encoded in memory (the test client would spool a body this large to a temporary file).
    boundary, body = encode_multipart(MultiDict({
        "action": "upload", "evidence": FileStorage(io.BytesIO(PDF + b"0" * 2 * 1024 * 1024),
                                                    "huge.pdf")}))
    response = client.post(f"/tasks/{task.id}", data=body,
                           content_type=f'multipart/form-data; boundary="{boundary}"')
    assert response.status_code == 302
    assert response.headers["Location"] == f"/tasks/{task.id}#evidence"
    assert "文件超过 1 KB，未能上传" in page_of(client, task.id)
    assert evidence_rows(cycle) == []


def test_only_those_who_may_see_the_task_download_its_files(
        client: FlaskClient, auth: AuthActions, app: Flask, cycle: PostCycle) -> None:
    task = cycle.task("self_identified")
    auth.login(HOLDER)
    upload(client, task.id, "证明.pdf", PDF)
    [row] = evidence_rows(cycle)
    url = f"/tasks/{task.id}/evidence/{row.id}"
    auth.logout()
    assert client.get(url, headers={"Accept": "application/json"}).status_code == 401
    for username, status in ((COLLEAGUE, 403), (OTHER_UNIT, 403), ("fgw-0001", 403),
                             (HEAD, 200), ("czj-0001", 200), ("jiwei", 200), ("admin", 200)):
        auth.login(username)
        response = client.get(url)
        assert response.status_code == status, username
        if status == 200:
            assert response.data == PDF
        else:
            assert PDF not in response.data
        auth.logout()
    # Another task's id with this file's number: not found, nothing leaks.
    auth.login(HOLDER)
    assert client.get(f"/tasks/{uuid.uuid4()}/evidence/{row.id}").status_code == 404
    assert client.get(f"/tasks/{task.id}/evidence/{row.id + 1}").status_code == 404
    # Someone who may only follow the task sees the files but cannot add any.
    auth.logout()
    auth.login(HEAD)
    html = page_of(client, task.id)
    assert f'data-evidence="{row.id}"' in html and 'id="evidence-file"' not in html
    assert upload(client, task.id, "mine.pdf", PDF).status_code == 302
    assert len(evidence_rows(cycle)) == 1


def test_files_cannot_be_added_once_the_task_is_done(
        client: FlaskClient, auth: AuthActions, app: Flask, cycle: PostCycle) -> None:
    task = cycle.task("self_identified")
    auth.login(HOLDER)
    upload(client, task.id, "first.pdf", PDF)
    response = upload(client, task.id, "second.pdf", PDF, action="submit", **risk(0))
    assert response.status_code == 302 and response.headers["Location"] == "/inbox/mine"
    assert [r.filename for r in evidence_rows(cycle)] == ["first.pdf", "second.pdf"]
    assert upload(client, task.id, "late.pdf", PDF).status_code == 302
    assert len(evidence_rows(cycle)) == 2
    html = page_of(client, task.id)
    assert "first.pdf" in html and "second.pdf" in html and 'id="evidence-file"' not in html
    # The file was attached before the risks were recorded with the completion.
    [point] = cycle.points()
    assert point.created_by == HOLDER


def test_a_file_store_outside_the_web_root_by_default(settings: Settings) -> None:
    from engine.settings import PROJECT_ROOT
    from web import create_app

    app = create_app({"TESTING": True, "IRPM_SETTINGS": settings, "SECRET_KEY": "x" * 32})
    try:
        store = Path(app.config["IRPM_EVIDENCE_DIR"]).resolve()
        assert store == (PROJECT_ROOT / "instance" / "evidence").resolve()
        assert Path(app.static_folder or "").resolve() not in store.parents
        assert app.config["IRPM_MAX_EVIDENCE_BYTES"] == 10 * 1024 * 1024
    finally:
        app.extensions["irpm"].close()
