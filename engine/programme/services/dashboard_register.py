"""The register's side of the dashboard: every grading and risk point of the year grouped by
department — the costly part of the page at city size — and a cache of those rows that is
never stale.

The rows change only when the register does, and every register write records its changes
through ``engine.programme.services.register_writes.History``, which appends a
``register_change`` row for each field it changes (the table is append-only). So the newest
``register_change`` id, with a checksum of which department each post is in (the rows are
grouped by the post's department), stamps the rows exactly: a request whose stamp matches the
cached one reuses them, any other reads them again. The stamp is read before the rows, so
rows cached under a stamp are never older than it.

The cache is passed in (the web app keeps one per process); without it every call reads.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, case, cast, func, literal, select

from ...db import UnitOfWork
from ..models import Post, PostGrading, RegisterChange, RiskPoint

#: Tiers of ``RegisterRows.risks``: the owner is a unit id (UNIT) or a department id.
UNIT_TIER, DEPARTMENT_TIER, POST_TIER = 0, 1, 2


@dataclass(frozen=True)
class RegisterRows:
    #: (department id, effective level, deadline interval, graded, published): the interval
    #: is the index of the first of the sorted deadlines the grading came by (len: after all).
    gradings: list[tuple[int, int, int, int, int]]
    #: (tier, owner id, category, level, risk points).
    risks: list[tuple[int, int, str, int, int]]


class RegisterCache:
    """The latest rows per (year, deadlines), kept while their stamp holds; thread-safe."""

    def __init__(self, size: int = 8) -> None:
        self._rows: OrderedDict[tuple[Any, ...], tuple[Any, RegisterRows]] = OrderedDict()
        self._lock = threading.Lock()
        self._size = size
        self.hits = self.misses = 0

    def get(self, key: tuple[Any, ...], stamp: Any) -> RegisterRows | None:
        with self._lock:
            found = self._rows.get(key)
            if found is None or found[0] != stamp:
                self.misses += 1
                return None
            self._rows.move_to_end(key)
            self.hits += 1
            return found[1]

    def put(self, key: tuple[Any, ...], stamp: Any, rows: RegisterRows) -> None:
        with self._lock:
            self._rows[key] = (stamp, rows)
            self._rows.move_to_end(key)
            while len(self._rows) > self._size:
                self._rows.popitem(last=False)


def register_stamp(uow: UnitOfWork) -> tuple[Any, ...]:
    """The newest register change, and the posts' count and department checksum (two indexed
    reads: the primary key's maximum and a scan of ``ix_post_department_id``)."""
    newest = uow.session.scalar(select(func.max(RegisterChange.id)))
    count, checksum = uow.session.execute(select(
        func.count(Post.id),
        func.coalesce(func.sum(cast(Post.id, BigInteger) * Post.department_id), 0))).one()
    return newest, count, int(checksum)


def register_rows(uow: UnitOfWork, year: int, deadlines: Sequence[datetime],
                  cache: RegisterCache | None = None) -> RegisterRows:
    """The year's grouped register rows; ``deadlines`` sorted, earliest first."""
    if cache is None:
        return _read(uow, year, deadlines)
    key = (year, tuple(deadlines))
    stamp = register_stamp(uow)
    found = cache.get(key, stamp)
    if found is None:
        found = _read(uow, year, deadlines)
        cache.put(key, stamp, found)
    return found


def _read(uow: UnitOfWork, year: int, deadlines: Sequence[datetime]) -> RegisterRows:
    return RegisterRows(_gradings(uow, year, deadlines), _risks(uow, year))


def _gradings(uow: UnitOfWork, year: int,
              deadlines: Sequence[datetime]) -> list[tuple[int, int, int, int, int]]:
    """One scan of the year's gradings: each falls in one interval between deadlines (a
    single CASE per row, cheaper than a sum per deadline)."""
    level = func.coalesce(PostGrading.override_level, PostGrading.level).label("lv")
    interval = (case(*[(PostGrading.graded_at <= due, n) for n, due in enumerate(deadlines)],
                     else_=len(deadlines)) if deadlines else literal(0)).label("interval")
    stmt = (select(Post.department_id, level, interval, func.count(),
                   func.count(PostGrading.published_at))
            .select_from(PostGrading).join(Post, Post.id == PostGrading.post_id)
            .where(PostGrading.year == year).group_by(Post.department_id, level, interval))
    return [(d, lv, n, graded, published)
            for d, lv, n, graded, published in uow.session.execute(stmt)]


def _risks(uow: UnitOfWork, year: int) -> list[tuple[int, int, str, int, int]]:
    """Risk points by owner, category and level, one tier at a time: the unit's and the
    departments' own risks through their indexes, the posts' (nearly all of them) in one
    scan joined to their post and grouped by its department."""
    tiers = {
        UNIT_TIER: select(RiskPoint.unit_id, RiskPoint.category, RiskPoint.level, func.count())
        .where(RiskPoint.unit_id.is_not(None), RiskPoint.year == year)
        .group_by(RiskPoint.unit_id, RiskPoint.category, RiskPoint.level),
        DEPARTMENT_TIER: select(RiskPoint.department_id, RiskPoint.category, RiskPoint.level,
                                func.count())
        .where(RiskPoint.department_id.is_not(None), RiskPoint.year == year)
        .group_by(RiskPoint.department_id, RiskPoint.category, RiskPoint.level),
        POST_TIER: select(Post.department_id, RiskPoint.category, RiskPoint.level,
                          func.count())
        .join(Post, Post.id == RiskPoint.post_id).where(RiskPoint.year == year)
        .group_by(Post.department_id, RiskPoint.category, RiskPoint.level),
    }
    return [(tier, owner or 0, category, lv, count) for tier, stmt in tiers.items()
            for owner, category, lv, count in uow.session.execute(stmt)]
