"""The ``irpm`` command line (web/cli/), run through click's CliRunner against the test
database: tables for people, JSON for scripts, one ``error:`` line and status 1 on failure."""

from __future__ import annotations

import json
import sqlite3
import uuid
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from flask import Flask
from sqlalchemy import create_engine, update

from engine.models import ProcessInstance
from engine.runtime import Runtime
from engine.settings import Settings
from tests.conftest import BPMN_DIR, FIXTURES
from tests.databases import Template, TestDatabases, world
from tests.engine.programme.programme_org import City, post_data
from web.cli import main
from web.cli.state import shell_operator

#: The post cycle of 统计岗 (fgw-tzc-tj, level 2) in the small city of programme_org, whose
#: organisation is imported into the CLI's database: its lanes route to scoped groups.
POST_DATA = post_data("fgw-tzc-tj")
HOLDER = ("--user", "chenjing", "--group", "post:fgw-tzc-tj")
PEER = ("--user", "zhaolei", "--group", "dept:fgw-tzc")
HEAD = ("--user", "liming", "--group", "department_head:fgw-tzc")
OFFICER = ("--user", "liufang", "--group", "discipline_officer:fgw")
RISKS = {"risks": [{"category": "duty", "description": "统计数据报送缺少复核",
                    "likelihood": "low", "harm": "minor"}]}
NONE_FOUND = {"risks": []}
#: The reason every administrative command needs (moving the clock, steering an instance).
WHY = ("--reason", "预演")



