"""The public feedback's rate limit is kept in the database (engine.services.hit_rate_limit,
web.ratelimit): every process serving the app — here, two Flask apps on one database, as
two gunicorn workers or two hosts would be — counts against the same allowance per address,
through the publicity page and the REST API alike; a refused (429) request writes no
feedback; concurrent requests cannot slip past the limit; expired counters are pruned."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from engine.models import RateLimit
from engine.parsing import read_sources
from engine.programme.models import Feedback
from engine.programme.services import feedback
from engine.runtime import Runtime
from engine.services import deployment, instances, rate_limits
from engine.settings import Settings

from .conftest import Org, make_app

PROCESS = Path(__file__).parent / "fixtures" / "api_feedback.bpmn"
POSTS = {"CZJ-BGS-01": "CZJ-BGS", "CZJ-BGS-02": "CZJ-BGS", "CZJ-BGS-03": "CZJ-BGS",
         "CZJ-YSK-01": "CZJ-YSK"}
ADDRESS, OTHER = "203.0.113.7", "198.51.100.9"
T = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


class Clock:
    """UNIX seconds, moved by the test."""

    def __init__(self) -> None:
        self.now = T.timestamp()

    def __call__(self) -> float:
        return self.now


def two_apps(settings: Settings, clock: Clock, **config: object) -> tuple[Flask, Flask]:
    """Two apps on one database, each with its own runtime (engine, pool): two workers."""
    apps = []
    for _ in range(2):
        app = make_app(settings, IRPM_FEEDBACK_PROCESS="api_feedback", IRPM_FEEDBACK_LIMIT=3,
                       IRPM_FEEDBACK_WINDOW=600, **config)
        app.extensions["irpm_feedback_limiter"].clock = clock
        apps.append(app)
    assert apps[0].extensions["irpm"] is not apps[1].extensions["irpm"]
    return apps[0], apps[1]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def apps(settings: Settings, clock: Clock) -> Iterator[tuple[Flask, Flask]]:
    first, second = two_apps(settings, clock)
    yield first, second
    first.extensions["irpm"].close()
    second.extensions["irpm"].close()


@pytest.fixture
def waiting(org: Org) -> dict[str, int]:
    """A cycle waiting for a public suggestion on each of four posts."""
    with org.rt.uow() as uow:
        deployment.deploy(uow, read_sources([PROCESS]), deployed_by="tests")
    found = {}
    for post, department in POSTS.items():
        with org.rt.uow() as uow:
            found[post] = instances.start_instance(uow, "api_feedback", post, {
                "post_code": post, "department_code": department, "unit_code": "CZJ"}).id
    return found


def api(client: FlaskClient, post: str, address: str = ADDRESS, text: str = "意见") -> int:
    return client.post("/api/v1/feedback", json={"post": post, "text": text},
                       environ_base={"REMOTE_ADDR": address}).status_code


def page(client: FlaskClient, address: str = ADDRESS) -> int:
    """A feedback POST on the publicity page (of a unit that publishes nothing: 404 — but
    every POST counts, whatever it holds)."""
    return client.post("/publicity/CZJ/2011/CZJ-BGS-02", data={"text": "意见"},
                       environ_base={"REMOTE_ADDR": address}).status_code


def feedback_count(org: Org) -> int:
    with org.rt.uow(write=False) as uow:
        return int(uow.session.scalar(select(func.count()).select_from(Feedback)) or 0)


def counters(org: Org) -> list[RateLimit]:
    with org.rt.uow(write=False) as uow:
        return list(uow.session.scalars(select(RateLimit).order_by(RateLimit.id)))


def test_two_app_instances_share_one_allowance_per_address(
        apps: tuple[Flask, Flask], org: Org, clock: Clock) -> None:
    first, second = (app.test_client() for app in apps)
    assert [api(first, "XX-01"), page(second), api(first, "XX-01")] == [404, 404, 404]
    response = second.post("/api/v1/feedback", json={"post": "XX-01", "text": "意见"},
                           environ_base={"REMOTE_ADDR": ADDRESS})
    assert response.status_code == 429 and response.headers["Retry-After"] == "600"
    assert response.get_json()["code"] == "rate_limited"
    refused = first.post("/publicity/CZJ/2011/CZJ-BGS-02", data={"text": "意见"},
                         environ_base={"REMOTE_ADDR": ADDRESS})
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "600"
    assert api(second, "XX-01", OTHER) == 404  # another address: its own allowance

    # One row per address, keyed by a hash of it: no address is stored.
    rows = counters(org)
    assert len(rows) == 2 and not any(ADDRESS in r.key or OTHER in r.key for r in rows)
    secret = apps[0].secret_key or ""
    assert {r.key for r in rows} == {feedback.hash_address(a, secret) for a in (ADDRESS, OTHER)}
    assert len(json.loads(rows[0].hits)) == 3  # the refused requests were not counted

    clock.now += 599
    assert api(second, "XX-01") == 429
    clock.now += 2  # the first requests have left the window, for both apps
    assert [api(second, "XX-01"), page(first), api(second, "XX-01")] == [404, 404, 404]
    assert api(first, "XX-01") == 429


def test_a_refused_request_writes_no_feedback(apps: tuple[Flask, Flask], org: Org,
                                              waiting: dict[str, int]) -> None:
    first, second = (app.test_client() for app in apps)
    posts = list(POSTS)
    assert [api(first, posts[0]), api(second, posts[1]), api(first, posts[2])] == [202] * 3
    assert feedback_count(org) == 3
    assert api(second, posts[3], text="第四条") == 429
    assert feedback_count(org) == 3
    events = [e.type for e in org.events(waiting[posts[3]])]
    assert "message_received" not in events  # the fourth cycle still waits


def test_concurrent_requests_of_two_apps_cannot_pass_the_limit(
        settings: Settings, org: Org) -> None:
    """Twelve requests of one address at the same instant, through two runtimes (two
    database pools, as two processes have): exactly five get through."""
    runtimes = [Runtime(settings), Runtime(settings)]
    answers: list[float | None] = []
    errors: list[BaseException] = []
    start = threading.Barrier(12)

    def hit(rt: Runtime) -> None:
        try:
            start.wait()
            with rt.uow() as uow:
                answers.append(rate_limits.hit_rate_limit(uow, "feedback", "k" * 64, limit=5,
                                                       window=60, now=T))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=hit, args=(runtimes[i % 2],)) for i in range(12)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        for rt in runtimes:
            rt.close()
    assert errors == []
    assert sorted(answers, key=lambda a: a is not None) == [None] * 5 + [60.0] * 7
    [row] = counters(org)
    assert len(json.loads(row.hits)) == 5


def test_the_window_slides_and_says_how_long_to_wait(org: Org) -> None:
    def hit(seconds: float, key: str = "a" * 64) -> float | None:
        with org.rt.uow() as uow:
            return rate_limits.hit_rate_limit(uow, "feedback", key, limit=2, window=10,
                                           now=T + timedelta(seconds=seconds))

    assert [hit(0), hit(5)] == [None, None]
    assert hit(6) == pytest.approx(4.0)  # the hit at 0 leaves at 10
    assert hit(10.5) is None
    assert hit(11) == pytest.approx(4.0)  # now the hit at 5 must leave first
    assert hit(11, "b" * 64) is None  # another key


def test_expired_counters_are_pruned(org: Org) -> None:
    with org.rt.uow() as uow:
        for key in ("a", "b"):
            rate_limits.hit_rate_limit(uow, "feedback", key * 64, limit=5, window=60, now=T)
    assert len(counters(org)) == 2
    with org.rt.uow() as uow:  # a minute later: both expired; the new hit prunes them
        rate_limits.hit_rate_limit(uow, "feedback", "c" * 64, limit=5, window=60,
                                now=T + timedelta(seconds=60))
    assert [r.key for r in counters(org)] == ["c" * 64]
    with org.rt.uow() as uow:
        assert rate_limits.prune_rate_limits(uow, T + timedelta(hours=1)) == 1
        uow.commit()
    assert counters(org) == []
