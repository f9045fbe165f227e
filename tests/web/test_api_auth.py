"""API authentication and the API's shell (web/api/auth, errors, root, account, pages): the
session or a personal token, CSRF for session calls, JSON errors everywhere, tokens made
and revoked through the API and the profile page, the OpenAPI document and the docs page."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine.programme.services import organisation
from engine.services import api_tokens, inbox
from engine.settings import Settings

from .conftest import T0, AuthActions, Org, csrf_token, make_app

STAFF = "czj-0011"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def make_token(org: Org, username: str = STAFF, days: int = 90) -> str:
    with org.rt.uow() as uow:
        return api_tokens.create_token(uow, username, "script", expires_in_days=days).secret


def test_anonymous_calls_get_401_json_never_a_redirect(client: FlaskClient, org: Org) -> None:
    for method, url in (("GET", "/api/v1/tasks"), ("POST", "/api/v1/tasks/x/claim"),
                        ("GET", "/api/v1/me"), ("GET", "/api/v1/no/such/thing"),
                        ("DELETE", "/api/v1/tokens/1")):
        response = client.open(url, method=method, headers={"Accept": "text/html"})
        assert response.status_code == 401, url
        assert response.get_json()["code"] == "unauthenticated"
        assert response.headers["WWW-Authenticate"] == 'Bearer realm="irpm"'


def test_the_session_authenticates(client: FlaskClient, auth: AuthActions, org: Org) -> None:
    auth.login(STAFF)
    body = client.get("/api/v1/me").get_json()
    assert body["username"] == STAFF and body["authenticated_by"] == "session"
    assert "post:CZJ-BGS-02" in body["groups"] and body["is_admin"] is False
    auth.logout()
    assert client.get("/api/v1/me").status_code == 401


def test_a_token_authenticates_and_records_its_use(client: FlaskClient, org: Org) -> None:
    token = make_token(org)
    assert re.fullmatch(r"irpm_[A-Za-z0-9_-]{43}", token)
    body = client.get("/api/v1/me", headers=bearer(token)).get_json()
    assert body == {"username": STAFF, "is_admin": False, "authenticated_by": "token",
                    "groups": body["groups"]}
    with org.rt.uow(write=False) as uow:
        [row] = api_tokens.list_tokens(uow, STAFF)
    assert row.last_used_at == T0 and row.token_hash != token and token not in row.prefix * 9


@pytest.mark.parametrize("header", [
    "Bearer irpm_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "Bearer nonsense", "Bearer ",
    "Basic dXNlcjpwYXNz", "Token irpm_x"])
def test_bad_tokens_are_refused(client: FlaskClient, auth: AuthActions, org: Org,
                                header: str) -> None:
    auth.login(STAFF)  # a session does not rescue a bad token
    response = client.get("/api/v1/me", headers={"Authorization": header})
    assert response.status_code == 401 and response.get_json()["code"] == "invalid_token"


def test_revoked_expired_and_disabled_tokens_stop_working(client: FlaskClient,
                                                          org: Org) -> None:
    token, short = make_token(org), make_token(org, days=1)
    assert client.get("/api/v1/me", headers=bearer(short)).status_code == 200
    org.set_clock(T0 + timedelta(days=1, seconds=1))
    assert client.get("/api/v1/me", headers=bearer(short)).status_code == 401
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200
    with org.rt.uow() as uow:
        organisation.save_account(uow, STAFF, active=False)
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 401


def test_tokens_through_the_api(client: FlaskClient, auth: AuthActions, org: Org) -> None:
    assert client.post("/api/v1/tokens", json={"name": "x"}).status_code == 401
    auth.login(STAFF)
    response = client.post("/api/v1/tokens", json={"name": "nightly export",
                                                   "expires_in_days": 30})
    assert response.status_code == 201
    created = response.get_json()
    token = created["token"]
    assert created["name"] == "nightly export" and created["revoked"] is False
    assert token.startswith(created["prefix"])
    assert created["expires_at"].startswith("2011-02-03")
    listed = client.get("/api/v1/tokens").get_json()
    assert [t["id"] for t in listed] == [created["id"]] and "token" not in listed[0]
    auth.logout()

    assert client.get("/api/v1/tokens", headers=bearer(token)).status_code == 200
    response = client.post("/api/v1/tokens", json={"name": "another"}, headers=bearer(token))
    assert response.status_code == 403  # a token cannot mint tokens
    other = make_token(org, "czj-0012")
    response = client.delete(f"/api/v1/tokens/{created['id']}", headers=bearer(other))
    assert response.status_code == 404  # nobody else's tokens, not even by id
    response = client.delete(f"/api/v1/tokens/{created['id']}", headers=bearer(token))
    assert response.status_code == 200 and response.get_json()["revoked"] is True
    assert client.get("/api/v1/tokens", headers=bearer(token)).status_code == 401
    assert client.delete("/api/v1/tokens/999", headers=bearer(other)).status_code == 404


@pytest.mark.parametrize("body,field", [
    ({}, "name"), ({"name": ""}, "name"), ({"name": "x" * 101}, "name"),
    ({"name": "x", "expires_in_days": 0}, "expires_in_days"),
    ({"name": "x", "expires_in_days": 366}, "expires_in_days")])
def test_invalid_token_requests_name_the_field(client: FlaskClient, auth: AuthActions,
                                               org: Org, body: dict[str, object],
                                               field: str) -> None:
    auth.login(STAFF)
    response = client.post("/api/v1/tokens", json=body)
    assert response.status_code == 422 and list(response.get_json()["errors"]) == [field]


@pytest.fixture
def csrf_app(settings: Settings) -> Iterator[Flask]:
    app = make_app(settings, WTF_CSRF_ENABLED=True)
    yield app
    app.extensions["irpm"].close()


def test_session_calls_that_change_things_need_the_csrf_token(csrf_app: Flask,
                                                              org: Org) -> None:
    client = csrf_app.test_client()
    login = client.get("/login").get_data(as_text=True)
    client.post("/login", data={"username": STAFF, "password": "irpm-web-test-1",
                                "csrf_token": csrf_token(login)})
    assert client.get("/api/v1/me").status_code == 200  # reading needs none
    response = client.post("/api/v1/tokens", json={"name": "x"})
    assert response.status_code == 400 and response.get_json()["code"] == "csrf_failed"
    response = client.post("/api/v1/tokens", json={"name": "x"},
                           headers={"X-CSRFToken": "forged"})
    assert response.status_code == 400
    token = csrf_token(client.get("/inbox/mine").get_data(as_text=True))
    response = client.post("/api/v1/tokens", json={"name": "x"},
                           headers={"X-CSRFToken": token})
    assert response.status_code == 201
    secret = response.get_json()["token"]
    anonymous = csrf_app.test_client()  # a token call needs no CSRF token
    response = anonymous.delete(f"/api/v1/tokens/{response.get_json()['id']}",
                                headers=bearer(secret))
    assert response.status_code == 200


def test_unknown_paths_and_methods_are_json(client: FlaskClient, auth: AuthActions,
                                            org: Org) -> None:
    auth.login(STAFF)
    for url in ("/api/v1/", "/api/v1/nothing", "/api/v1/tasks/x/y/z"):
        response = client.get(url)
        assert response.status_code == 404 and response.get_json()["code"] == "not_found"
    response = client.delete("/api/v1/tasks")
    assert response.status_code == 405 and response.get_json()["code"] == "method_not_allowed"
    assert response.headers["Allow"] == "GET"
    assert client.put("/api/v1/tokens").headers["Allow"] == "GET, POST"


def test_server_errors_are_json_without_details(settings: Settings, org: Org,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    app = make_app(settings, PROPAGATE_EXCEPTIONS=False)
    client = app.test_client()
    AuthActions(client).login(STAFF)

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("secret detail")

    monkeypatch.setattr(inbox, "inbox_page", broken)
    monkeypatch.setattr(app.logger, "error", lambda *a, **k: None)
    response = client.get("/api/v1/tasks")
    assert response.status_code == 500
    assert response.get_json()["code"] == "server_error"
    assert "secret" not in response.get_data(as_text=True)
    app.extensions["irpm"].close()


def test_pages_keep_their_own_errors(client: FlaskClient, auth: AuthActions,
                                     org: Org) -> None:
    """The API's JSON errors stay inside /api/v1."""
    auth.login(STAFF)
    response = client.get("/no-such-page")
    assert response.status_code == 404 and response.mimetype == "text/html"