class Irpm:
    """Runs ``irpm`` against one database and checks the exit status."""

    def __init__(self, database_url: str) -> None:
        self.runner = CliRunner(env={"IRPM_DATABASE_URL": database_url, "IRPM_USER": None})

    def __call__(self, *args: Any, code: int = 0) -> Result:
        result = self.runner.invoke(main, [str(a) for a in args], catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result

    def json(self, *args: Any) -> Any:
        return json.loads(self("--json", *args).stdout)

    def fails(self, *args: Any) -> str:
        """The one ``error:`` line of a failing command (exit 1, nothing on stdout)."""
        result = self(*args, code=1)
        assert result.stdout == ""
        lines = result.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
        return lines[0]

    def start_post(self, key: str = "2011-投资处-统计岗") -> dict[str, Any]:
        return self.json("start", "post_cycle", "--key", key, "--user", "chenjing",
                         "--data", json.dumps(POST_DATA))

    def open_task(self, *who: str) -> dict[str, Any]:
        [task] = self.json("tasks", *who)
        return task

    def through_review(self) -> int:
        """Start a post cycle, find its risks by the four methods and approve the level: the
        publicity timer waits."""
        instance_id = self.start_post()["instance"]["id"]
        for who, data in ((HOLDER, RISKS), (PEER, NONE_FOUND), (HEAD, NONE_FOUND),
                          (OFFICER, NONE_FOUND), (HEAD, {"approved": True})):
            self("complete", self.open_task(*who)["id"], *who, "--data", json.dumps(data))
        return int(instance_id)


@pytest.fixture
def irpm(database_url: str) -> Irpm:
    return Irpm(database_url)


def seed_deployed_cli(settings: Settings) -> None:
    rt = Runtime(settings)
    try:
        City(rt).import_org()
    finally:
        rt.close()
    Irpm(settings.database_url)("deploy", BPMN_DIR, "--by", "tests")


@world
def deployed_cli_world(test_databases: TestDatabases, migrated_template: Template) -> Template:
    """The small city's organisation and logins imported, then bpmn/ deployed by ``irpm
    deploy``: built once for this module's tests."""
    return test_databases.build("deployed_cli", seed_deployed_cli, migrated_template)


@pytest.fixture
def deployed_cli(irpm: Irpm, deployed_cli_world: Template) -> Irpm:
    """bpmn/ deployed, and the small city's organisation and logins imported (the post cycle
    writes the register and routes its tasks through them)."""
    return irpm


# --------------------------------------------------------------------------- db, deploy


def test_db_upgrade_migrates_a_new_database_and_current_reports_it(tmp_path: Path) -> None:
    irpm = Irpm(f"sqlite:///{tmp_path / 'new.db'}")
    assert "not migrated" in irpm("db", "current").stdout
    before = irpm.json("db", "current")
    assert before["revision"] is None and before["up_to_date"] is False

    upgraded = irpm.json("db", "upgrade")

    assert upgraded["revision"] == before["head"]
    assert irpm("db", "current").stdout.strip() == f"{before['head']} (head)"


def test_db_upgrade_is_a_no_op_on_a_migrated_database(irpm: Irpm) -> None:
    head = irpm.json("db", "current")["head"]
    assert irpm.json("db", "upgrade")["revision"] == head
    assert irpm.json("db", "current")["up_to_date"] is True


def test_db_upgrade_of_a_database_newer_than_the_code_is_one_error_line(tmp_path: Path) -> None:
    path = tmp_path / "newer.db"
    irpm = Irpm(f"sqlite:///{path}")
    irpm("db", "upgrade")
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999_future'")

    assert "9999_future" in irpm.fails("db", "upgrade")
    assert irpm.json("db", "current")["revision"] == "9999_future"


def test_deploy_twice_leaves_the_unchanged_process_at_its_version(irpm: Irpm) -> None:
    first = irpm("deploy", BPMN_DIR, "--by", "tests").stdout.splitlines()
    assert first[0].split() == ["PROCESS", "VERSION", "RESULT"]
    assert ["post_cycle", "1", "created"] in [line.split() for line in first[1:]]

    again = irpm.json("deploy", "--by", "tests")  # default: the bpmn/ directory

    assert again and all(row["result"] == "unchanged" and row["version"] == 1 for row in again)
    assert "post_cycle" in {row["process_id"] for row in again}


def test_deploy_of_an_invalid_file_is_one_error_line(irpm: Irpm, tmp_path: Path) -> None:
    bad = tmp_path / "bad.bpmn"
    bad.write_text("<bpmn:definitions", encoding="utf-8")
    assert "bad.bpmn" in irpm.fails("deploy", bad)
    assert irpm.json("definitions") == []


def test_deploy_of_a_table_whose_cases_fail_names_each_case(irpm: Irpm,
                                                           tmp_path: Path) -> None:
    """engine.decision_cases: 公共服务 graded 一级 breaks the table's own case."""
    for source in BPMN_DIR.iterdir():
        (tmp_path / source.name).write_bytes(source.read_bytes())
    table = tmp_path / "post_grading.dmn"
    table.write_text(table.read_text(encoding="utf-8").replace(
        '<outputEntry id="rule_8_out">\n          <text>2</text>',
        '<outputEntry id="rule_8_out">\n          <text>1</text>'), encoding="utf-8")
    error = irpm.fails("deploy", tmp_path)
    assert "decision 'post_grading' (岗位风险等级): 1 of 15 test case(s) failed" in error
    assert "case 'post_case_public_service'" in error
    assert "expected post_level=2, got post_level=1 (rule rule_8)" in error
    assert irpm.json("definitions") == []


def test_definitions_lists_versions_with_their_instances(deployed_cli: Irpm) -> None:
    deployed_cli.start_post()
    [row] = [r for r in deployed_cli.json("definitions") if r["process_id"] == "post_cycle"]
    assert row["process_id"] == "post_cycle" and row["version"] == 1
    assert row["name"] == "岗位廉政风险防控年度循环"
    assert row["deployed_by"] == "tests" and row["instances"] == 1
    text = deployed_cli("definitions").stdout
    assert "岗位廉政风险防控年度循环" in text and "tests" in text


# --------------------------------------------------------------------------- start, tasks


def test_start_with_data_shows_the_instance_and_its_open_task(deployed_cli: Irpm) -> None:
    text = deployed_cli("start", "post_cycle", "--key", "k1", "--data", json.dumps(POST_DATA),
                        "--user", "zhangsan").stdout
    assert "instance 1 (post_cycle, key k1) is waiting" in text
    assert "自己找" in text and "post:fgw-tzc-tj" in text

    started = deployed_cli.start_post("k2")

    assert started["instance"]["status"] == "waiting"
    assert started["instance"]["started_by"] == "chenjing"
    [task] = started["tasks"]
    assert task["element_id"] == "self_identified"
    assert task["candidate_groups"] == ["post:fgw-tzc-tj"]
    [event] = [e for e in deployed_cli.json("events", started["instance"]["id"])
               if e["type"] == "started"]
    assert event["data"]["data"] == POST_DATA


@pytest.mark.parametrize(("args", "expected"), [
    (("--data", "{bad"), "--data is not valid JSON"),
    (("--data", "[1, 2]"), "--data must be a JSON object"),
    (("--version", "7"), "no version 7 of process 'post_cycle'"),
])
def test_start_refuses_bad_input_with_one_line(deployed_cli: Irpm, args: tuple[str, ...],
                                               expected: str) -> None:
    assert expected in deployed_cli.fails("start", "post_cycle", "--key", "k", *args)
    assert deployed_cli.json("instances") == []


def test_start_reads_data_from_a_file(deployed_cli: Irpm, tmp_path: Path) -> None:
    path = tmp_path / "data.json"
    path.write_text(json.dumps(POST_DATA), encoding="utf-8")
    started = deployed_cli.json("start", "post_cycle", "--key", "k", "--data", f"@{path}")
    assert started["instance"]["status"] == "waiting"


def test_tasks_follow_the_user_and_groups(deployed_cli: Irpm) -> None:
    deployed_cli.start_post()
    [task] = deployed_cli.json("tasks", *HOLDER)
    assert task["name"] == "自己找" and task["assignee"] is None
    assert deployed_cli.json("tasks", "--user", "x", "--group", "staff,post:fgw-tzc-tj") == [
        task]
    assert deployed_cli.json("tasks", *HEAD) == []
    assert deployed_cli.json("tasks", *HOLDER, "--view", "mine") == []
    assert "no tasks" in deployed_cli("tasks", *HEAD).stdout
    table = deployed_cli("tasks", *HOLDER).stdout.splitlines()
    assert table[0].split()[:3] == ["TASK", "INSTANCE", "NAME"] and task["id"] in table[1]
    assert [t["id"] for t in deployed_cli.json("tasks", "--admin", "--view", "all")] == [
        task["id"]]


def test_tasks_needs_a_user_or_admin(deployed_cli: Irpm) -> None:
    result = deployed_cli("tasks", code=2)
    assert "--user" in result.stderr
    assert "only administrators" in deployed_cli.fails("tasks", "--user", "x", "--view", "all")


def test_claim_unclaim_and_complete(deployed_cli: Irpm) -> None:
    instance_id = deployed_cli.start_post()["instance"]["id"]
    task_id = deployed_cli.open_task(*HOLDER)["id"]

    assert "not a candidate" in deployed_cli.fails("claim", task_id, *HEAD)
    assert "claimed by chenjing" in deployed_cli("claim", task_id, *HOLDER).stdout
    assert "already claimed by chenjing" in deployed_cli.fails(
        "claim", task_id, "--user", "other", "--group", "post:fgw-tzc-tj")
    assert [t["id"] for t in deployed_cli.json("tasks", *HOLDER, "--view", "mine")] == [task_id]
    assert deployed_cli.json("unclaim", task_id, "--user", "chenjing")["assignee"] is None

    done = deployed_cli.json("complete", task_id, *HOLDER, "--data", json.dumps(RISKS))

    assert done["task"]["state"] == "completed" and done["task"]["completed_by"] == "chenjing"
    assert done["instance"]["id"] == instance_id
    assert [t["element_id"] for t in done["tasks"]] == ["peer_checked"]
    [completed] = [e for e in deployed_cli.json("events", instance_id)
                   if e["type"] == "task_completed"]
    assert completed["data"] == RISKS
    assert [t["id"] for t in deployed_cli.json("tasks", *HOLDER, "--view", "done")] == [task_id]


def test_complete_with_invalid_data_names_the_field_and_changes_nothing(
        deployed_cli: Irpm) -> None:
    instance_id = deployed_cli.start_post()["instance"]["id"]
    task = deployed_cli.open_task(*HOLDER)
    history = deployed_cli.json("events", instance_id)

    line = deployed_cli.fails("complete", task["id"], *HOLDER, "--data", '{"risks": []}')

    assert line.startswith("error: invalid form data in: risks") and "risks:" in line
    assert deployed_cli.json("tasks", *HOLDER) == [task]
    assert deployed_cli.json("events", instance_id) == history
    nested = deployed_cli.fails("complete", task["id"], *HOLDER, "--data",
                                '{"risks": [{"category": "bogus", "description": "x"}]}')
    assert "risks.0.category" in nested


def test_unknown_or_malformed_task_ids_are_one_error_line(deployed_cli: Irpm) -> None:
    missing = str(uuid.uuid4())
    assert deployed_cli.fails("complete", missing, *HOLDER) == (
        f"error: task {missing} does not exist")
    assert "not a task id" in deployed_cli.fails("claim", "nope", *HOLDER)


# --------------------------------------------------------------------------- lifecycle


def test_suspend_resume_terminate_and_events(deployed_cli: Irpm) -> None:
    instance_id = deployed_cli.start_post()["instance"]["id"]
    task_id = deployed_cli.open_task(*HOLDER)["id"]

    # No --user: the shell operator acts (tests/web/test_admin_audit_paths.py: named ones).
    suspended = deployed_cli.json("suspend", instance_id, "--reason", "核查")
    assert suspended["instance"]["status"] == "suspended"
    assert "suspended" in deployed_cli.fails("complete", task_id, *HOLDER, "--data",
                                             json.dumps(RISKS))
    assert "is waiting" in deployed_cli("resume", instance_id, *WHY).stdout
    terminated = deployed_cli.json("terminate", instance_id, "--reason", "岗位撤销")
    assert terminated["instance"]["status"] == "terminated" and terminated["tasks"] == []
    assert "cannot resume" in deployed_cli.fails("resume", instance_id, *WHY)

    history = deployed_cli.json("events", instance_id)
    assert [e["type"] for e in history if e["actor"] == shell_operator().user] == [
        "suspended", "resumed", "terminated"]
    assert [e["data"] for e in history if e["type"] in ("suspended", "terminated")] == [
        {"reason": "核查"}, {"reason": "岗位撤销"}]
    assert "task_cancelled" in deployed_cli("events", instance_id).stdout
    assert deployed_cli.json("instances", "--status", "terminated")[0]["id"] == instance_id
    assert "process instance 999 does not exist" in deployed_cli.fails("events", 999)


def test_retry_runs_the_failed_step_with_corrected_data(irpm: Irpm) -> None:
    irpm("deploy", FIXTURES / "needs_x.bpmn")  # a script that needs x, then a user task
    failed = irpm.json("start", "needs_x", "--key", "k")["instance"]
    assert failed["status"] == "error" and failed["error_element"] == "compute"
    assert irpm.json("instances", "--status", "error")[0]["id"] == failed["id"]

    retried = irpm.json("retry", failed["id"], "--data", '{"x": 1}', *WHY)

    assert retried["instance"]["status"] == "waiting"
    assert [t["element_id"] for t in retried["tasks"]] == ["check"]
    assert "cannot retry" in irpm.fails("retry", failed["id"], *WHY)


def test_instances_filters_and_limits(deployed_cli: Irpm) -> None:
    for key in ("a", "b", "c"):
        deployed_cli.start_post(key)
    assert [i["key"] for i in deployed_cli.json("instances")] == ["c", "b", "a"]
    assert [i["key"] for i in deployed_cli.json("instances", "--key", "b")] == ["b"]
    assert deployed_cli.json("instances", "--process", "other") == []
    text = deployed_cli("instances", "--limit", "2").stdout
    assert "showing 2 of 3" in text
    assert deployed_cli("instances", "--status", "bogus", code=2).stdout == ""


# --------------------------------------------------------------------------- clock, timers


def test_clock_set_and_advance_fire_the_publicity_timer(deployed_cli: Irpm) -> None:
    assert deployed_cli.json("clock", "show")["simulated"] is False
    set_to = deployed_cli.json("clock", "set", "2011-01-04T09:00", *WHY)  # China time
    assert set_to["simulated"] is True and set_to["now"] == "2011-01-04T09:00:00+08:00"
    instance_id = deployed_cli.through_review()
    timers = deployed_cli.json("timers", "list")
    assert timers["pending"] == 1 and timers["due"] == 0
    assert timers["next_due"] == "2011-01-11T09:00:00+08:00"
    assert timers["timers"][0]["element_id"] == "publicity_expired"

    assert deployed_cli.json("clock", "advance", "P6D", *WHY)["fired"] == 0
    advanced = deployed_cli.json("clock", "advance", "36h", *WHY)

    assert advanced["fired"] == 1 and advanced["now"] == "2011-01-11T21:00:00+08:00"
    [fired] = [e for e in deployed_cli.json("events", instance_id) if e["type"] == "timer_fired"]
    assert fired["element_id"] == "publicity_expired"
    assert fired["at"].startswith("2011-01-11T09:00:00")
    # Level 2: the head manages it directly (monitoring), the deputy answers for it.
    assert [t["element_id"] for t in deployed_cli.json("tasks", *HEAD)] == ["monitoring"]
    assert [t["element_id"] for t in deployed_cli.json(
        "tasks", "--user", "zhangwei", "--group", "deputy_in_charge:fgw-tzc")] == ["prevention"]
    assert "simulated clock: 2011-01-11T21:00:00+08:00" in deployed_cli("clock", "show").stdout


def test_clock_set_fires_what_fell_due_on_the_way(deployed_cli: Irpm) -> None:
    set_to = deployed_cli.json("clock", "set", "2011-01-04T09:00+08:00", *WHY)
    assert set_to["fired"] == 0
    instance_id = deployed_cli.through_review()
    assert "1 timer(s) fired" in deployed_cli("clock", "set", "2011-01-12", *WHY).stdout
    [fired] = [e for e in deployed_cli.json("events", instance_id) if e["type"] == "timer_fired"]
    assert fired["at"].startswith("2011-01-11T09:00:00")  # at its own due time, not at the 12th
    # Publicity over: the quarterly self-check cycle is the one timer left, not due yet.
    after = deployed_cli.json("timers", "list")
    assert (after["pending"], after["due"]) == (1, 0)
    assert after["timers"][0]["element_id"] == "quarterly_self_check"
    assert "0 timer(s) fired" in deployed_cli("timers", "fire").stdout


def test_clock_advance_moves_past_an_instance_whose_state_is_damaged(
        irpm: Irpm, database_url: str) -> None:
    """Issue 13, finding 8: it used to retry the damaged instance forever, the clock stuck."""
    irpm("deploy", FIXTURES / "timer_boundary.bpmn", "--by", "tests")
    irpm("clock", "set", "2011-01-04T09:00+08:00", *WHY)
    broken, healthy = (irpm.json("start", "timer_boundary", "--key", key, "--user",
                                 "admin")["instance"]["id"] for key in ("a", "b"))
    engine = create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(update(ProcessInstance).where(ProcessInstance.id == broken)
                     .values(state=b"garbage"))
    engine.dispose()
    advanced = irpm.json("clock", "advance", "P4D", *WHY)
    assert advanced["fired"] == 1 and advanced["now"] == "2011-01-08T09:00:00+08:00"
    events = irpm.json("events", broken)
    assert [e["type"] for e in events].count("error") == 1
    assert "state unreadable" in events[-1]["data"]["message"]
    assert "timer_fired" in [e["type"] for e in irpm.json("events", healthy)]


def test_clock_refuses_bad_times_and_the_system_clock(deployed_cli: Irpm) -> None:
    assert "set a simulated time first" in deployed_cli.fails("clock", "advance", "7d", *WHY)
    assert "not an ISO 8601 date-time" in deployed_cli.fails("clock", "set", "yesterday", *WHY)
    deployed_cli("clock", "set", "2011-01-04T01:00:00Z", *WHY)
    assert "cannot go back" in deployed_cli.fails("clock", "set", "2011-01-03", *WHY)
    assert "not a duration" in deployed_cli.fails("clock", "advance", "7 days", *WHY)
    assert deployed_cli.json("clock", "advance", "P1M", *WHY)["now"] == "2011-02-04T09:00:00+08:00"
    back = deployed_cli.json("clock", "system", *WHY)
    assert back["simulated"] is False and not back["now"].startswith("2011")


# --------------------------------------------------------------------------- output, errors


def test_every_listing_prints_json_with_the_global_flag(deployed_cli: Irpm) -> None:
    instance_id = deployed_cli.start_post()["instance"]["id"]
    for args in (("definitions",), ("instances",), ("tasks", *HOLDER), ("events", instance_id),
                 ("clock", "show"), ("timers", "list"), ("db", "current")):
        assert deployed_cli.json(*args), args


def test_an_unmigrated_database_is_one_error_line(tmp_path: Path) -> None:
    irpm = Irpm(f"sqlite:///{tmp_path / 'empty.db'}")
    line = irpm.fails("instances")
    assert line.startswith("error: database:") and "irpm db upgrade" in line


def test_serve_runs_the_app_threaded(irpm: Irpm, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, Any]] = []

    def fake_run(app: Flask, **options: Any) -> None:
        calls.append(options)
        app.extensions["irpm"].close()

    monkeypatch.setattr(Flask, "run", fake_run)
    irpm("serve", "--port", "5055")
    assert calls == [{"host": "127.0.0.1", "port": 5055, "threaded": True}]
