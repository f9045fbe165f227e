"""``irpm milestones`` — a campaign's milestone plan (工作节点) and the reports its deadlines
wrote — and ``irpm rehearse``, the demo city's 2011–2012 programme on the simulated clock
(engine/programme/services/milestones.py, engine/programme/rehearsal.py).

Registered on ``irpm`` by web/cli/__init__.py. ``--campaign`` takes the campaign's business key
(``campaign-2011``) or instance id; without it, the newest campaign.
"""

from __future__ import annotations

import math
import sys
from datetime import datetime
from typing import Any

import click

from engine.actors import Actor
from engine.db import UnitOfWork
from engine.errors import NotFound
from engine.programme.models import Milestone, MilestoneReport
from engine.programme.rehearsal import END, START, STEP, rehearse
from engine.programme.services import milestones as milestones_service
from engine.programme.services import organisation
from engine.programme.services.milestones import PlanView, warn_at

from .format import CHINA, ISO_DATETIME, Column, cell, table
from .state import State

campaign_option = click.option(
    "--campaign", metavar="KEY|ID",
    help="The campaign's business key (campaign-2011) or instance id (default: the newest).")


@click.group()
def milestones() -> None:
    """Milestones (工作节点): the plan, its changes, and the reports of each deadline."""


def _milestone_row(m: Milestone) -> dict[str, Any]:
    report = m.report
    return {"name": m.name, "title": m.title, "rule": m.rule, "due_at": m.due_at,
            "warn_days": m.warn_days, "warn_at": warn_at(m), "warned_at": m.warned_at,
            "yellow_cards": m.yellow_cards, "evaluated_at": m.evaluated_at,
            "red_cards": m.red_cards, "report_id": report.id if report else None,
            "coverage": round(report.coverage, 4) if report else None,
            "updated_by": m.updated_by}


def _plan_payload(view: PlanView) -> dict[str, Any]:
    plan = view.plan
    return {"campaign_id": plan.instance_id, "business_key": plan.business_key,
            "year": plan.year, "status": view.process_status, "units": plan.units,
            "milestones": [_milestone_row(m) for m in view.milestones]}


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


PLAN_COLUMNS = [Column("MILESTONE", "name"), Column("TITLE", "title"),
                Column("DUE AT", "due_at"), Column("WARN", "warn"),
                Column("WARNED", "warned_at"), Column("YELLOW", "yellow_cards"),
                Column("EVALUATED", "evaluated_at"), Column("RED", "red_cards"),
                Column("REPORT", "report_id"), Column("COVERAGE", "coverage_text")]


def _show_plan(state: State, view: PlanView, headline: str = "") -> None:
    payload = _plan_payload(view)
    rows = [{**row, "warn": f"{row['warn_days']} d ({cell(row['warn_at'])})",
             "coverage_text": _percent(row["coverage"])} for row in payload["milestones"]]
    text = (f"campaign {payload['business_key'] or ''} (instance {payload['campaign_id']}, "
            f"{payload['status']}), {payload['year']}, {len(payload['units'])} units\n"
            + table(rows, PLAN_COLUMNS))
    state.say(payload, f"{headline}\n{text}" if headline else text)


@milestones.command("plan")
@campaign_option
@click.pass_obj
def plan(state: State, campaign: str | None) -> None:
    """The campaign's milestones: deadline, warning, cards, report and coverage."""
    with state.rt.uow(write=False) as uow:
        _show_plan(state, milestones_service.get_milestone_plan(uow, campaign))


def _actor(uow: UnitOfWork, user: str, groups: tuple[str, ...]) -> Actor:
    """The user with the groups the organisation gives them, plus any named."""
    named = {g.strip() for item in groups for g in item.split(",") if g.strip()}
    try:
        found = organisation.actor_for(uow, user)
    except NotFound:
        return Actor(user, frozenset(named))
    return Actor(found.user, found.groups | named, is_admin=found.is_admin)


@milestones.command("set")
@click.argument("name")
@campaign_option
@click.option("--due", metavar="DATE|ISO_DATETIME",
              help="The new deadline: a day (2011-06-30, checked at 09:00 +08:00) or a "
                   "date-time with its offset.")
@click.option("--warn-days", type=int, metavar="DAYS",
              help="Send the yellow cards this many days before the deadline (0–365).")
@click.option("--user", required=True, envvar="IRPM_USER",
              help="Who changes the plan: the discipline commission (default: IRPM_USER).")
@click.option("--group", "groups", multiple=True, metavar="G",
              help="A group of the user besides the organisation's; repeat or use commas.")
@click.pass_obj
def set_(state: State, name: str, campaign: str | None, due: str | None,
         warn_days: int | None, user: str, groups: tuple[str, ...]) -> None:
    """Move milestone NAME's deadline or change its warning; the running campaign's timers
    are re-timed with it. A refused change changes nothing."""
    with state.rt.uow() as uow:
        milestones_service.set_milestone(uow, campaign, {"name": name, "due": due,
                                               "warn_days": warn_days},
                               _actor(uow, user, groups))
    with state.rt.uow(write=False) as uow:
        _show_plan(state, milestones_service.get_milestone_plan(uow, campaign), f"changed {name}")


def _report_row(report: MilestoneReport) -> dict[str, Any]:
    return {"id": report.id, "milestone": report.name, "due_at": report.due_at,
            "evaluated_at": report.evaluated_at, "units_on_track": report.units_on_track,
            "units_total": report.units_total, "coverage": round(report.coverage, 4),
            "late_units": report.late_units, "red_cards": report.red_cards,
            "campaign_id": report.instance_id}


