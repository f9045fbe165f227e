"""``irpm jobs list|run``: the queued background jobs, and running them from a shell."""

from __future__ import annotations

import json

import pytest

from engine.models import Job
from tests.conftest import FIXTURES
from web.cli.jobs import Bars

from .test_cli import Irpm, irpm  # noqa: F401  (the fixture)


def test_jobs_run_starts_what_a_step_queued(irpm: Irpm) -> None:  # noqa: F811
    irpm("deploy", FIXTURES / "jobs", "--by", "tests")
    items = [f"i{n}" for n in range(5)]
    started = irpm.json("start", "job_parent", "--key", "p-1", "--user", "admin",
                        "--data", json.dumps({"items": items}))
    [task] = irpm.json("tasks", "--user", "starter")
    irpm("complete", task["id"], "--user", "starter", "--data", "{}")
    [job] = irpm.json("jobs", "list")
    assert (job["status"], job["done"], job["total"], job["started_by"]) == (
        "queued", 0, 5, "starter")
    assert job["instance_id"] == started["instance"]["id"]
    assert irpm.json("jobs", "run") == {"ran": 1, "failed": []}
    [job] = irpm.json("jobs", "list")
    assert (job["status"], job["done"], job["total"]) == ("done", 5, 5)
    assert "5 instances started" in irpm("jobs", "list").stdout
    assert irpm("jobs", "run").stdout.strip() == "0 job(s) run"


def test_the_progress_bar_follows_each_job(capsys: pytest.CaptureFixture[str]) -> None:
    """What ``irpm jobs run`` draws: a bar per job, opened once and moved by its progress
    (click draws only the label when the stream is not a terminal, as here)."""
    bars = Bars(show=True)
    for done, status in ((0, "running"), (5, "running"), (12, "done")):
        bars(Job(id=7, kind="start_calls", done=done, total=12, status=status))
    err = capsys.readouterr().err
    assert err.count("job 7 (start_calls)") == 1
    Bars(show=False)(Job(id=8, kind="batch", done=1, total=2, status="running"))
    assert capsys.readouterr().err == ""
