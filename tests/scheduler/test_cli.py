"""``irpm scheduler status``, the embedded scheduler of ``irpm serve`` and of web.wsgi, and
``IRPM_SCHEDULER``."""

from __future__ import annotations

import json
import runpy
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import inspect

from engine.db import make_engine
from engine.migrate import upgrade
from engine.runtime import Runtime
from engine.settings import Settings
from scheduler import SchedulerService, SchedulerSettings, start_embedded
from tests.conftest import PG_URL
from web import cli

from .conftest import Schedulers, deploy_short, start, wait_until


def irpm(database_url: str, *args: str, code: int = 0) -> str:
    result = CliRunner(env={"IRPM_DATABASE_URL": database_url}).invoke(cli.main, list(args))
    assert result.exit_code == code, result.output
    return result.output


def test_status_without_a_scheduler(rt: Runtime, database_url: str) -> None:
    out = irpm(database_url, "scheduler", "status")
    assert "leader: none" in out and "no jobs stored" in out
    out = irpm(database_url, "scheduler", "status", "--require-leader", code=1)
    assert "error: no scheduler leads" in out
    payload = json.loads(irpm(database_url, "--json", "scheduler", "status"))
    assert payload["leader"] is None and payload["jobs"] == [] and payload["next_due"] is None


def test_status_names_the_leader_and_the_timer_job(rt: Runtime, database_url: str,
                                                   schedulers: Schedulers) -> None:
    deploy_short(rt)
    service = schedulers.start(rt)
    start(rt, "short_wait", wait="PT1H")
    wait_until(lambda: json.loads(irpm(database_url, "--json", "scheduler", "status"))["jobs"],
               5, "the timer job stored")
    payload = json.loads(irpm(database_url, "--json", "scheduler", "status",
                              "--require-leader"))
    assert payload["leader"] == service.identity
    [job] = payload["jobs"]
    assert job["id"] == "bpmn-timers" and job["next_run_time"] == payload["next_due"]
    assert "bpmn-timers" in irpm(database_url, "scheduler", "status")


def test_irpm_serve_runs_the_embedded_scheduler_unless_off(
        database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[Any] = []

    def run(app: Flask, **_options: Any) -> None:
        started.append(("run", app.extensions["irpm"]))
        app.extensions["irpm"].close()

    def embedded(rt: Runtime) -> SchedulerService | None:
        service = start_embedded(rt)
        started.append(("scheduler", service))
        if service is not None:
            assert service.wait_leading(10)
            service.stop(10)
        return service

    monkeypatch.setattr(Flask, "run", run)
    monkeypatch.setattr(cli.serve, "start_embedded", embedded)
    monkeypatch.setenv("IRPM_SCHEDULER", "embedded")
    irpm(database_url, "serve", "--port", "5099")
    assert [what for what, _ in started] == ["scheduler", "run"]
    assert isinstance(started[0][1], SchedulerService)
    assert started[0][1].rt is started[1][1]  # the app's own runtime
    started.clear()
    monkeypatch.setenv("IRPM_SCHEDULER", "off")
    irpm(database_url, "serve", "--port", "5099")
    assert started[0] == ("scheduler", None)


def test_start_embedded_follows_the_setting(rt: Runtime) -> None:
    assert start_embedded(rt, SchedulerSettings(mode="off")) is None
    service = start_embedded(rt, SchedulerSettings(mode="embedded", cards_every_seconds=0,
                                                   mail_every_seconds=0))
    try:
        assert isinstance(service, SchedulerService) and service.wait_leading(10)
    finally:
        assert service is not None
        service.stop(10)
    with pytest.raises(ValueError, match="IRPM_SCHEDULER"):
        SchedulerSettings.from_env({"IRPM_SCHEDULER": "sometimes"})
    with pytest.raises(ValueError, match="IRPM_SCHEDULER_SWEEP"):
        SchedulerSettings.from_env({"IRPM_SCHEDULER_SWEEP": "often"})
    assert SchedulerSettings.from_env({"IRPM_SCHEDULER": " OFF "}).mode == "off"
    assert SchedulerSettings.from_env({}) == SchedulerSettings()


def test_the_wsgi_entry_builds_the_app_and_honours_the_setting(
        database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IRPM_DATABASE_URL", database_url)
    monkeypatch.setenv("IRPM_SECRET_KEY", "wsgi-test-" + "s" * 40)
    monkeypatch.setenv("IRPM_SCHEDULER", "off")
    found = runpy.run_module("web.wsgi")
    assert isinstance(found["app"], Flask) and found["scheduler"] is None
    assert found["app"].test_client().get("/healthz").status_code == 200
    found["app"].extensions["irpm"].close()


@pytest.mark.skipif(bool(PG_URL), reason="a database of its own, at an older revision")
def test_no_scheduler_runs_on_a_database_that_is_not_migrated(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = make_engine(url)
    upgrade(engine, "0009")
    out = irpm(url, "scheduler", code=1)
    assert "error: the database is at revision 0009" in out and "irpm db upgrade" in out

    rt = Runtime(Settings(database_url=url))
    service = SchedulerService(rt, SchedulerSettings(cards_every_seconds=0,
                                                     mail_every_seconds=0)).start()
    try:
        assert not service.wait_leading(1.5)
        assert "no apscheduler_jobs table: run `irpm db upgrade`" in caplog.text
        with engine.connect() as conn:  # the job store created nothing itself
            assert not inspect(conn).has_table("apscheduler_jobs")
        upgrade(engine)
        assert service.wait_leading(10)
    finally:
        service.stop(10)
        rt.close()
        engine.dispose()