@milestones.command("reports")
@campaign_option
@click.pass_obj
def reports(state: State, campaign: str | None) -> None:
    """The milestone reports, in deadline order (every campaign's, or one's)."""
    with state.rt.uow(write=False) as uow:
        rows = [_report_row(r) for r in milestones_service.list_milestone_reports(uow, campaign)]
    state.listing([{**r, "on_track": f"{r['units_on_track']}/{r['units_total']}",
                    "coverage_text": _percent(r["coverage"]),
                    "late": ", ".join(r["late_units"]) or "—"} for r in rows]
                  if not state.as_json else rows,
                  [Column("ID", "id"), Column("MILESTONE", "milestone"),
                   Column("DUE AT", "due_at"), Column("EVALUATED", "evaluated_at"),
                   Column("ON TRACK", "on_track"), Column("COVERAGE", "coverage_text"),
                   Column("LATE UNITS", "late", 60)],
                  "no milestone report yet (a report is written at each deadline)")


@milestones.command("report")
@click.argument("report_id", type=int)
@click.pass_obj
def report(state: State, report_id: int) -> None:
    """One report: coverage per unit and overall, and why each late unit is late."""
    with state.rt.uow(write=False) as uow:
        found = milestones_service.get_milestone_report(uow, report_id)
        payload = {**_report_row(found), "rule": found.rule, "units": found.units}
    rows = [{"unit": u["unit_code"], "name": u["unit_name"],
             "on_track": "yes" if u["on_track"] else "LATE",
             "done": f"{u['done']}/{u['total']}", "principal": u.get("principal") or "—",
             "reasons": ";".join(r["text"] for r in u["reasons"]) or "—"}
            for u in payload["units"]]
    when = payload["due_at"].astimezone(CHINA).isoformat(timespec="minutes")
    text = (f"report {payload['id']}: {payload['milestone']} (rule {payload['rule']}), "
            f"deadline {when}: {payload['units_on_track']} of {payload['units_total']} "
            f"units on track ({_percent(payload['coverage'])}), "
            f"{payload['red_cards']} red cards\n"
            + table(rows, [Column("UNIT", "unit"), Column("NAME", "name"),
                           Column("ON TRACK", "on_track"), Column("DONE", "done"),
                           Column("PRINCIPAL", "principal"),
                           Column("REASONS", "reasons", 80)]))
    state.say(payload, text)


@click.command("rehearse")
@click.option("--units", metavar="CODES",
              help="Rehearse these units only (comma-separated codes; default: all).")
@click.option("--until", type=ISO_DATETIME, metavar="ISO_DATETIME",
              help="Stop at this time (default: 2013-01-01T09:00+08:00).")
@click.pass_obj
def rehearse_command(state: State, units: str | None, until: datetime | None) -> None:
    """Rehearse the programme from 2011-01-04 to 2013-01-01 on the simulated clock.

    Starts campaign-2011 over the loaded organisation (irpm demo load) and completes every
    task as the person it went to, week by week; of the units rehearsed, the last starts
    late and the one before it stalls at review, so the four milestone reports show who
    is late and why. It also reports what it proves: how many supervisory steps the holder
    of the post did (回避: must be 0) and the disposals (后期处置) started from each source.
    Needs a database where the campaign has not started yet.
    """
    chosen = [u.strip() for u in (units or "").split(",") if u.strip()] or None
    end = until or END
    if state.as_json or not sys.stderr.isatty():
        result = rehearse(state.rt, units=chosen, until=end,
                          say=None if state.as_json else
                          (lambda note: click.echo(f"note: {note}", err=True)))
    else:  # a terminal: a bar over the simulated weeks (the events are listed at the end)
        weeks = max(1, math.ceil((end - START) / STEP))
        with click.progressbar(length=weeks, label="rehearsal", file=sys.stderr) as bar:
            result = rehearse(state.rt, units=chosen, until=end,
                              progress=lambda _at: bar.update(1))
    payload = result.as_dict()
    rows = [{"report_id": r.report_id, "milestone": r.milestone, "due_at": r.due_at,
             "on_track": f"{r.units_on_track}/{r.units_total}",
             "coverage_text": _percent(r.coverage), "late": ", ".join(r.late_units) or "—"}
            for r in result.reports]
    sources = ", ".join(f"{source} {n}" for source, n in result.disposals.items())
    text = (f"rehearsal of {len(result.units)} units: {result.rounds} weekly rounds, "
            f"{result.tasks_completed} tasks completed, {result.timers_fired} timers fired "
            f"in {result.seconds:.1f} s\n"
            f"回避 (separation of duties): {result.self_supervised} of "
            f"{result.supervisory_steps} supervisory steps done by the holder of the post "
            "they are about\n"
            f"后期处置 (disposals) started by source: {sources or 'none'}; "
            f"{result.accountability} ended in accountability (追究)\n"
            + "".join(f"  {line}\n" for line in result.events)
            + table(rows, [Column("REPORT", "report_id"), Column("MILESTONE", "milestone"),
                           Column("DUE AT", "due_at"), Column("ON TRACK", "on_track"),
                           Column("COVERAGE", "coverage_text"), Column("LATE UNITS", "late")]))
    state.say(payload, text)
