"""Dashboard benchmark: ``/console/dashboard`` on a city-sized database, through the Flask
test client (the whole request: session, figures, template).

Seeds a migrated database (SQLite file, or ``--url`` for PostgreSQL) with ``--units`` units of
10 departments and ``--posts-per-department`` posts each (default 200 × 10 × 50 = 100,000
posts), one ``post_cycle`` instance per post with one open task (due dates spread around the
simulated clock: overdue, due soon, later), the risk register for every post (two risk
points each, and one per department and unit), gradings for 70 % of the posts (half of those
published), a unit assessment for half of the units, and a 2011 campaign with its first
milestone checked. Then signs in as ``admin`` and prints the median and 95th percentile of
``--repeat`` requests of the dashboard page and of its JSON, after a first (cold) request
that reads the register's grouped rows the later ones reuse while the register is unchanged.

Run:  PYTHONPATH=. .venv/bin/python bench/dashboard.py [--units N] [--repeat R] [--url URL]
      [--no-cache]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

# Run as ``python bench/dashboard.py``, bench/ comes first on sys.path and bench/engine.py
# would shadow the ``engine`` package: put the project root there instead.
_ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _ROOT / "bench"]
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

from sqlalchemy import insert
from sqlalchemy.orm import Session

from engine import audit_chain
from engine.db import make_engine
from engine.migrate import upgrade
from engine.models import Base
from engine.programme.services import organisation
from engine.programme.services.dashboard_register import RegisterCache
from engine.runtime import Runtime
from engine.services import clock
from engine.settings import Settings
from web import create_app
from web.dashboard import CACHE

CHINA = timezone(timedelta(hours=8))
NOW = datetime(2011, 3, 1, 9, 0, tzinfo=CHINA).astimezone(UTC)
PASSWORD = "bench-dashboard-1"
DEPARTMENTS = 10
CATEGORIES = ("duty", "process", "institutional", "external")
#: (likelihood, harm, level) — as bpmn/risk_grading.dmn grades them.
RISKS = (("high", "minor", 1), ("fairly_high", "minor", 2), ("low", "minor", 3),
         ("low", "disciplinary", 2))
BATCH = 10_000


class Seeder:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.tables = Base.metadata.tables
        self.pending: dict[str, list[dict[str, Any]]] = {}

    def add(self, table: str, row: dict[str, Any]) -> None:
        rows = self.pending.setdefault(table, [])
        rows.append(row)
        if len(rows) >= BATCH:
            self.flush()

    def flush(self) -> None:
        """Every pending row, parents first (the foreign keys are checked); the audit
        chains' rows through their one way in, linked when the transaction commits."""
        for name in [t.name for t in Base.metadata.sorted_tables]:
            if self.pending.get(name):
                if "row_hash" in self.tables[name].c:
                    audit_chain.append(self.session, self.tables[name], self.pending[name])
                else:
                    self.session.connection().execute(insert(self.tables[name]),
                                                      self.pending[name])
                self.pending[name] = []


def _risk(n: int, year: int, **tier: int) -> dict[str, Any]:
    likelihood, harm, level = RISKS[n % len(RISKS)]
    return {"unit_id": None, "department_id": None, "post_id": None, **tier, "year": year,
            "category": CATEGORIES[n % 4], "description": f"风险 {n}",
            "found_by": "self_identified", "likelihood": likelihood, "harm": harm,
            "level": level, "status": "identified", "created_at": NOW, "created_by": "bench"}


