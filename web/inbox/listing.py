"""The inbox's query string: parsed into an engine ``TaskFilter`` (unknown values are
dropped, never an error), and URLs that change one parameter and keep the rest."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import current_app, request, url_for
from werkzeug.datastructures import MultiDict

from engine.services import inbox
from engine.services.tasks import TaskFilter

#: Query-string parameters the inbox understands.
PARAMS = ("process", "unit", "due", "q", "sort", "dir", "page")
MAX_SEARCH = 100


@dataclass(frozen=True)
class Listing:
    flt: TaskFilter
    page: int
    page_size: int
    #: The recognised parameters, cleaned (what the filter form shows).
    args: dict[str, str]


def _text(args: MultiDict[str, str], key: str, limit: int) -> str | None:
    value = (args.get(key) or "").strip()
    return value[:limit] if value else None


def _page(args: MultiDict[str, str], page_size: int) -> int:
    last = inbox.COUNT_CAP // page_size + 1
    try:
        return min(max(int(args.get("page", "1")), 1), last)
    except ValueError:
        return 1


def parse(args: MultiDict[str, str], view: str) -> Listing:
    size = int(current_app.config["IRPM_PAGE_SIZE"])
    due = args.get("due") if args.get("due") in inbox.DUE_STATES else None
    sort = args.get("sort") if args.get("sort") in inbox.SORT_KEYS else None
    page = _page(args, size)
    flt = TaskFilter(view=view, process_id=_text(args, "process", 255),
                     unit_code=_text(args, "unit", 64), due=due,
                     search=_text(args, "q", MAX_SEARCH), sort=sort,
                     descending=sort is not None and args.get("dir") == "desc",
                     limit=size, offset=(page - 1) * size,
                     near_due=timedelta(days=float(current_app.config["IRPM_NEAR_DUE_DAYS"])))
    clean = {"process": flt.process_id, "unit": flt.unit_code, "due": due, "q": flt.search,
             "sort": sort, "dir": "desc" if flt.descending else None}
    return Listing(flt, page, size, {k: v for k, v in clean.items() if v})


def url_with(**changes: Any) -> str:
    """This page's URL with some parameters changed (None removes one); a change of
    anything but the page goes back to page 1."""
    args = {k: v for k, v in request.args.items() if k in PARAMS and v}
    if "page" not in changes:
        args.pop("page", None)
    for key, value in changes.items():
        if value is None or value == "":
            args.pop(key, None)
        else:
            args[key] = str(value)
    values: dict[str, Any] = {**(request.view_args or {}), **args}
    return url_for(str(request.endpoint), **values)


def sort_url(key: str, flt: TaskFilter) -> str:
    """Sort by ``key``; on the column already sorted by, flip the direction."""
    current = flt.sort
    descending = current == key and not flt.descending
    return url_with(sort=key, dir="desc" if descending else None)


def pages(page: int, total: int, size: int) -> dict[str, int]:
    last = max(1, -(-total // size))
    return {"page": page, "last": last, "first_row": (page - 1) * size + 1 if total else 0,
            "last_row": min(page * size, total)}
