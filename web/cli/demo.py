"""``irpm demo`` — the demo city (engine/programme/demo.py): twelve bureaus, their officials,
a login for each, and the simulated clock at the programme's first working day of 2011.

Registered on ``irpm`` by web/cli/__init__.py.
"""

from __future__ import annotations

import sys
import time

import click

from engine.programme.demo import (
    DEFAULT_PASSWORD,
    LOAD_PHASES,
    DemoSummary,
    load_demo_city,
)
from engine.programme.demo_city import DEFAULT_SEED
from engine.programme.services import organisation

from .format import CHINA, Column, table
from .state import State


@click.group()
def demo() -> None:
    """The demo city (示范城市) for rehearsals and trying IRPM out."""


@demo.command("load")
@click.option("--seed", type=int, default=DEFAULT_SEED, show_default=True,
              help="Same seed, same city (names, deputies, who oversees what).")
@click.option("--password", default=DEFAULT_PASSWORD, show_default=True,
              help="The one password of every demo account.")
@click.option("--start-campaign", is_flag=True,
              help="Also start the deployed 'campaign' process for 2011 (once).")
@click.option("--mobilise/--no-mobilise", default=True, show_default=True,
              help="With --start-campaign: jiwei completes 广泛宣传发动 and its background job "
                   "starts every unit's and post's cycle, so each demo login has a task.")
@click.option("--if-empty", is_flag=True,
              help="Do nothing if an organisation is already there (what `make run` uses).")
@click.pass_obj
def demo_load(state: State, seed: int, password: str, start_campaign: bool, mobilise: bool,
              if_empty: bool) -> None:
    """Load the demo city into a migrated database; loading again changes nothing.

    12 units, 6 departments each, 8 posts per department, an official per post, a login
    for every official plus admin, jiwei and designer; the simulated clock at
    2011-01-04T09:00+08:00. With --start-campaign the campaign is held to a launch on
    2011-03-01 (nothing is overdue at the start) and, unless --no-mobilise, mobilised.
    """
    if if_empty:
        with state.rt.uow(write=False) as uow:
            if organisation.list_units(uow):
                click.echo("note: an organisation is loaded already; demo city not loaded",
                           err=True)
                return
    started = time.perf_counter()

    def say(note: str) -> None:
        click.echo(f"note: {note}", err=True)

    if state.as_json or not sys.stderr.isatty():
        summary = load_demo_city(state.rt, seed, password, start_campaign=start_campaign,
                                 mobilise=mobilise, say=say)
    else:  # a terminal: a bar over the load's phases
        with click.progressbar(length=len(LOAD_PHASES), label="demo city", file=sys.stderr,
                               item_show_func=lambda phase: phase) as bar:
            summary = load_demo_city(state.rt, seed, password, start_campaign=start_campaign,
                                     mobilise=mobilise, say=say,
                                     progress=lambda phase: bar.update(1, phase))
    seconds = round(time.perf_counter() - started, 2)
    state.say({**summary.as_dict(), "seconds": seconds},
              _text(summary, seconds, shown_password=password == DEFAULT_PASSWORD))


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{counts[k]} {k}" for k in ("created", "updated", "unchanged"))


def _text(s: DemoSummary, seconds: float, *, shown_password: bool) -> str:
    headline = "demo city loaded" if s.changed else "demo city already loaded; nothing changed"
    levels = ", ".join(f"level {k}: {v}" for k, v in sorted(s.levels.items()))
    logins = table([{"username": d.username, "role": d.role, "unit": d.unit or "(city)",
                     "name": d.name, "post": d.post} for d in s.demo_logins],
                   [Column("USERNAME", "username"), Column("ROLE", "role"),
                    Column("UNIT", "unit"), Column("NAME", "name"), Column("POST", "post")])
    lines = [
        f"{headline} (seed {s.seed}) in {seconds:.2f} s",
        f"{s.units} units, {s.departments} departments, {s.posts} posts, {s.officials} "
        f"officials, {s.accounts} accounts",
        f"organisation rows: {_counts(s.organisation)}",
        f"accounts: {_counts(s.logins)}",
        f"posts by the post rule: {levels}",
        f"simulated clock: {s.clock.astimezone(CHINA).isoformat(timespec='minutes')}",
    ]
    if s.campaign_instance_id is not None:
        lines.append(f"campaign: instance {s.campaign_instance_id}"
                     + ("; 广泛宣传发动 done by jiwei, every unit's and post's cycle started"
                        if s.mobilised else ""))
    lines += ["", "demo logins (every official logs in with the lowercased official code, "
              "e.g. fgw-0001):", logins, "",
              f"password: {DEFAULT_PASSWORD}" if shown_password
              else "password: as given with --password"]
    return "\n".join(lines)
