"""GET /inbox/<view> (我的待办, 待认领, 已办) and GET /inbox/involved (我参与的)."""

from __future__ import annotations

from typing import Any

from flask import g, render_template, request

from engine.programme.services import organisation, people_names
from engine.services import inbox, involvement

from ..runtime import runtime
from . import ALL, INVOLVED, VIEWS, bp
from .listing import pages, parse, sort_url, url_with


@bp.get("/")
def home() -> Any:
    from . import _home

    return _home()


def _views() -> dict[str, Any]:
    """The tabs this user has: the three task views, and 全部任务 for administrators."""
    return {**VIEWS, "all": ALL} if g.actor.is_admin else dict(VIEWS)


@bp.get("/<any(mine, claimable, done, all):view>")
def tasks(view: str) -> Any:
    listing = parse(request.args, view)
    with runtime().uow(write=False) as uow:
        page = inbox.inbox_page(uow, g.actor, listing.flt)
        offered_to = involvement.offered_to(
            uow, [t.id for t in page.rows if t.state == "open" and not t.assignee])
        halted = involvement.halted(uow, [t.instance_id for t in page.rows
                                          if t.state == "open"])
        people = people_names.names(
            uow, [who for t in page.rows if (who := t.assignee or t.completed_by)],
            {group for groups in offered_to.values() for group in groups})
        processes = inbox.process_choices(uow)
        units = [(u.code, u.name) for u in organisation.list_units(uow)]
    return render_template(
        "inbox/tasks.html", view=view, views=_views(), involved_label=INVOLVED, page=page,
        offered_to=offered_to, people=people, halted=halted,
        listing=listing, flt=listing.flt, processes=processes, units=units,
        pager=pages(listing.page, page.total, listing.page_size),
        url_with=url_with, sort_url=sort_url)


@bp.get("/involved")
def involved() -> Any:
    listing = parse(request.args, "mine")
    with runtime().uow(write=False) as uow:
        rows, total = inbox.involved_instances(
            uow, g.actor, process_id=listing.flt.process_id, limit=listing.page_size,
            offset=(listing.page - 1) * listing.page_size)
        where = involvement.involvement(uow, g.actor, [r.id for r in rows])
        steps = [step for w in where.values() for step in w.current]
        people = people_names.names(uow, (s.assignee for s in steps if s.assignee),
                                    (group for s in steps for group in s.groups))
        processes = inbox.process_choices(uow)
    return render_template(
        "inbox/involved.html", view="involved", views=_views(), involved_label=INVOLVED,
        rows=rows, where=where, people=people, total=total, listing=listing, processes=processes,
        pager=pages(listing.page, total, listing.page_size), url_with=url_with)
