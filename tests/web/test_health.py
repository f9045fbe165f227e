"""GET /healthz (web/health.py) and the app factory it is registered by (web/__init__.py)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine.runtime import Runtime
from engine.services import clock, deployment, instances
from engine.settings import Settings
from tests.conftest import POST_HOLDER
from web import create_app
from web.health import head_revision

POST_DATA = dict.fromkeys(
    ("principal_post", "approval_power", "enforcement_power", "key_resources", "livelihood",
     "general_economic", "social_affairs", "public_service"), False)


@contextmanager
def running_app(settings: Settings, **config: Any) -> Iterator[Flask]:
    app = create_app({"TESTING": True, "IRPM_SETTINGS": settings, **config})
    try:
        yield app
    finally:
        app.extensions["irpm"].close()


@pytest.fixture
def app(settings: Settings) -> Iterator[Flask]:
    with running_app(settings) as app:
        yield app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def healthz(settings: Settings, **config: Any) -> tuple[int, dict[str, Any]]:
    with running_app(settings, **config) as app:
        response = app.test_client().get("/healthz")
    return response.status_code, response.get_json()


def test_healthz_on_an_empty_migrated_database(client: FlaskClient, rt: Runtime) -> None:
    response = client.get("/healthz")

    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok" and body["database"] == "ok"
    assert body["schema"] == head_revision(rt.db)
    assert body["definitions"] == 0 and body["instances"] == {}
    assert body["clock"]["simulated"] is False
    now = datetime.fromisoformat(body["clock"]["now"])
    assert abs((now - datetime.now(UTC)).total_seconds()) < 60


def test_healthz_counts_definitions_instances_and_reads_the_clock(
        client: FlaskClient, deployed: Runtime) -> None:
    with deployed.uow() as uow:
        clock.set_clock(uow, datetime(2011, 1, 4, 1, tzinfo=UTC))
        uow.commit()
    for key in ("a", "b"):
        with deployed.uow() as uow:
            instances.start_instance(uow, "post_cycle", key, POST_DATA, actor=POST_HOLDER)
    with deployed.uow() as uow:
        instances.suspend_instance(uow, 1, POST_HOLDER)

    with deployed.uow(write=False) as uow:
        deployed_count = len(deployment.list_definitions(uow))

    body = client.get("/healthz").get_json()

    assert body["definitions"] == deployed_count >= 1
    assert body["instances"] == {"waiting": 1, "suspended": 1}
    assert body["clock"] == {"simulated": True, "now": "2011-01-04T01:00:00+00:00"}


def test_healthz_is_503_on_an_unmigrated_database(tmp_path: Path) -> None:
    status, body = healthz(Settings(database_url=f"sqlite:///{tmp_path / 'empty.db'}"))

    assert status == 503
    assert body["status"] == "error" and body["database"] == "ok" and body["schema"] is None
    assert "not migrated" in body["reason"] and "irpm db upgrade" in body["reason"]


def test_healthz_is_503_when_the_schema_is_behind_the_code(settings: Settings) -> None:
    status, body = healthz(settings, IRPM_SCHEMA_HEAD="9999_future")

    assert status == 503 and body["status"] == "error"
    assert "needs 9999_future" in body["reason"]


def test_healthz_is_503_when_the_database_is_unreachable() -> None:
    with socket.socket() as sock:  # a loopback port nobody listens on once closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"postgresql+psycopg://irpm:secret@127.0.0.1:{port}/irpm"

    status, body = healthz(Settings(database_url=url))

    assert status == 503 and body["status"] == "error" and body["database"] == "error"
    assert body["reason"].startswith("database unreachable:")
    assert "secret" not in body["reason"]


def test_the_app_keeps_one_runtime_from_its_settings(app: Flask, settings: Settings) -> None:
    runtime = app.extensions["irpm"]
    assert isinstance(runtime, Runtime) and runtime.settings is settings
    client = app.test_client()
    assert client.get("/healthz").status_code == client.get("/healthz").status_code == 200
    assert app.extensions["irpm"] is runtime


def test_the_app_reads_its_settings_from_the_environment(
        database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IRPM_DATABASE_URL", database_url)
    monkeypatch.setenv("IRPM_SECRET_KEY", "from-the-environment-" + "k" * 32)
    app = create_app()
    try:
        assert app.extensions["irpm"].settings.database_url == database_url
        assert app.secret_key == "from-the-environment-" + "k" * 32
        assert app.test_client().get("/healthz").status_code == 200
    finally:
        app.extensions["irpm"].close()
