"""Inbox benchmark: ``engine.services.inbox`` pages over a large task table.

Seeds a migrated database (SQLite file, or ``--url`` for PostgreSQL) with the demo city and
``--tasks`` open tasks (default 100,000), spread over the city's posts — one instance per
``--per-instance`` tasks, each task a candidate of its post's group, a tenth of them
claimed, due dates spread around the simulated clock — then times inbox pages (the query
plus its capped count) for a post holder and for an administrator's 全部任务, with filters,
search and sorting. Prints the median and the slowest of ``--repeat`` runs per page.

Run:  PYTHONPATH=. .venv/bin/python bench/inbox.py [--tasks N] [--repeat R] [--url URL]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any

# Run as ``python bench/inbox.py``, bench/ comes first on sys.path and bench/engine.py would
# shadow the ``engine`` package: put the project root there instead.
_ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _ROOT / "bench"]
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

from sqlalchemy import insert, select  # noqa: E402

from engine import services  # noqa: E402
from engine.db import make_engine  # noqa: E402
from engine.demo import DEMO_START, load_demo_city  # noqa: E402
from engine.migrate import upgrade  # noqa: E402
from engine.models import Base, Department, Post, ProcessDefinition, Unit  # noqa: E402
from engine.runtime import Runtime  # noqa: E402
from engine.services import TaskFilter  # noqa: E402
from engine.settings import Settings  # noqa: E402

HOLDER = "czj-0011"


def seed(rt: Runtime, tasks: int, per_instance: int) -> None:
    load_demo_city(rt, say=None)
    now = DEMO_START.astimezone(UTC)
    with rt.uow() as uow:
        posts = uow.session.execute(
            select(Post.code, Department.code, Unit.code).join(Post.department)
            .join(Department.unit).order_by(Post.code)).all()
        definition = ProcessDefinition(process_id="post_cycle", version=1,
                                       name="岗位廉政风险防控年度循环", content_hash="bench",
                                       spec=b"", catalog={}, deployed_at=now,
                                       deployed_by="bench")
        uow.session.add(definition)
        uow.session.flush()
        conn = uow.session.connection()
        tables = Base.metadata.tables
        instances = []
        for i in range(0, tasks, per_instance):
            instances.append({"id": i // per_instance + 1, "definition_id": definition.id,
                              "process_id": "post_cycle", "business_key": f"bench-{i}",
                              "status": "waiting", "revision": 1, "state_format": 1,
                              "state": b"", "started_at": now, "updated_at": now,
                              "started_by": "admin"})
        conn.execute(insert(tables["process_instance"]), instances)
        rows, candidates = [], []
        for i in range(tasks):
            post, dept, unit = posts[i % len(posts)]
            tid = uuid.uuid4()
            rows.append({"id": tid, "instance_id": i // per_instance + 1,
                         "definition_id": definition.id, "element_id": "self_identified",
                         "name": "自己找" if i % 3 else "严格审核把关", "lane": "post_holder",
                         "assignee": None if i % 10 else "admin", "state": "open",
                         "created_at": now - timedelta(minutes=i % 5000),
                         "due_at": now + timedelta(hours=(i % 2000) - 500),
                         "unit_code": unit, "department_code": dept, "post_code": post})
            candidates.append({"task_id": tid, "kind": "group", "name": f"post:{post}"})
            if len(rows) == 10_000:
                conn.execute(insert(tables["task"]), rows)
                conn.execute(insert(tables["task_candidate"]), candidates)
                rows, candidates = [], []
        if rows:
            conn.execute(insert(tables["task"]), rows)
            conn.execute(insert(tables["task_candidate"]), candidates)
        uow.commit()
    with rt.db.connect() as conn:  # planner statistics, as a live database keeps them
        conn.exec_driver_sql("ANALYZE")
        conn.commit()


PAGES: list[tuple[str, str, dict[str, Any]]] = [
    ("holder: 待认领", HOLDER, {"view": "claimable"}),
    ("holder: 我的待办", HOLDER, {"view": "mine"}),
    ("admin: 全部任务 (due asc)", "admin", {"view": "all"}),
    ("admin: 全部任务 page 200", "admin", {"view": "all", "offset": 199 * 25}),
    ("admin: unit CZJ, overdue", "admin", {"view": "all", "unit_code": "CZJ", "due": "overdue"}),
    ("admin: search 审核", "admin", {"view": "all", "search": "审核"}),
    ("admin: sort by process desc", "admin", {"view": "all", "sort": "process",
                                              "descending": True}),
    ("admin: 我的待办", "admin", {"view": "mine"}),
]


def run(rt: Runtime, repeat: int) -> None:
    with rt.uow(write=False) as uow:
        actors = {u: services.actor_for(uow, u) for u in (HOLDER, "admin")}
    print(f"{'page':34} {'rows':>5} {'total':>7} {'median ms':>10} {'max ms':>8}")
    for label, user, params in PAGES:
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            with rt.uow(write=False) as uow:
                page = services.inbox(uow, actors[user], TaskFilter(limit=25, **params))
            times.append((time.perf_counter() - start) * 1000)
        total = f"{page.total}{'+' if page.capped else ''}"
        print(f"{label:34} {len(page.rows):>5} {total:>7} {statistics.median(times):>10.1f} "
              f"{max(times):>8.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--per-instance", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--url", help="a database URL (default: a temporary SQLite file)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.url or f"sqlite:///{Path(tmp) / 'inbox.db'}"
        engine = make_engine(url)
        upgrade(engine)
        rt = Runtime(Settings(database_url=url), db_engine=engine)
        start = time.perf_counter()
        seed(rt, args.tasks, args.per_instance)
        print(f"seeded {args.tasks:,} open tasks in {time.perf_counter() - start:.1f} s "
              f"({engine.dialect.name})")
        run(rt, args.repeat)
        rt.close()


if __name__ == "__main__":
    main()
