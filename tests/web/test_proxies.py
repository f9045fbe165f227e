"""The client's address behind a reverse proxy (web/proxies.py, issue 13): a trusted proxy's
X-Forwarded-For names the client — so two citizens behind the proxy get separate public
feedback limits — while anyone else's forwarded headers are ignored. (The same behind a
real gunicorn: tests/docker/test_forwarded.py.)"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask, request
from flask.testing import FlaskClient

from engine.settings import Settings
from web.access import public
from web.proxies import MAX_HOPS, Trust, parse_trust

from .conftest import make_app

PROXY, INNER, STRANGER = "10.0.0.5", "10.0.0.9", "198.51.100.1"
CITIZEN, NEIGHBOUR = "203.0.113.7", "203.0.113.8"
SPAM = {"post": "CZJ-BGS-01", "text": "意见", "website": "a robot fills this"}


@public
def _who() -> dict[str, str]:
    return {"address": request.remote_addr or "", "scheme": request.scheme}


def built(settings: Settings, trusted: str, **config: object) -> Flask:
    app = make_app(settings, IRPM_FORWARDED_ALLOW_IPS=trusted, **config)
    app.add_url_rule("/_who", "who", _who)
    return app


@pytest.fixture
def app(settings: Settings) -> Iterator[Flask]:
    app = built(settings, f"{PROXY}, {INNER}", IRPM_FEEDBACK_LIMIT=2)
    yield app
    app.extensions["irpm"].close()


def who(client: FlaskClient, peer: str, forwarded: str | None = None,
        proto: str | None = None) -> dict[str, str]:
    headers = {k: v for k, v in (("X-Forwarded-For", forwarded),
                                 ("X-Forwarded-Proto", proto)) if v is not None}
    found: dict[str, str] = client.get("/_who", headers=headers,
                                       environ_base={"REMOTE_ADDR": peer}).get_json()
    return found


def feedback(client: FlaskClient, peer: str, forwarded: str | None = None) -> int:
    """The public feedback API, as a robot (the honeypot: 202 without storing anything),
    so only the rate limit decides the status."""
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    return client.post("/api/v1/feedback", json=SPAM, headers=headers,
                       environ_base={"REMOTE_ADDR": peer}).status_code


def test_a_trusted_proxy_names_the_client(client: FlaskClient) -> None:
    assert who(client, PROXY, CITIZEN, "https") == {"address": CITIZEN, "scheme": "https"}
    assert who(client, PROXY) == {"address": PROXY, "scheme": "http"}


def test_anyone_elses_forwarded_headers_are_ignored(client: FlaskClient) -> None:
    assert who(client, STRANGER, CITIZEN, "https") == {"address": STRANGER, "scheme": "http"}


def test_a_forged_entry_before_the_proxys_own_is_ignored(client: FlaskClient) -> None:
    """The client wrote "X-Forwarded-For: 192.0.2.1"; the proxy appended the real peer."""
    assert who(client, PROXY, f"192.0.2.1, {CITIZEN}")["address"] == CITIZEN


def test_a_chain_of_trusted_proxies_is_walked(client: FlaskClient) -> None:
    assert who(client, PROXY, f"192.0.2.1, {CITIZEN}, {INNER}")["address"] == CITIZEN
    assert who(client, PROXY, f"{INNER}, {PROXY}")["address"] == INNER  # all trusted: leftmost


def test_two_citizens_behind_the_proxy_get_separate_feedback_limits(
        client: FlaskClient) -> None:
    assert [feedback(client, PROXY, CITIZEN) for _ in range(3)] == [202, 202, 429]
    assert [feedback(client, PROXY, NEIGHBOUR) for _ in range(3)] == [202, 202, 429]


def test_a_stranger_cannot_dodge_the_limit_with_forged_headers(client: FlaskClient) -> None:
    statuses = [feedback(client, STRANGER, f"192.0.2.{i}") for i in range(3)]
    assert statuses == [202, 202, 429]


@pytest.mark.parametrize(("setting", "peer", "forwarded", "client_address"), [
    ("2", STRANGER, f"192.0.2.1, {CITIZEN}, {INNER}", CITIZEN),  # two hops, whoever the peer
    ("*", STRANGER, f"192.0.2.1, {CITIZEN}", CITIZEN),
    ("none", PROXY, CITIZEN, PROXY),
    ("0", PROXY, CITIZEN, PROXY),
    ("10.0.0.0/8", PROXY, f"{CITIZEN}, {INNER}", CITIZEN),
    ("127.0.0.1", "127.0.0.1", CITIZEN, CITIZEN),  # the default: a proxy on the same host
    ("127.0.0.1", PROXY, CITIZEN, PROXY),
])
def test_the_setting(settings: Settings, setting: str, peer: str, forwarded: str,
                     client_address: str) -> None:
    app = built(settings, setting)
    try:
        assert who(app.test_client(), peer, forwarded)["address"] == client_address
    finally:
        app.extensions["irpm"].close()


def test_parsing_the_setting() -> None:
    assert parse_trust("") == parse_trust("none") == parse_trust("0") == Trust()
    assert parse_trust("*") == parse_trust("1") == Trust(hops=1)
    assert parse_trust(" 10.0.0.5 , ::1 ").trusts("::1")
    assert parse_trust("172.16.0.0/12").trusts("172.18.0.1")
    assert not parse_trust("172.16.0.0/12").trusts("not an address")
    with pytest.raises(ValueError, match=r"'proxy\.example' is not an address"):
        parse_trust("10.0.0.5, proxy.example")
    with pytest.raises(ValueError, match=f"at most {MAX_HOPS}"):
        parse_trust(str(MAX_HOPS + 1))


def test_a_bad_setting_stops_the_app(settings: Settings) -> None:
    with pytest.raises(ValueError, match="IRPM_FORWARDED_ALLOW_IPS"):
        make_app(settings, IRPM_FORWARDED_ALLOW_IPS="proxy.example")
