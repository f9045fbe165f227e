"""Sign-in, sign-out, session expiry, CSRF, the private-by-default gate, security headers,
error pages and the language switch (web/auth, web/security, web/errors, web/i18n)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine.programme.services import organisation
from engine.settings import Settings
from web import config as web_config
from web.auth import SEEN

from .conftest import PASSWORD, AuthActions, Org, csrf_token, make_app

STAFF = "czj-0011"


def test_sign_in_and_out(client: FlaskClient, auth: AuthActions, org: Org) -> None:
    assert client.get("/login").status_code == 200
    response = auth.login(STAFF)
    assert response.status_code == 302 and response.headers["Location"] == "/"
    page = client.get("/inbox/mine")
    assert page.status_code == 200
    assert "向永浩" in page.get_data(as_text=True)  # the official's name in the menu

    response = auth.logout()
    assert response.headers["Location"] == "/login"
    assert client.get("/inbox/mine").status_code == 302


def test_sign_in_goes_back_where_the_user_was_going(client: FlaskClient, auth: AuthActions,
                                                    org: Org) -> None:
    response = client.get("/inbox/claimable?page=1")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/inbox/claimable?page%3D1"
    response = client.post("/login", data={"username": STAFF, "password": PASSWORD,
                                           "next": "/inbox/claimable?page=1"})
    assert response.headers["Location"] == "/inbox/claimable?page=1"


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x",
                                    "/\\evil.example", "javascript:alert(1)"])
def test_sign_in_never_redirects_off_site(client: FlaskClient, org: Org, target: str) -> None:
    response = client.post("/login", data={"username": STAFF, "password": PASSWORD,
                                           "next": target})
    assert response.headers["Location"] == "/"


@pytest.mark.parametrize("username,password", [
    (STAFF, "wrong-password"), ("nobody", PASSWORD), ("", PASSWORD), (STAFF, "")])
def test_wrong_credentials_are_refused(client: FlaskClient, org: Org, username: str,
                                       password: str) -> None:
    response = client.post("/login", data={"username": username, "password": password})
    assert response.status_code == 400
    assert client.get("/inbox/mine").status_code == 302


def test_the_same_message_for_an_unknown_user_and_a_wrong_password(
        client: FlaskClient, org: Org) -> None:
    texts = []
    for username, password in ((STAFF, "wrong-password"), ("nobody", "wrong-password")):
        html = client.post("/login", data={"username": username,
                                           "password": password}).get_data(as_text=True)
        texts.append(re.findall(r'class="invalid-feedback"[^>]*>([^<]*)<', html))
    assert texts[0] == texts[1] == ["用户名或密码错误。"]


def test_a_disabled_account_cannot_sign_in_and_its_session_ends(
        client: FlaskClient, auth: AuthActions, org: Org) -> None:
    auth.login(STAFF)
    assert client.get("/inbox/mine").status_code == 200
    with org.rt.uow() as uow:
        organisation.save_account(uow, STAFF, active=False)
    assert client.get("/inbox/mine").status_code == 302
    assert auth.login(STAFF).status_code == 400


def test_a_password_change_ends_older_sessions(client: FlaskClient, auth: AuthActions,
                                               org: Org) -> None:
    auth.login(STAFF)
    with org.rt.uow() as uow:
        organisation.save_account(uow, STAFF, password="a-new-password-1")
    assert client.get("/inbox/mine").status_code == 302
    assert auth.login(STAFF, "a-new-password-1").status_code == 302


def test_an_idle_session_expires(client: FlaskClient, auth: AuthActions, org: Org,
                                 app: Flask) -> None:
    auth.login(STAFF)
    lifetime = app.permanent_session_lifetime
    assert lifetime == timedelta(hours=8)
    with client.session_transaction() as session:
        assert session.permanent
        session[SEEN] -= int(lifetime.total_seconds()) - 60  # idle for almost 8 hours
    assert client.get("/inbox/mine").status_code == 200  # ... and the request renews it
    with client.session_transaction() as session:
        session[SEEN] -= int(lifetime.total_seconds()) + 1
    response = client.get("/inbox/mine")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert "登录已超时" in client.get("/login").get_data(as_text=True)


def test_the_session_cookie_is_httponly_samesite_and_expires(
        client: FlaskClient, org: Org) -> None:
    response = client.post("/login", data={"username": STAFF, "password": PASSWORD})
    cookie = next(c for c in response.headers.getlist("Set-Cookie")
                  if c.startswith("irpm_session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Expires=" in cookie


def test_settings_from_the_environment(tmp_path: pytest.TempPathFactory) -> None:
    found = web_config.from_env({"IRPM_SECRET_KEY": "s" * 40, "IRPM_SESSION_HOURS": "2",
                                 "IRPM_NEAR_DUE_DAYS": "5", "IRPM_SECURE_COOKIES": "1"})
    assert found == {"SECRET_KEY": "s" * 40, "PERMANENT_SESSION_LIFETIME": timedelta(hours=2),
                     "IRPM_NEAR_DUE_DAYS": 5.0, "SESSION_COOKIE_SECURE": True}
    assert web_config.from_env({}) == {}


def test_the_secret_key_is_generated_once_into_the_instance_folder(tmp_path: object) -> None:
    from pathlib import Path

    folder = Path(str(tmp_path)) / "instance"
    key = web_config.instance_secret_key(folder)
    assert len(key) == 64 and web_config.instance_secret_key(folder) == key
    assert (folder / "secret_key").stat().st_mode & 0o777 == 0o600


# ------------------------------------------------------------------------------ CSRF


@pytest.fixture
def csrf_client(settings: Settings) -> Iterator[FlaskClient]:
    app = make_app(settings, WTF_CSRF_ENABLED=True)
    yield app.test_client()
    app.extensions["irpm"].close()


def test_a_form_without_its_csrf_token_is_refused(csrf_client: FlaskClient, org: Org) -> None:
    refused = csrf_client.post("/login", data={"username": STAFF, "password": PASSWORD})
    assert refused.status_code == 400
    assert "表单已过期" in refused.get_data(as_text=True)

    token = csrf_token(csrf_client.get("/login").get_data(as_text=True))
    signed_in = csrf_client.post("/login", data={"username": STAFF, "password": PASSWORD,
                                                 "csrf_token": token})
    assert signed_in.status_code == 302

    task_id = org.open_task(org.start("CZJ-BGS-02")).id
    assert csrf_client.post(f"/inbox/tasks/{task_id}/claim").status_code == 400
    assert org.task(task_id).assignee is None
    assert csrf_client.post("/logout").status_code == 400
    token = csrf_token(csrf_client.get("/inbox/mine").get_data(as_text=True))
    assert csrf_client.post(f"/inbox/tasks/{task_id}/claim",
                            data={"csrf_token": token}).status_code == 302
    assert org.task(task_id).assignee == STAFF


# ------------------------------------------------------------ private unless public


PUBLIC = {"static", "auth.login", "health.healthz", "i18n.switch", "api-docs.openapi_json",
          "api-docs.openapi_swagger_ui", "api_pages.static", "api.feedback.send_feedback",
          "publicity.index", "publicity.unit", "publicity.feedback", "publicity.static",
          "notifications.static"}


def _url(rule: str) -> str:
    for pattern, value in ((r"<unit_code>", "CZJ"), (r"<int(?:\([^)]*\))?:year>", "2011"),
                           (r"<post_code>", "CZJ-BGS-02")):
        rule = re.sub(pattern, value, rule)
    rule = re.sub(r"<int(?:\([^)]*\))?:\w+>", "1", rule)  # any other number (an instance, a batch)
    rule = re.sub(r"<any\(([^,)]+)[^)]*\):(?!view>)\w+>", r"\1", rule)  # the first choice
    return re.sub(r"<(?:uuid:)?task_id>", str(uuid.uuid4()),
                  re.sub(r"<any\([^)]*\):view>", "mine", re.sub(r"<path:filename>",
                                                                "css/irpm.css", rule)))


def test_anonymous_requests_are_refused_everywhere_but_public_endpoints(
        app: Flask, client: FlaskClient) -> None:
    checked = 0
    for rule in app.url_map.iter_rules():
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            with client.open(_url(rule.rule), method=method) as response:
                pass
            if rule.endpoint in PUBLIC or rule.endpoint.endswith(".static"):  # web.access
                assert response.status_code != 401 and not response.headers.get(
                    "Location", "").startswith("/login?"), rule.rule
                continue
            checked += 1
            if rule.endpoint.startswith("api."):  # the REST API: 401 in JSON, no redirect
                assert response.status_code == 401, (method, rule.rule)
                continue
            assert response.status_code == 302, (method, rule.rule)
            assert response.headers["Location"].startswith("/login"), (method, rule.rule)
    assert checked >= 8
    assert client.get("/no/such/page").headers["Location"].startswith("/login")


def test_anonymous_json_clients_get_401(client: FlaskClient) -> None:
    response = client.get("/inbox/mine", headers={"Accept": "application/json"})
    assert response.status_code == 401
    assert response.get_json()["code"] == "unauthenticated"


def test_a_new_view_is_private_unless_marked_public(settings: Settings) -> None:
    from web.access import public

    app = make_app(settings)

    @app.get("/later-private")
    def later_private() -> str:
        return "secret"

    @app.get("/later-public")
    @public
    def later_public() -> str:
        return "hello"

    client = app.test_client()
    try:
        assert client.get("/later-private").status_code == 302
        assert client.get("/later-public").get_data(as_text=True) == "hello"
    finally:
        app.extensions["irpm"].close()


# -------------------------------------------------------- headers, errors, language


def test_security_headers(client: FlaskClient, auth: AuthActions, org: Org) -> None:
    auth.login(STAFF)
    for url in ("/inbox/mine", "/login", "/healthz", "/static/css/irpm.css"):
        with client.get(url) as response:
            headers = response.headers
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["X-Content-Type-Options"] == "nosniff"
        csp = headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp and "http" not in csp
    assert client.get("/inbox/mine").headers["Cache-Control"] == "no-store"


def test_pages_carry_no_inline_script_or_style(client: FlaskClient, auth: AuthActions,
                                               org: Org) -> None:
    auth.login(STAFF)
    for url in ("/login", "/inbox/mine", "/inbox/claimable", "/inbox/involved"):
        html = client.get(url).get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), url
        assert " style=" not in html and "<style" not in html, url
        assert "//cdn" not in html and "https://" not in html, url


def test_error_pages_are_in_chinese(client: FlaskClient, auth: AuthActions, org: Org) -> None:
    auth.login(STAFF)
    missing = client.get("/no/such/page")
    assert missing.status_code == 404 and "页面不存在" in missing.get_data(as_text=True)
    absent_task = client.get(f"/tasks/{uuid.uuid4()}")
    assert absent_task.status_code == 404
    wrong_method = client.get(f"/inbox/tasks/{uuid.uuid4()}/claim")
    assert wrong_method.status_code == 405
    assert "不支持的请求方式" in wrong_method.get_data(as_text=True)


def test_a_server_error_page(settings: Settings, org: Org) -> None:
    app = make_app(settings, TESTING=False)

    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError("boom")

    client = app.test_client()
    AuthActions(client).login(STAFF)
    try:
        response = client.get("/boom")
    finally:
        app.extensions["irpm"].close()
    assert response.status_code == 500
    assert "服务器错误" in response.get_data(as_text=True)


def test_the_language_switch_persists(client: FlaskClient, auth: AuthActions,
                                      org: Org) -> None:
    page = client.get("/login").get_data(as_text=True)
    assert '<html lang="zh-CN">' in page and "登录" in page

    response = client.post("/language", data={"lang": "en", "next": "/inbox/mine"})
    assert response.status_code == 302 and response.headers["Location"] == "/inbox/mine"
    assert "irpm_lang=en" in response.headers["Set-Cookie"]
    page = client.get("/login").get_data(as_text=True)
    assert '<html lang="en">' in page and "Sign in" in page and "登录" not in page

    auth.login(STAFF)
    inbox = client.get("/inbox/mine").get_data(as_text=True)
    assert "My tasks" in inbox and "To claim" in inbox and "我的待办" not in inbox
    auth.logout()  # the choice outlives the session (cookie)
    assert "Sign in" in client.get("/login").get_data(as_text=True)

    client.post("/language", data={"lang": "zh_CN"})
    assert "登录" in client.get("/login").get_data(as_text=True)
    client.post("/language", data={"lang": "fr"})  # not offered: nothing changes
    assert "登录" in client.get("/login").get_data(as_text=True)