def seed(rt: Runtime, units: int, posts_per_department: int) -> int:
    """The city; returns how many posts it has."""
    with rt.uow() as uow:
        clock.set_clock(uow, NOW)
        uow.commit()
        organisation.save_account(uow, "admin", password=PASSWORD, roles={"admin"})
        uow.commit()
    with rt.uow() as uow:
        s = Seeder(uow.session)
        s.add("process_definition", {
            "id": 1, "process_id": "post_cycle", "version": 1, "name": "岗位廉政风险防控年度循环",
            "content_hash": "bench", "spec": b"", "catalog": {}, "deployed_at": NOW,
            "deployed_by": "bench"})
        s.flush()
        post_id = instance_id = point = 0
        for u in range(1, units + 1):
            code = f"U{u:03d}"
            s.add("unit", {"id": u, "code": code, "name": f"单位{u:03d}"})
            s.add("risk_point", _risk(u, 2011, unit_id=u))
            for d in range(DEPARTMENTS):
                dept_id = (u - 1) * DEPARTMENTS + d + 1
                dept = f"{code}-D{d:02d}"
                s.add("department", {"id": dept_id, "code": dept, "unit_id": u,
                                     "name": f"内设机构{d:02d}"})
                s.add("risk_point", _risk(dept_id, 2011, department_id=dept_id))
                for p in range(posts_per_department):
                    post_id += 1
                    post = f"{dept}-{p:03d}"
                    s.add("post", {"id": post_id, "code": post, "department_id": dept_id,
                                   "name": f"岗位{p:03d}", "approval_power": p % 7 == 0})
                    for _ in range(2):
                        point += 1
                        s.add("risk_point", _risk(point, 2011, post_id=post_id))
                    if post_id % 10 < 7:  # 70 % graded, half of them published
                        level = RISKS[post_id % len(RISKS)][2]
                        s.add("post_grading", {
                            "post_id": post_id, "year": 2011, "rule_level": 3,
                            "risk_level": level, "level": level,
                            "responsible_role": "department_head",
                            "direct_manager_role": "department_head",
                            "graded_at": NOW - timedelta(days=post_id % 90),
                            "graded_by": "bench",
                            "published_at": NOW if post_id % 2 else None})
                    instance_id += 1
                    s.add("process_instance", {
                        "id": instance_id, "definition_id": 1, "process_id": "post_cycle",
                        "business_key": post, "status": "waiting", "revision": 1,
                        "state_format": 1, "state": b"", "started_at": NOW,
                        "updated_at": NOW, "started_by": "admin"})
                    s.add("task", {
                        "id": uuid.uuid4(), "instance_id": instance_id, "definition_id": 1,
                        "element_id": "self_identified", "name": "自己找",
                        "lane": "post_holder", "assignee": None, "state": "open",
                        "created_at": NOW, "due_at": NOW + timedelta(hours=post_id % 500 - 100),
                        "unit_code": code, "department_code": dept, "post_code": post,
                        "open_to_all": False})
            if u % 2:  # half of the units assessed
                instance_id += 1
                s.add("process_instance", {
                    "id": instance_id, "definition_id": 1, "process_id": "unit_cycle",
                    "business_key": f"unit_cycle:{code}:2011", "status": "waiting",
                    "revision": 1, "state_format": 1, "state": b"", "started_at": NOW,
                    "updated_at": NOW, "started_by": "admin"})
                s.add("instance_event", {
                    "instance_id": instance_id, "at": NOW, "type": "task_completed",
                    "element_id": "unit_assessment", "data": {
                        "score_information_monitoring": 60 + u % 40, "score_self_check": 80,
                        "score_superior_inspection": 75, "score_social_evaluation": 90}})
        instance_id += 1
        s.flush()
        s.add("process_instance", {
            "id": instance_id, "definition_id": 1, "process_id": "campaign",
            "business_key": "campaign-2011", "status": "waiting", "revision": 1,
            "state_format": 1, "state": b"", "started_at": NOW, "updated_at": NOW,
            "started_by": "admin"})
        for kind, element, data in [
                ("started", None, {"data": {"year": 2011, "units": []}}),
                ("timer_fired", "milestone_launch", {}),
                ("task_completed", "checkpoint_launch", {"launch_met": True})]:
            s.add("instance_event", {"instance_id": instance_id, "at": NOW, "type": kind,
                                     "element_id": element, "data": data})
        s.flush()
        uow.commit()
    if rt.db.dialect.name == "postgresql":  # identity columns were given explicit values
        with rt.db.begin() as conn:
            for table in ("unit", "department", "post", "process_instance"):
                conn.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))")
    with rt.db.connect() as conn:  # planner statistics, as a live database keeps them
        conn.exec_driver_sql("ANALYZE")
        conn.commit()
    return post_id


def timed(client: Any, url: str, repeat: int) -> tuple[float, float, float, int]:
    """Median and 95th percentile of the wall time, and the median CPU time of this process
    (on SQLite all the work is in-process: a fairer figure on a machine others share)."""
    times, cpu = [], []
    size = 0
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        response = client.get(url)
        times.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
        assert response.status_code == 200, (url, response.status_code)
        size = len(response.data)
    times.sort()
    p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
    return statistics.median(times), p95, statistics.median(cpu), size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--units", type=int, default=200)
    parser.add_argument("--posts-per-department", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=21)
    parser.add_argument("--url", help="a database URL (default: a temporary SQLite file)")
    parser.add_argument("--no-cache", action="store_true",
                        help="read the register's rows on every request (no reuse)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.url or f"sqlite:///{Path(tmp) / 'dashboard.db'}"
        engine = make_engine(url)
        upgrade(engine)
        settings = Settings(database_url=url)
        rt = Runtime(settings, db_engine=engine)
        start = time.perf_counter()
        posts = seed(rt, args.units, args.posts_per_department)
        print(f"seeded {args.units} units, {posts:,} posts, {posts:,} instances and open "
              f"tasks, {2 * posts:,} post risk points in {time.perf_counter() - start:.1f} s "
              f"({engine.dialect.name})")
        rt.close()
        app = create_app({"TESTING": True, "IRPM_SETTINGS": settings,
                          "SECRET_KEY": "bench", "WTF_CSRF_ENABLED": False})
        if args.no_cache:  # a cache that keeps nothing: every request reads the register
            app.extensions[CACHE] = RegisterCache(size=0)
        client = app.test_client()
        client.post("/login", data={"username": "admin", "password": PASSWORD})
        start = time.perf_counter()  # the first request fills the caches (templates, the
        client.get("/console/dashboard")  # translations, the register's grouped rows)
        print(f"first request: {(time.perf_counter() - start) * 1000:.1f} ms (cold)")
        print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        print(f"{'page':28} {'median ms':>10} {'p95 ms':>8} {'cpu ms':>8} {'bytes':>9}")
        for url_ in ("/console/dashboard", "/console/dashboard/data"):
            median, p95, cpu, size = timed(client, url_, args.repeat)
            print(f"{url_:28} {median:>10.1f} {p95:>8.1f} {cpu:>8.1f} {size:>9,}")
        app.extensions["irpm"].close()
        engine.dispose()


if __name__ == "__main__":
    main()
