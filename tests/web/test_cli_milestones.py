"""``irpm milestones plan|set|reports|report`` and ``irpm rehearse`` (web/cli/milestones.py)
on the three-unit town: tables for people, JSON for scripts, one ``error:`` line and status
1 — and an unchanged plan — when a change is refused."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.databases import Template

from .test_cli import Irpm


@pytest.fixture
def town_cli(database_url: str, rehearsal_town_world: Template) -> Iterator[Irpm]:
    yield Irpm(database_url)


def test_rehearse_then_read_the_plan_and_the_reports(town_cli: Irpm) -> None:
    # Half a year: the launch and the rollout are decided, the other two still ahead.
    out = town_cli("rehearse", "--until", "2011-07-01T09:00:00+08:00")
    assert "rehearsal of 3 units" in out.stdout
    assert "note: campaign campaign-2011" in out.stderr
    lines = out.stdout.splitlines()
    # What it proves so far: nobody on their own post, no disposal yet in half a year.
    assert lines[1].startswith("回避 (separation of duties): 0 of ")
    assert lines[1].endswith(" supervisory steps done by the holder of the post they are about")
    assert lines[2] == ("后期处置 (disposals) started by source: self_check 0, monitoring 0, "
                        "complaint 0, channel 0, register 0, institution 0; 0 ended in "
                        "accountability (追究)")
    assert lines[3].split() == ["REPORT", "MILESTONE", "DUE", "AT", "ON", "TRACK", "COVERAGE",
                                "LATE", "UNITS"]
    assert "rollout" in lines[5] and "2/3" in lines[5] and "RSJ" in lines[5]

    plan = town_cli.json("milestones", "plan", "--campaign", "campaign-2011")
    assert (plan["business_key"], plan["year"], plan["units"]) == (
        "campaign-2011", 2011, ["CZJ", "FGW", "RSJ"])
    rows = {m["name"]: m for m in plan["milestones"]}
    assert rows["launch"]["due_at"] == "2011-03-01T09:00:00+08:00"
    assert rows["rollout"]["coverage"] == pytest.approx(2 / 3, abs=1e-4)
    assert rows["rollout"]["yellow_cards"] == 1 and rows["rollout"]["red_cards"] == 1
    assert rows["initial_network"]["report_id"] is None
    text = town_cli("milestones", "plan").stdout
    assert "全面推开" in text and "67%" in text and "14 d" in text

    reports = town_cli.json("milestones", "reports")
    assert [(r["milestone"], r["units_on_track"], r["late_units"]) for r in reports] == [
        ("launch", 3, []), ("rollout", 2, ["RSJ"])]
    rollout_id = reports[1]["id"]
    detail = town_cli.json("milestones", "report", rollout_id)
    late = {u["unit_code"]: u for u in detail["units"]}["RSJ"]
    assert late["principal"] == "rsj-01" and not late["on_track"]
    shown = town_cli("milestones", "report", rollout_id).stdout
    assert "2 of 3 units on track (67%)" in shown
    assert "LATE" in shown and "单位层面风险尚未查找上报" in shown

    # The commission moves the initial network forward; the waiting warning moves with it.
    changed = town_cli.json("milestones", "set", "initial_network", "--due", "2011-11-30",
                            "--warn-days", "10", "--user", "jiwei")
    network = {m["name"]: m for m in changed["milestones"]}["initial_network"]
    assert network["due_at"] == "2011-11-30T09:00:00+08:00"
    assert network["warn_at"] == "2011-11-20T09:00:00+08:00"
    assert network["updated_by"] == "jiwei"
    timers = town_cli.json("timers", "list")["timers"]
    assert {t["element_id"]: t["due_at"] for t in timers
            if t["element_id"].startswith("warn_initial")} == {
        "warn_initial_network": "2011-11-20T09:00:00+08:00"}


def test_refused_changes_are_one_error_line_and_change_nothing(town_cli: Irpm) -> None:
    town_cli("rehearse", "--until", "2011-01-11T09:00:00+08:00")
    before = town_cli.json("milestones", "plan")
    assert "may not change milestone plans" in town_cli.fails(
        "milestones", "set", "rollout", "--due", "2011-07-31", "--user", "fgw-01")
    assert "is not a date" in town_cli.fails(
        "milestones", "set", "rollout", "--due", "July", "--user", "jiwei")
    assert "nothing to change" in town_cli.fails("milestones", "set", "rollout",
                                                 "--user", "jiwei")
    assert "name" in town_cli.fails("milestones", "set", "handover", "--due", "2011-07-31",
                                    "--user", "jiwei")
    assert "no milestone plan for campaign campaign-2010" in town_cli.fails(
        "milestones", "plan", "--campaign", "campaign-2010")
    assert "no milestone report 99" in town_cli.fails("milestones", "report", "99")
    assert "was started already" in town_cli.fails("rehearse")
    assert town_cli.json("milestones", "plan") == before
    assert town_cli("milestones", "reports").stdout.startswith("no milestone report yet")
