"""Behind the documented proxy, for real: gunicorn with docker/gunicorn.conf.py and two
workers on loopback, ``IRPM_FORWARDED_ALLOW_IPS`` naming the proxy (127.0.0.2: requests from
that address play the proxy; 127.0.0.1 plays a stranger reaching gunicorn directly). Two
citizens behind the proxy get separate public feedback limits, however the workers share
the requests; a stranger's forged X-Forwarded-For is ignored; a 200 MB anonymous sign-in is
refused with 413 before its body is sent. Every process is stopped at the end, in bounded
time. Runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import http.client
import json
import socket
import time

from tests.scheduler.conftest import wait_until
from tests.scheduler.processes import Processes, free_port

PROXY, STRANGER = "127.0.0.2", "127.0.0.1"
CITIZEN, NEIGHBOUR = "203.0.113.7", "203.0.113.8"
#: The honeypot field makes the API answer 202 without storing anything: only the rate
#: limit decides the status.
SPAM = json.dumps({"post": "CZJ-BGS-01", "text": "意见", "website": "robot"}).encode()


def feedback(port: int, source: str, forwarded: str | None = None) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10,
                                            source_address=(source, 0))
    try:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if forwarded:
            headers["X-Forwarded-For"] = forwarded
        connection.request("POST", "/api/v1/feedback", body=SPAM, headers=headers)
        return connection.getresponse().status
    finally:
        connection.close()


def healthy(port: int) -> bool:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        connection.request("GET", "/healthz")
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


def huge_sign_in(port: int) -> tuple[bytes, float]:
    """Headers announcing 200 MB, then nothing: the status line, and how long it took."""
    began = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     b"Content-Type: application/x-www-form-urlencoded\r\n"
                     b"Content-Length: 209715200\r\n\r\n" + b"username=x&")
        answer = sock.recv(4096)
    return answer.split(b"\r\n", 1)[0], time.monotonic() - began


def test_forwarded_clients_behind_gunicorn(processes: Processes) -> None:
    port = free_port()
    web = processes.spawn(
        "gunicorn", [*processes.python, "-m", "gunicorn", "--config", "docker/gunicorn.conf.py",
                     "web.wsgi:app"],
        IRPM_BIND=f"127.0.0.1:{port}", IRPM_WEB_WORKERS="2", IRPM_WEB_THREADS="2",
        IRPM_SCHEDULER="off", IRPM_SECRET_KEY="forwarded-test-" + "k" * 40,
        IRPM_FORWARDED_ALLOW_IPS=PROXY, IRPM_FEEDBACK_LIMIT="2")
    wait_until(lambda: healthy(port), 60, "/healthz answered 200", interval=0.2)
    began = time.monotonic()

    assert [feedback(port, PROXY, CITIZEN) for _ in range(3)] == [202, 202, 429]
    assert [feedback(port, PROXY, NEIGHBOUR) for _ in range(3)] == [202, 202, 429]
    # A forged entry before the proxy's own is not believed: still the citizen's count.
    assert feedback(port, PROXY, f"192.0.2.1, {CITIZEN}") == 429
    # A stranger's forwarded headers are ignored: every request counts for 127.0.0.1.
    assert [feedback(port, STRANGER, f"192.0.2.{i}") for i in range(3)] == [202, 202, 429]

    status, seconds = huge_sign_in(port)
    assert status.startswith(b"HTTP/1.1 413"), status
    assert seconds < 5

    assert web.stop(30) == 0
    assert time.monotonic() - began < 60