def _api_rules(app: Flask) -> set[str]:
    return {re.sub(r"<(?:\w+(?:\([^)]*\))?:)?(\w+)>", r"{\1}", rule.rule)
            for rule in app.url_map.iter_rules()
            if rule.endpoint.startswith("api.") and rule.endpoint != "api.unknown"}


def test_the_openapi_document_lists_every_path(app: Flask, client: FlaskClient) -> None:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    spec = json.loads(response.get_data(as_text=True))
    assert spec["openapi"].startswith("3.") and spec["info"]["title"] == "IRPM API"
    assert set(spec["paths"]) == _api_rules(app)
    assert len(spec["paths"]) >= 29
    assert spec["components"]["securitySchemes"]["token"] == {"type": "http",
                                                              "scheme": "bearer"}
    assert {t["name"] for t in spec["tags"]} == {
        "definitions", "instances", "tasks", "organisation", "register", "feedback",
        "account", "jobs", "messages", "signals"}
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method == "parameters":
                continue
            assert operation["responses"], (path, method)
            assert operation.get("summary"), (path, method)
    schemas = spec["components"]["schemas"]
    assert {"Error", "Task", "TaskPage", "Instance", "Feedback"} <= set(schemas)


def test_the_docs_page_uses_only_local_assets(client: FlaskClient) -> None:
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in html
    assert "/api/v1/openapi.json" in html
    assert not re.search(r"(src|href)=\"(https?:)?//", html)
    assert "<script>" not in html  # nothing inline: the CSP forbids it
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    script = client.get("/static/api/api-docs.js")
    assert script.status_code == 200 and "validatorUrl: null" in script.get_data(as_text=True)
    script.close()


