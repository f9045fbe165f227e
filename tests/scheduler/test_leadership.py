"""Leadership: two schedulers on one database never both fire; when the leader dies (kill -9)
the standby takes over and fires what falls due. Real ``irpm scheduler`` processes, on
PostgreSQL (advisory lock) and on SQLite (lock file); in-process schedulers too."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from engine.runtime import Runtime
from scheduler.leader import LOCK_KEY, FileLeadership, file_lock_holder, leadership_for
from scheduler.status import lock_holder, read_status
from tests.conftest import PG_URL

from .conftest import ON_TIME, Schedulers, deploy_short, firings, lateness, start, wait_until
from .processes import Processes


@pytest.fixture
def srt(rt: Runtime) -> Runtime:
    deploy_short(rt)
    return rt


def holder(rt: Runtime) -> str | None:
    return lock_holder(rt.settings.database_url)[0]


def test_two_scheduler_processes_one_fires_the_other_takes_over_when_it_is_killed(
        srt: Runtime, processes: Processes) -> None:
    first = processes.irpm("scheduler-a", "scheduler")
    first.wait_for("leads", 30)
    assert holder(srt) is not None and holder(srt).endswith(f":{first.pid}")  # type: ignore[union-attr]
    second = processes.irpm("scheduler-b", "scheduler")
    second.wait_for("stands by", 30)

    iid = start(srt, "short_wait", wait="PT1S")
    [fired] = wait_until(lambda: firings(srt, iid), 6, "the leader fired the timer")
    assert 0 <= lateness(fired) < ON_TIME, lateness(fired)
    first.wait_for("fired 1 timer(s)", 5)
    assert "fired" not in second.output()

    pending = start(srt, "short_wait", wait="PT3S")  # due after the leader is gone
    time.sleep(0.5)
    first.kill()
    second.wait_for("leads", 10)
    assert holder(srt).endswith(f":{second.pid}")  # type: ignore[union-attr]
    [taken_over] = wait_until(lambda: firings(srt, pending), 8, "the new leader fired it")
    assert lateness(taken_over) < ON_TIME + 0.5, lateness(taken_over)
    after = start(srt, "short_wait", wait="PT1S")
    [fired_after] = wait_until(lambda: firings(srt, after), 6, "fired after the takeover")
    assert 0 <= lateness(fired_after) < ON_TIME, lateness(fired_after)
    second.wait_for("fired 1 timer(s)", 5)
    time.sleep(1)
    for instance_id in (iid, pending, after):  # each timer fired exactly once
        assert len(firings(srt, instance_id)) == 1

    assert second.stop(20) == 0  # SIGTERM: a clean stop
    assert "stopped" in second.output()
    assert holder(srt) is None


def test_in_process_schedulers_lead_one_at_a_time(srt: Runtime, rt: Runtime,
                                                  schedulers: Schedulers) -> None:
    other = Runtime(rt.settings)
    try:
        leader = schedulers.start(srt)
        standby = schedulers.start(other, lead=False)
        time.sleep(1)
        assert leader.leading and not standby.leading
        iid = start(srt, "short_wait", wait="PT1S")
        wait_until(lambda: firings(srt, iid), 5, "fired")
        leader.stop(10)
        assert standby.wait_leading(5)
        later = start(other, "short_wait", wait="PT1S")
        [fired] = wait_until(lambda: firings(srt, later), 5, "fired by the new leader")
        assert 0 <= lateness(fired) < ON_TIME
        assert len(firings(srt, iid)) == 1
    finally:
        for service in schedulers.started:
            service.stop(10)
        other.close()


def test_status_names_the_leader_and_the_jobs(srt: Runtime, schedulers: Schedulers) -> None:
    assert read_status(srt).leader is None
    schedulers.start(srt)
    start(srt, "short_wait", wait="PT1H")
    found = wait_until(lambda: (s := read_status(srt)).jobs and s, 5, "the timer job stored")
    assert found.leader is not None and found.leader.split(":")[-1].isdigit()
    assert [j.id for j in found.jobs] == ["bpmn-timers"]
    assert found.jobs[0].next_run_time == found.next_due


@pytest.mark.skipif(bool(PG_URL), reason="the SQLite lock file")
def test_the_sqlite_lock_file_is_exclusive_and_names_its_holder(tmp_path: Path) -> None:
    import threading
    database = tmp_path / "irpm.db"
    stop = threading.Event()
    one, two = FileLeadership(database, stop), FileLeadership(database, stop)
    database.touch()
    assert file_lock_holder(database) is None
    assert one.acquire() and not two.acquire()
    assert file_lock_holder(database) is not None
    one.release()
    assert file_lock_holder(database) is None
    assert two.acquire()
    two.release()


def test_leadership_follows_the_database_url(tmp_path: Path) -> None:
    import threading
    stop = threading.Event()
    assert type(leadership_for(f"sqlite:///{tmp_path}/x.db", stop)).__name__ == "FileLeadership"
    assert type(leadership_for("sqlite://", stop)).__name__ == "LocalLeadership"
    assert type(leadership_for("postgresql+psycopg://u@h/db", stop)).__name__ == "PgLeadership"
    assert LOCK_KEY.bit_length() <= 63  # a PostgreSQL bigint
    assert make_url("postgresql+psycopg://u@h/db").get_backend_name() == "postgresql"
