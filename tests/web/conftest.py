"""Web fixtures: the app on the test database, a client, ``AuthActions`` to sign in and out,
and ``org``, the small organisation of ``tests/inbox_org.py`` whose people receive tasks."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from jinja2 import BytecodeCache
from jinja2.bccache import Bucket
from werkzeug.test import TestResponse

from engine.mail import SmtpSettings
from engine.programme.directory import OrgDirectory
from engine.programme.notification_wording import WORDING
from engine.programme.routing import org_resolver
from engine.runtime import Runtime
from engine.services import notification_mail, notifications
from engine.settings import Settings
from tests.databases import Template, TestDatabases, world
from tests.inbox_org import PASSWORD, T0, Org, open_org, shared_password_hash
from web import create_app

__all__ = ["PASSWORD", "T0", "AuthActions", "Org", "csrf_token", "make_app", "notifying",
           "programme_runtime"]


def programme_runtime(settings: Settings) -> Runtime:
    """The programme's runtime when engine.programme exists, else the engine's with the org
    resolver (what programme_runtime builds)."""
    try:
        from engine.programme.composition import programme_runtime as build
    except ModuleNotFoundError as exc:
        if exc.name != "engine.programme":
            raise
        return Runtime(settings, resolver=org_resolver)
    runtime: Runtime = build(settings)
    return runtime


def notifying(org: Org, smtp: SmtpSettings) -> Org:
    """``org``'s runtime telling people of their tasks as the programme's does — a group's
    members are the organisation's (``OrgDirectory``), e-mails in the programme's words — and
    e-mailing through ``smtp``."""
    org.rt.directory = OrgDirectory()
    notifications.install(org.rt, smtp=smtp)
    notification_mail.set_wording(org.rt, WORDING)
    return org


# ----------------------------------------------------------------------------- the app


class SharedBytecode(BytecodeCache):
    """Compiled templates kept for the whole session. Each test makes its own app, and each
    app its own Jinja environment, which would parse and compile every template it renders
    again; with this cache a template is compiled once per session (again if its source
    changes: the cache checks the source's checksum). The key is the template's name and
    file, so it serves apps with one Jinja set-up — every ``make_app`` app has create_app's."""

    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        code = self._code.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: Bucket) -> None:
        self._code[bucket.key] = bucket.bytecode_to_string()


TEMPLATES = SharedBytecode()


def make_app(settings: Settings, **config: Any) -> Flask:
    app = create_app({"TESTING": True, "IRPM_SETTINGS": settings,
                      "SECRET_KEY": "test-secret-key-not-for-production",
                      "WTF_CSRF_ENABLED": False, **config})
    app.jinja_env.bytecode_cache = TEMPLATES
    return app


@pytest.fixture
def app(settings: Settings) -> Iterator[Flask]:
    app = make_app(settings)
    yield app
    app.extensions["irpm"].close()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


class AuthActions:
    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def login(self, username: str, password: str = PASSWORD) -> TestResponse:
        return self.client.post("/login", data={"username": username, "password": password})

    def logout(self) -> TestResponse:
        return self.client.post("/logout")


@pytest.fixture
def auth(client: FlaskClient) -> AuthActions:
    return AuthActions(client)


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


@pytest.fixture(scope="session")
def password_hash() -> str:
    """``PASSWORD``'s hash, the one every account of the organisation has: scrypt once."""
    return shared_password_hash()


@pytest.fixture
def org(settings: Settings, inbox_org_world: Template) -> Iterator[Org]:
    """The organisation of tests/inbox_org.py, on a copy of ``inbox_org_world``."""
    org = open_org(settings)
    yield org
    org.rt.close()


@world
def post_cycle_world(test_databases: TestDatabases, inbox_org_world: Template) -> Template:
    """The organisation with bpmn/ deployed and a post cycle started for the task page tests'
    holder (tests/web/test_task_page.py); ``seeded`` is the instance's id."""
    from .test_task_page import seed_post_cycle

    return test_databases.build("post_cycle", seed_post_cycle, inbox_org_world)
