"""Request bodies are size-limited before anything reads them (web/limits.py, issue 13):
anonymous requests to 64 KB, signed-in ones to 16 MB, every form's fields bounded; a larger
``Content-Length`` is a 413 at once — the body unread, no temporary file, nothing written —
and a chunked body is cut off at the limit. The bodies here are streams that count what is
read from them: no test allocates the sizes it claims."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask, Request
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from engine.models import AuditEntry, RateLimit
from engine.programme.services import organisation
from engine.settings import Settings

from .conftest import PASSWORD, AuthActions, Org, csrf_token, make_app

MB = 1024 * 1024
STAFF = "czj-0011"


class Body(io.RawIOBase):
    """``size`` bytes of ``fill`` produced on demand (seekable, as the test client measures
    its input), counting how many were read."""

    def __init__(self, size: int, fill: bytes = b"a") -> None:
        self.size, self.fill, self.position, self.taken = size, fill, 0, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.size}[whence]
        self.position = base + offset
        return self.position

    def tell(self) -> int:
        return self.position

    def readinto(self, buffer: Any) -> int:
        count = max(0, min(len(buffer), self.size - self.position))
        buffer[:count] = self.fill * count
        self.position += count
        self.taken += count
        return count


def send(client: FlaskClient, path: str, size: int, content_type: str, *,
         declared: bool = True, **kwargs: Any) -> tuple[TestResponse, Body, float]:
    """POST ``size`` bytes to ``path``, declaring them in Content-Length or, with
    ``declared=False``, in chunks (no length); the response, the body, the seconds taken."""
    body = Body(size)
    overrides: dict[str, Any] = {} if declared else {
        "wsgi.input_terminated": True, "CONTENT_LENGTH": "",
        "HTTP_TRANSFER_ENCODING": "chunked"}
    began = time.monotonic()
    response = client.post(path, input_stream=body, content_type=content_type,
                           environ_overrides=overrides, **kwargs)
    return response, body, time.monotonic() - began


def rows(org: Org) -> tuple[int, int, int]:
    """What a refused request must not change: rate-limit counters, audit entries, the
    session version."""
    with org.rt.uow(write=False) as uow:
        return (uow.session.scalar(select(func.count()).select_from(RateLimit)) or 0,
                uow.session.scalar(select(func.count()).select_from(AuditEntry)) or 0,
                organisation.get_account(uow, STAFF).session_version)


@pytest.fixture
def protected(settings: Settings) -> Iterator[Flask]:
    """The app as in production: CSRF checked (its hook reads the form)."""
    app = make_app(settings, WTF_CSRF_ENABLED=True)
    yield app
    app.extensions["irpm"].close()


def test_an_anonymous_200_mb_sign_in_is_refused_unread(protected: Flask, org: Org) -> None:
    before = rows(org)
    client = protected.test_client()
    response, body, seconds = send(client, "/login", 200 * MB,
                                   "application/x-www-form-urlencoded")
    assert response.status_code == 413
    assert body.taken == 0 and seconds < 5
    html = response.get_data(as_text=True)
    assert "64 KB" in html and "请求过大" in html
    assert rows(org) == before  # not even a failed sign-in was counted


def test_the_sign_in_form_is_unaffected(protected: Flask, org: Org) -> None:
    client = protected.test_client()
    token = csrf_token(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"username": STAFF, "password": PASSWORD,
                                           "csrf_token": token})
    assert response.status_code == 302


def test_a_chunked_anonymous_body_is_cut_off_at_the_limit(client: FlaskClient,
                                                           org: Org) -> None:
    before = rows(org)
    response, body, _seconds = send(client, "/login", 200 * MB,
                                    "application/x-www-form-urlencoded", declared=False)
    assert response.status_code == 413
    assert body.taken <= 64 * 1024 + 64 * 1024  # the limit, and at most a buffer beyond
    assert rows(org) == before


def test_an_anonymous_form_with_too_many_parts_is_refused(client: FlaskClient,
                                                          org: Org) -> None:
    before = rows(org)
    fields = {f"f{i}": "x" for i in range(60)}
    response = client.post("/login", data={**fields, "username": STAFF, "password": "x"},
                           content_type="multipart/form-data")
    assert response.status_code == 413
    assert rows(org) == before


def test_the_public_api_answers_413_in_json(client: FlaskClient, org: Org) -> None:
    response, body, _seconds = send(client, "/api/v1/feedback", 1 * MB, "application/json")
    assert response.status_code == 413 and body.taken == 0
    assert response.get_json()["code"] == "request_entity_too_large"
    assert response.get_json()["limit"] == 64 * 1024
    assert "64 KB" in response.get_json()["message"]


def test_a_false_bearer_token_gets_no_larger_limit_than_a_401(client: FlaskClient,
                                                              org: Org) -> None:
    response, body, _seconds = send(client, "/api/v1/feedback", 1 * MB, "application/json",
                                    headers={"Authorization": "Bearer irpm_not-a-token"})
    assert response.status_code == 401 and body.taken == 0
    response, body, _seconds = send(client, "/login", 1 * MB,
                                    "application/x-www-form-urlencoded",
                                    headers={"Authorization": "Bearer irpm_not-a-token"})
    assert response.status_code == 413 and body.taken == 0  # pages ignore bearer tokens


def test_anonymous_posts_to_a_task_page_keep_the_anonymous_limit(client: FlaskClient,
                                                                  org: Org) -> None:
    """The task pages allow an evidence file's size — to signed-in users only. (Their own
    413 handler answers: back to the page, which sends an anonymous user to sign in.)"""
    task = "/tasks/00000000-0000-0000-0000-000000000000"
    response, body, _seconds = send(client, task, 1 * MB, "multipart/form-data; boundary=x")
    assert body.taken == 0
    assert response.status_code == 302 and response.headers["Location"].startswith(task)


@pytest.fixture
def admin(client: FlaskClient, auth: AuthActions, org: Org) -> FlaskClient:
    assert auth.login("admin").status_code == 302
    return client


def test_100_mb_of_json_to_the_designer_is_refused_unread(admin: FlaskClient,
                                                          org: Org) -> None:
    response, body, seconds = send(admin, "/designer/api/validate", 100 * MB,
                                   "application/json")
    assert response.status_code == 413 and body.taken == 0 and seconds < 5
    assert response.get_json()["code"] == "request_entity_too_large"
    assert "16 MB" in response.get_json()["message"]


def test_oversize_chunked_json_to_the_designer_is_cut_off(settings: Settings,
                                                          org: Org) -> None:
    app = make_app(settings, MAX_CONTENT_LENGTH=1 * MB)
    try:
        client = app.test_client()
        AuthActions(client).login("admin")
        response, body, _seconds = send(client, "/designer/api/validate", 100 * MB,
                                        "application/json", declared=False)
        assert response.status_code == 413 and body.taken <= 2 * MB
        small = client.post("/designer/api/validate", data=json.dumps({"x": 1}),
                            content_type="application/json")
        assert small.status_code == 400  # within the limit: read, and found wanting
    finally:
        app.extensions["irpm"].close()


def test_a_too_large_multipart_upload_writes_no_temporary_file(
        admin: FlaskClient, org: Org, monkeypatch: pytest.MonkeyPatch) -> None:
    streams: list[str | None] = []
    original = Request._get_file_stream

    def spy(self: Request, total_content_length: int | None, content_type: str | None,
            filename: str | None = None, content_length: int | None = None) -> Any:
        streams.append(filename)
        return original(self, total_content_length, content_type, filename, content_length)

    monkeypatch.setattr(Request, "_get_file_stream", spy)
    response, body, _seconds = send(admin, "/designer/upload", 200 * MB,
                                    "multipart/form-data; boundary=x")
    assert response.status_code == 413 and body.taken == 0
    assert streams == []
    assert "16 MB" in response.get_data(as_text=True)
    # The spy sees files when they are read: a small upload goes through it.
    admin.post("/designer/upload", data={"files": (io.BytesIO(b"<x/>"), "a.bpmn")},
               content_type="multipart/form-data")
    assert streams == ["a.bpmn"]


def test_the_limits_come_from_the_settings(settings: Settings, org: Org) -> None:
    app = make_app(settings, IRPM_MAX_ANONYMOUS_BYTES=1024)
    try:
        response, body, _seconds = send(app.test_client(), "/login", 2048,
                                        "application/x-www-form-urlencoded")
        assert response.status_code == 413 and body.taken == 0
        assert "1 KB" in response.get_data(as_text=True)
    finally:
        app.extensions["irpm"].close()
