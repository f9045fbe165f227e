"""Audit chain benchmark: what linking costs per appended row, and how fast ``irpm audit
verify`` walks a long chain.

Appends ``--rows`` instance events (default 100,000) in transactions of ``--per-commit``
(default 10, about what one step writes) twice, each into a fresh migrated database: once
through ``engine.audit_chain.append`` (queued, linked under the head's lock at commit), once
as plain Core INSERTs of the same rows with made-up link values (what an event cost before
the chain). Prints both per row and per commit, the difference, the time ``link`` alone
takes per row, then the time ``verify_chains`` takes on the chained database.

Run:  PYTHONPATH=. .venv/bin/python bench/audit_chain.py [--rows N] [--per-commit K] [--url URL]
      (``--url`` a PostgreSQL database to use twice: it is emptied with ``DROP SCHEMA``)
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

_ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _ROOT / "bench"]
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

from sqlalchemy import insert

from engine import audit_chain
from engine.db import make_engine
from engine.migrate import upgrade
from engine.models import Base
from engine.runtime import Runtime
from engine.services.audit_verify import verify_chains
from engine.settings import Settings

EVENTS = Base.metadata.tables["instance_event"]
START = datetime(2011, 1, 4, 1, 0, tzinfo=UTC)


def fresh(url: str) -> Runtime:
    engine = make_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    upgrade(engine)
    engine.dispose()
    rt = Runtime(Settings(database_url=url))
    with rt.uow() as uow:
        conn = uow.session.connection()
        conn.execute(insert(Base.metadata.tables["process_definition"]).values(
            id=1, process_id="bench", version=1, name="bench", content_hash="x" * 64,
            spec=b"", catalog={}, deployed_at=START, deployed_by="bench"))
        conn.execute(insert(Base.metadata.tables["process_instance"]).values(
            id=1, definition_id=1, process_id="bench", status="waiting", revision=1,
            state_format=1, state=b"", started_at=START, updated_at=START))
        uow.commit()
    return rt


def event(n: int) -> dict[str, Any]:
    return {"instance_id": 1, "at": START + timedelta(seconds=n), "type": "task_completed",
            "actor": f"czj-{n % 97:04d}", "task_id": None, "element_id": "self_identified",
            "data": {"users": [f"czj-{n % 97:04d}"], "groups": ["post:CZJ-BGS-03"],
                     "due_at": "2011-01-14T09:00:00+08:00"}}


def run(rt: Runtime, rows: int, per_commit: int, chained: bool) -> tuple[float, float]:
    """Wall and CPU seconds (on SQLite all the work is in this process: CPU time is the
    fairer figure on a shared machine)."""
    started, started_cpu = time.perf_counter(), time.process_time()
    for first in range(0, rows, per_commit):
        batch = [event(n) for n in range(first, min(rows, first + per_commit))]
        with rt.uow() as uow:
            if chained:
                audit_chain.append(uow.session, EVENTS, batch)
            else:
                uow.session.connection().execute(insert(EVENTS), [
                    {**e, "chain_seq": first + k + 1, "prev_hash": "0" * 64,
                     "row_hash": "0" * 64} for k, e in enumerate(batch)])
            uow.commit()
    return time.perf_counter() - started, time.process_time() - started_cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--per-commit", type=int, default=10)
    parser.add_argument("--url", help="a PostgreSQL database (default: SQLite files)")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="irpm-chain-"))
    commits = -(-args.rows // args.per_commit)
    timings: dict[bool, tuple[float, float]] = {}
    for chained in (False, True):
        url = args.url or f"sqlite:///{workdir / ('chained' if chained else 'plain')}.db"
        rt = fresh(url)
        try:
            timings[chained] = run(rt, args.rows, args.per_commit, chained)
            if chained:
                started = time.perf_counter()
                with rt.uow(write=False) as uow:
                    [report] = [r for r in verify_chains(uow) if r.chain == "instance_event"]
                verify_seconds = time.perf_counter() - started
        finally:
            rt.close()
    sample = [event(n) for n in range(10_000)]
    columns = audit_chain.layout(EVENTS).columns
    started = time.perf_counter()
    for n, row in enumerate(sample):
        audit_chain.link("instance_event", n + 1, "0" * 64, row, columns)
    link_us = (time.perf_counter() - started) / len(sample) * 1e6
    print(f"database: {'PostgreSQL' if args.url else 'SQLite'}; {args.rows:,} events in "
          f"{commits:,} commits of {args.per_commit}")
    plain, chain = timings[False], timings[True]
    for label, (wall, cpu) in (("plain INSERT", plain), ("audit chain", chain),
                               ("chain cost", (chain[0] - plain[0], chain[1] - plain[1]))):
        print(f"  {label:13s} wall {wall:6.2f} s {wall / args.rows * 1e6:6.1f} µs/row "
              f"{wall / commits * 1e3:6.3f} ms/commit | CPU {cpu:6.2f} s "
              f"{cpu / args.rows * 1e6:6.1f} µs/row {cpu / commits * 1e3:6.3f} ms/commit")
    print(f"  link alone: {link_us:.1f} µs/row")
    print(f"verify: {report.rows:,} links in {verify_seconds:.2f} s "
          f"({report.rows / verify_seconds:,.0f} rows/s), broken: {report.broken}")


if __name__ == "__main__":
    main()
