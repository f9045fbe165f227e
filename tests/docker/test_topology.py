"""The production topology of docker/compose.yaml without Docker: PostgreSQL (the server
``make test`` starts), the migrations through ``irpm db upgrade``, the web app under gunicorn
with docker/gunicorn.conf.py and two workers, and one ``irpm scheduler`` — real processes on
127.0.0.1. /healthz answers; a short timer started through the REST API, in a web worker,
fires in the scheduler process; the web workers run no scheduler. Every process is stopped
at the end, in bounded time."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

import pytest

from engine.passwords import hash_password
from engine.programme.services import organisation
from engine.runtime import Runtime
from engine.services import api_tokens
from tests.conftest import PG_URL
from tests.scheduler.conftest import ON_TIME, deploy_short, firings, lateness, wait_until
from tests.scheduler.processes import Processes, free_port

pytestmark = [pytest.mark.postgres,
              pytest.mark.skipif(not PG_URL, reason="needs IRPM_TEST_DATABASE_URL (PostgreSQL)")]


def call(url: str, body: dict[str, Any] | None = None, token: str | None = None,
         timeout: float = 10) -> tuple[int, Any]:
    request = urllib.request.Request(
        url, data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Accept": "application/json",
                 **({"Authorization": f"Bearer {token}"} if token else {})},
        method="GET" if body is None else "POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def healthy(base: str) -> dict[str, Any] | None:
    try:
        status, body = call(f"{base}/healthz", timeout=2)
    except OSError:
        return None
    return body if status == 200 else None


def test_postgres_gunicorn_and_a_scheduler_process(rt: Runtime, processes: Processes) -> None:
    migrated = processes.irpm("migrate", "db", "upgrade")
    assert migrated.popen.wait(120) == 0, migrated.output()
    assert "head" in migrated.output()
    deploy_short(rt)
    with rt.uow() as uow:
        organisation.save_account(uow, "ops", password_hash=hash_password("topology-test"),
                              roles={"admin"})
        uow.commit()
    with rt.uow() as uow:
        token = api_tokens.create_token(uow, "ops", "topology").secret

    port = free_port()
    web = processes.spawn(
        "gunicorn", [*processes.python, "-m", "gunicorn", "--config", "docker/gunicorn.conf.py",
                     "web.wsgi:app"],
        IRPM_BIND=f"127.0.0.1:{port}", IRPM_WEB_WORKERS="2", IRPM_SCHEDULER="off",
        IRPM_SECRET_KEY="topology-test-" + "k" * 40)
    scheduler = processes.irpm("scheduler", "scheduler")
    base = f"http://127.0.0.1:{port}"

    health = wait_until(lambda: healthy(base), 60, "/healthz answered 200", interval=0.2)
    assert health["status"] == "ok" and health["database"] == "ok"
    web.wait_for("Booting worker", 30)
    scheduler.wait_for(" leads (PostgreSQL advisory lock", 30)
    wait_until(lambda: web.output().count("Booting worker with pid") >= 2, 30, "two workers")

    status, started = call(f"{base}/api/v1/instances",
                           {"process_id": "short_wait", "data": {"wait": "PT1S"}}, token)
    assert status == 201, started
    iid = started["id"]
    [fired] = wait_until(lambda: firings(rt, iid), 10, "the timer fired")
    assert 0 <= lateness(fired) < ON_TIME, lateness(fired)
    scheduler.wait_for("fired 1 timer(s)", 5)
    status, events = call(f"{base}/api/v1/instances/{iid}/events", token=token)
    assert status == 200
    assert "timer_fired" in [e["type"] for e in events]
    assert " leads " not in web.output()  # IRPM_SCHEDULER=off: the workers run none

    began = time.monotonic()
    assert scheduler.stop(20) == 0
    assert web.stop(30) == 0
    assert time.monotonic() - began < 45
