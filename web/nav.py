"""The navigation bar: areas register their entries, and each user sees those their roles
allow, with counts where an entry has them (the inbox's open tasks).

    nav.add(app, nav.Item("inbox.view", _l("Inbox"), order=10, count="mine"))
    nav.add(app, nav.Item("designer.index", _l("Process design"), roles=("designer",)))
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app, g, request
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError

from engine.actors import Actor
from engine.db import UnitOfWork
from engine.services import inbox

from .runtime import runtime


@dataclass(frozen=True)
class Item:
    endpoint: str
    label: Any  #: a lazy translated string
    #: Any of these roles (or groups) sees the entry; None: every signed-in user.
    roles: tuple[str, ...] | None = None
    order: int = 50
    #: Keyword arguments for ``url_for``.
    values: tuple[tuple[str, str], ...] = ()
    #: Name of a count from ``counts()`` to show as a badge.
    count: str | None = None
    #: Also shown to anonymous visitors (e.g. the public publicity page).
    public: bool = False

    def visible(self) -> bool:
        if not current_user.is_authenticated:
            return self.public
        return self.roles is None or current_user.has_role(*self.roles)

    def active(self) -> bool:
        if request.endpoint != self.endpoint:
            return False
        args = request.view_args or {}
        return all(args.get(k) == v for k, v in self.values)


def add(app: Flask, item: Item) -> None:
    items: list[Item] = app.extensions.setdefault("irpm_nav", [])
    items.append(item)
    items.sort(key=lambda i: i.order)


def add_count(app: Flask, name: str, count: Callable[[UnitOfWork, Actor], int]) -> None:
    """Another badge count for ``Item.count`` (e.g. unread notifications), next to the
    inbox's, computed in the same unit of work."""
    app.extensions.setdefault("irpm_nav_counts", {})[name] = count


def counts() -> dict[str, int]:
    """Open tasks per inbox view (and the areas' counts, ``add_count``) for the signed-in
    user, counted once per request."""
    if "nav_counts" not in g:
        g.nav_counts = {}
        if g.get("actor") is not None:
            try:
                with runtime().uow(write=False) as uow:
                    found = inbox.inbox_counts(uow, g.actor)
                    for name, count in current_app.extensions.get("irpm_nav_counts",
                                                                  {}).items():
                        found[name] = count(uow, g.actor)
                    g.nav_counts = found
            except SQLAlchemyError:  # an error page must render even without a database
                current_app.logger.exception("navigation counts failed")
    result: dict[str, int] = g.nav_counts
    return result


def _context() -> dict[str, Any]:
    items: list[Item] = current_app.extensions.get("irpm_nav", [])
    return {"nav_items": [i for i in items if i.visible()], "nav_counts": counts}


def init_app(app: Flask) -> None:
    app.context_processor(_context)