def test_the_profile_page_creates_shows_once_and_revokes(client: FlaskClient,
                                                         auth: AuthActions, org: Org) -> None:
    assert client.get("/profile").status_code == 302  # a page: to the sign-in page
    auth.login(STAFF)
    page = client.get("/profile").get_data(as_text=True)
    assert "API 令牌" in page and "您还没有 API 令牌" in page
    response = client.post("/profile/tokens", data={"name": "", "expires_in_days": "90"})
    assert response.status_code == 400 and "请为令牌命名" in response.get_data(as_text=True)
    response = client.post("/profile/tokens", data={"name": "报表脚本", "expires_in_days": "30"})
    assert response.status_code == 201
    page = response.get_data(as_text=True)
    secret = re.search(r'value="(irpm_[^"]+)"[^>]*data-token', page)
    assert secret and "仅显示这一次" in page
    assert client.get("/api/v1/me", headers=bearer(secret.group(1))).status_code == 200
    page = client.get("/profile").get_data(as_text=True)
    assert secret.group(1) not in page and "报表脚本" in page and "有效" in page
    [token_id] = re.findall(r'data-token-id="(\d+)"', page)
    response = client.post(f"/profile/tokens/{token_id}/revoke")
    assert response.status_code == 302
    page = client.get("/profile").get_data(as_text=True)
    assert "已撤销" in page
    assert client.get("/api/v1/me", headers=bearer(secret.group(1))).status_code == 401
    client.post("/profile/tokens/999/revoke")
    assert "不存在" in client.get("/profile").get_data(as_text=True)


#: Values for the path parameters of the OpenAPI document's operations.
PATH_VALUES = {"process_id": "inbox_cycle", "instance_id": "1", "kind": "posts",
               "code": "CZJ", "task_id": "00000000-0000-0000-0000-000000000001",
               "token_id": "1", "job_id": "1"}
#: The operations anyone may call (POST /feedback: the public's feedback during publicity).
PUBLIC_OPERATIONS = {("post", "/api/v1/feedback")}


def test_every_operation_but_the_public_feedback_refuses_anonymous_callers(
        client: FlaskClient, org: Org) -> None:
    """Walks the OpenAPI document, so an operation added later is checked too."""
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    operations = [(method, path) for path, item in paths.items() for method in item
                  if method in ("get", "post", "put", "patch", "delete")]
    assert len(operations) >= 30
    for method, path in operations:
        url = re.sub(r"\{(\w+)\}", lambda m: PATH_VALUES[m.group(1)], path)
        response = client.open(url, method=method.upper(), json={})
        if (method, path) in PUBLIC_OPERATIONS:
            assert response.status_code != 401, (method, path)
            assert paths[path][method]["security"] == []
            continue
        assert response.status_code == 401, (method, path, response.status_code)
        assert response.get_json()["code"] == "unauthenticated"
        assert "401" in paths[path][method]["responses"], (method, path)
