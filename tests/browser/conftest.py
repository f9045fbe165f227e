"""Browser tests: the real app on a live server (127.0.0.1, a free port, in a thread) driven
by Debian's headless chromium through Playwright's sync API.

No browser is downloaded: Playwright launches ``/usr/bin/chromium`` (``make test`` installs
it with apt if it is missing). Screenshots go to ``tests/artifacts/`` (not committed), one
per screen, named after the test. CSRF protection is on, as in production.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, Playwright, sync_playwright
from werkzeug.serving import BaseWSGIServer, make_server

from engine.settings import Settings
from web import create_app

#: A browser that navigates on while a static file is still being sent drops the connection;
#: werkzeug's development server then leaves that file to the garbage collector, which
#: reports it as an unraisable ResourceWarning at some later test's teardown. It is the
#: live test server's behaviour, not the app's, so browser tests let such reports through
#: (a warning filter cannot match on more of the message: its fields are ':'-separated).
_DROPPED_STATIC = pytest.mark.filterwarnings(
    "ignore:Exception ignored in:pytest.PytestUnraisableExceptionWarning")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(_DROPPED_STATIC)


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


class LiveServer:
    """The app served by werkzeug in a background thread until ``stop``."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.server: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, name="live-server",
                                       daemon=True)

    def start(self) -> LiveServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def live_app(settings: Settings) -> Iterator[Flask]:
    app = create_app({"IRPM_SETTINGS": settings, "SECRET_KEY": "browser-test-secret-key"})
    yield app
    app.extensions["irpm"].close()


@pytest.fixture
def live_server(live_app: Flask) -> Iterator[LiveServer]:
    server = LiveServer(live_app).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium "
                    "(apt-get install chromium)")
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
    yield browser
    browser.close()


@pytest.fixture
def page(browser: Browser, live_server: LiveServer) -> Iterator[Page]:
    """A fresh browser context (no cookies) whose relative URLs go to the live server."""
    context = browser.new_context(base_url=live_server.url, locale="zh-CN",
                                  viewport={"width": 1280, "height": 860})
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


class Screens:
    """``shots("inbox")`` writes tests/artifacts/<test>-<nn>-inbox.png."""

    def __init__(self, test_name: str) -> None:
        self.prefix = re.sub(r"[^A-Za-z0-9_.-]+", "_", test_name)
        self.count = 0
        self.paths: list[Path] = []

    def __call__(self, page: Page, name: str, *, full_page: bool = True) -> Path:
        self.count += 1
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{self.prefix}-{self.count:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        self.paths.append(path)
        return path


@pytest.fixture
def shots(request: pytest.FixtureRequest) -> Screens:
    return Screens(request.node.name)
