"""Rate limits kept in the database, so every process serving the app counts together (a
production server runs several gunicorn workers, often on several hosts).

``hit_rate_limit(uow, scope, key, limit=…, window=…)`` counts one hit of ``key`` in
``scope`` — at most ``limit`` hits in any ``window`` (a sliding window, exact): it answers
None when the hit is allowed (and counted), else the seconds until one will be (the refused
hit is not counted, so a client that keeps trying is let in once the window moves on). The
key's row (``engine.models.RateLimit``) is locked for the count — ``SELECT … FOR UPDATE`` on
PostgreSQL, SQLite's write lock — so concurrent hits queue and exactly ``limit`` get
through. Each hit also prunes rows whose every hit has left the window (a batch, skipping
rows another transaction holds).

``rate_limit_hits`` and ``rate_limit_wait`` only read (the sign-in throttle asks before the
slow password check whether an attempt may be made at all, and counts only failures);
``clear_rate_limit`` forgets a key (a successful sign-in, an administrator's unlock).

Time is the real time (default: the system clock), not the project's simulated clock: a
limit is about requests arriving now, whatever day the programme is rehearsing.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from ..db import UnitOfWork
from ..errors import ConcurrentUpdate, ValidationFailed
from ..models import RateLimit

#: Expired rows deleted per hit at most.
PRUNE_BATCH = 500


def hit_rate_limit(uow: UnitOfWork, scope: str, key: str, *, limit: int,
                   window: float | timedelta, now: datetime | None = None) -> float | None:
    """Count a hit of ``key``: None if allowed, else the seconds to wait (see the module's
    description). ``now``: an aware time (default: the system clock). Commits."""
    span = window.total_seconds() if isinstance(window, timedelta) else float(window)
    if span <= 0 or not scope or not key:
        raise ValidationFailed("a rate limit needs a scope, a key and a positive window",
                               {"window": ["must be positive"]})
    if limit < 1:
        return span
    now = now or datetime.now(UTC)
    stamp = now.timestamp()
    row_id, stored = _locked_row(uow, scope, key, now)
    hits = [t for t in _times(stored) if t > stamp - span]
    if len(hits) >= limit:
        uow.commit()  # nothing to write: the refused hit is not counted
        return max(hits[-limit] + span - stamp, 0.0)
    hits = [*hits, round(stamp, 3)][-limit:]
    uow.session.execute(update(RateLimit).where(RateLimit.id == row_id).values(
        hits=json.dumps(hits), expires_at=now + timedelta(seconds=span)))
    prune_rate_limits(uow, now)
    uow.commit()
    return None


def _span(window: float | timedelta) -> float:
    span = window.total_seconds() if isinstance(window, timedelta) else float(window)
    if span <= 0:
        raise ValidationFailed("a rate limit needs a positive window",
                               {"window": ["must be positive"]})
    return span


def rate_limit_hits(uow: UnitOfWork, scope: str, key: str, *, window: float | timedelta,
                    now: datetime | None = None) -> list[float]:
    """The times (UNIX seconds, oldest first) of ``key``'s hits still inside ``window`` —
    at most the limit's number of them, as ``hit_rate_limit`` keeps no more. Reads only."""
    span = _span(window)
    stamp = (now or datetime.now(UTC)).timestamp()
    stored = uow.session.scalar(select(RateLimit.hits).where(RateLimit.scope == scope,
                                                             RateLimit.key == key))
    return [t for t in _times(stored or "[]") if t > stamp - span]


def rate_limit_wait(uow: UnitOfWork, scope: str, key: str, *, limit: int,
                    window: float | timedelta, now: datetime | None = None) -> float | None:
    """What ``hit_rate_limit`` would answer for one more hit, without counting it: None if
    it would be allowed, else the seconds to wait. Reads only."""
    span = _span(window)
    if limit < 1:
        return span
    now = now or datetime.now(UTC)
    hits = rate_limit_hits(uow, scope, key, window=span, now=now)
    if len(hits) < limit:
        return None
    return max(hits[-limit] + span - now.timestamp(), 0.0)


def clear_rate_limit(uow: UnitOfWork, scope: str, key: str) -> bool:
    """Forget every hit of ``key`` in ``scope``; True if there were any. Does not commit."""
    result = uow.session.execute(delete(RateLimit).where(RateLimit.scope == scope,
                                                         RateLimit.key == key)
                                 .execution_options(synchronize_session=False))
    return bool(getattr(result, "rowcount", 0))


def _locked_row(uow: UnitOfWork, scope: str, key: str, now: datetime) -> tuple[int, str]:
    """The key's row, created if missing, locked until the transaction ends."""
    insert = (sqlite.insert if uow.is_sqlite else postgresql.insert)(RateLimit)
    for _attempt in range(3):  # a prune may delete the row between insert and lock
        uow.session.execute(insert.values(scope=scope, key=key, hits="[]", expires_at=now)
                            .on_conflict_do_nothing(index_elements=["scope", "key"]))
        found = uow.session.execute(
            select(RateLimit.id, RateLimit.hits)
            .where(RateLimit.scope == scope, RateLimit.key == key).with_for_update()).first()
        if found is not None:
            return found.id, found.hits
    raise ConcurrentUpdate("the rate limit's counter kept disappearing; try again")


def _times(stored: str) -> list[float]:
    try:
        values = json.loads(stored)
    except ValueError:
        return []
    return sorted(float(v) for v in values if isinstance(v, int | float)) \
        if isinstance(values, list) else []


def prune_rate_limits(uow: UnitOfWork, now: datetime | None = None,
                      batch: int = PRUNE_BATCH) -> int:
    """Delete up to ``batch`` rows whose hits have all left their window; on PostgreSQL
    rows another transaction holds are skipped, never waited for. Does not commit."""
    now = now or datetime.now(UTC)
    expired = select(RateLimit.id).where(RateLimit.expires_at <= now).limit(batch)
    if not uow.is_sqlite:
        expired = expired.with_for_update(skip_locked=True)
    result = uow.session.execute(delete(RateLimit).where(RateLimit.id.in_(expired))
                                 .execution_options(synchronize_session=False))
    return int(getattr(result, "rowcount", 0) or 0)
