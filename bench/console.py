"""Console benchmark: the administrator console's instance pages over 100,000 instances.

Seeds a migrated database (a temporary SQLite file, or ``--url``) with the demo city, the
engine tests' cycle (tests/fixtures/simple_cycle.bpmn) deployed in two versions, a few
hundred instances run through the engine for real (so their state, tasks, events and
variables are genuine), and then ``--instances`` in all by bulk-inserting copies of those:
the same workflow state under new ids, a realistic mix of statuses (waiting 80 %, completed
8 %, suspended 5 %, error 4 %, terminated 3 %), start dates over two years, the twelve units,
their open and completed tasks, events and variables, and 10,000 audit entries. Then it
times the console's pages through the Flask test client, signed in as ``admin``: the list
without and with filters (unit + status, a variable, the current step, overdue, the next
page), the instance page and its diagram JSON, the heatmap and its data, the audit page.
Prints median and 95th percentile per page (``--repeat`` runs each); the target is a median
under 300 ms.

Run:  PYTHONPATH=. .venv/bin/python bench/console.py [--instances N] [--repeat R] [--url URL]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

# Run as ``python bench/console.py``, bench/ comes first on sys.path and bench/engine.py
# would shadow the ``engine`` package: put the project root there instead.
_ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _ROOT / "bench"]
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

from sqlalchemy import func, insert, select

from engine import audit_chain
from engine.actors import Actor
from engine.db import make_engine
from engine.migrate import upgrade
from engine.models import Base, HumanTask, InstanceEvent, InstanceVariable, ProcessInstance
from engine.parsing import Source
from engine.programme.demo import DEFAULT_PASSWORD, DEMO_START, load_demo_city
from engine.programme.models import Unit
from engine.runtime import Runtime
from engine.services import console_list, deployment, instances, tasks
from engine.settings import PROJECT_ROOT, Settings

ADMIN = Actor("admin", frozenset(), is_admin=True)
CYCLE = PROJECT_ROOT / "tests" / "fixtures" / "simple_cycle.bpmn"
DMN = PROJECT_ROOT / "bpmn" / "post_grading.dmn"
ATTRIBUTES = ("principal_post", "approval_power", "enforcement_power", "key_resources",
              "livelihood", "general_economic", "social_affairs", "public_service")
CHUNK = 10_000


def _deploy(rt: Runtime, xml: str) -> int:
    with rt.uow() as uow:
        found = deployment.deploy(uow, [Source("simple_cycle.bpmn", xml.encode()),
                                      Source("post_grading.dmn", DMN.read_bytes())],
                                deployed_by="bench")
    return next(d.definition_id for d in found if d.process_id == "simple_cycle")


def _real_instances(rt: Runtime, units: list[str], count: int) -> list[int]:
    """Instances run by the engine: a third still at discovery, a third at review, a third
    in publicity (the timer)."""
    ids = []
    for n in range(count):
        data = {**{a: n % 7 == 0 for a in ATTRIBUTES}, "unit_code": units[n % len(units)],
                "year": 2011 + n % 2, "post_code": f"{units[n % len(units)]}-P{n:03d}"}
        with rt.uow() as uow:
            iid = instances.start_instance(uow, "simple_cycle", f"real-{n}", data,
                                          actor=ADMIN).id
        for step, payload in (("discovery", {"risks": [{
                "category": "duty", "description": "审批环节自由裁量权过大",
                "likelihood": "high", "harm": "disciplinary"}]}),
                              ("review", {"approved": True, "comment": "同意"})):
            if n % 3 == ("discovery", "review").index(step):
                break
            with rt.uow() as uow:
                task = uow.session.scalar(select(HumanTask).where(
                    HumanTask.instance_id == iid, HumanTask.state == "open"))
                assert task is not None
                tasks.complete_task(uow, task.id, ADMIN, payload)
        ids.append(iid)
    return ids


def _template(rt: Runtime, iid: int) -> dict[str, Any]:
    with rt.uow(write=False) as uow:
        instance = uow.session.get(ProcessInstance, iid)
        assert instance is not None
        return {
            "instance": instance,
            "tasks": list(uow.session.scalars(select(HumanTask)
                                              .where(HumanTask.instance_id == iid))),
            "events": list(uow.session.scalars(select(InstanceEvent)
                                               .where(InstanceEvent.instance_id == iid))),
            "variables": list(uow.session.scalars(select(InstanceVariable)
                                                  .where(InstanceVariable.instance_id == iid))),
        }


STATUSES = ["waiting"] * 80 + ["completed"] * 8 + ["suspended"] * 5 + ["error"] * 4 + \
    ["terminated"] * 3


def _insert_rows(uow: Any, rows: dict[str, list[dict[str, Any]]]) -> None:
    """Insert and empty ``rows``, parents first; events through their hash chain (linked
    when the unit of work commits)."""
    tables = Base.metadata.tables
    for name in ("process_instance", "task", "instance_event", "instance_variable"):
        if rows[name] and name == "instance_event":
            audit_chain.append(uow.session, tables[name], rows[name])
        elif rows[name]:
            uow.session.connection().execute(insert(tables[name]), rows[name])
        rows[name] = []


def _copies(rt: Runtime, templates: list[dict[str, Any]], first_id: int, count: int,
            units: list[str]) -> None:
    tables = Base.metadata.tables
    rng = random.Random(2011)
    start = DEMO_START.astimezone(UTC)
    rows: dict[str, list[dict[str, Any]]] = {"process_instance": [], "task": [],
                                             "instance_event": [], "instance_variable": []}

    def flush(conn: Any) -> None:
        _insert_rows(uow, rows)

    with rt.uow() as uow:
        conn = uow.session.connection()
        for n in range(count):
            iid = first_id + n
            t = templates[n % len(templates)]
            source: ProcessInstance = t["instance"]
            status = rng.choice(STATUSES)
            unit = units[n % len(units)]
            started = start - timedelta(days=rng.randrange(730), minutes=rng.randrange(1440))
            updated = started + timedelta(days=rng.randrange(60), minutes=rng.randrange(1440))
            rows["process_instance"].append({
                "id": iid, "definition_id": source.definition_id, "process_id": "simple_cycle",
                "business_key": f"{unit}-{n:06d}", "status": status,
                "suspended_from": "waiting" if status == "suspended" else None,
                "revision": 1, "state_format": source.state_format, "state": source.state,
                "started_at": started, "updated_at": updated,
                "completed_at": updated if status in ("completed", "terminated") else None,
                "started_by": "admin",
                "error_message": "division by zero" if status == "error" else None,
                "error_element": "grading" if status == "error" else None})
            for task in t["tasks"]:
                state = task.state
                if state == "open" and status in ("completed", "terminated"):
                    state = "completed" if status == "completed" else "cancelled"
                rows["task"].append({
                    "id": uuid.uuid4(), "instance_id": iid, "definition_id": task.definition_id,
                    "element_id": task.element_id, "name": task.name, "lane": task.lane,
                    "assignee": task.assignee, "state": state, "created_at": started,
                    "due_at": started + timedelta(days=10),
                    "completed_at": updated if state != "open" else None,
                    "completed_by": task.completed_by, "unit_code": unit,
                    "department_code": None, "post_code": None, "open_to_all": False})
            for event in t["events"]:
                rows["instance_event"].append({
                    "instance_id": iid, "at": started, "type": event.type, "actor": event.actor,
                    "task_id": None, "element_id": event.element_id, "data": event.data})
            for variable in t["variables"]:
                value = unit if variable.name == "unit_code" else variable.value
                rows["instance_variable"].append({"instance_id": iid, "name": variable.name,
                                                  "value": value})
            if len(rows["process_instance"]) >= CHUNK // 2:
                flush(conn)
        flush(conn)
        audit = [{"at": start + timedelta(minutes=k), "actor": "admin",
                  "action": rng.choice(["suspend", "resume", "set_variables", "migrate"]),
                  "target": f"instance:{first_id + k}", "instance_id": first_id + k,
                  "reason": "bench", "details": None} for k in range(10_000)]
        audit_chain.append(uow.session, tables["admin_audit"], audit)
        uow.commit()


def seed(url: str, total: int, real: int) -> tuple[int, int]:
    """Seed through a plain engine runtime (lanes resolve to groups by name: the cycle's
    posts need not exist in the demo city)."""
    rt = Runtime(Settings(database_url=url))
    load_demo_city(rt, say=None)
    xml = CYCLE.read_text(encoding="utf-8")
    v1 = _deploy(rt, xml)
    with rt.uow(write=False) as uow:
        units = list(uow.session.scalars(select(Unit.code).order_by(Unit.code)))
    ids = _real_instances(rt, units, real)
    templates = [_template(rt, i) for i in ids]
    _deploy(rt, xml.replace("严格审核把关", "严格审核把关(修订)"))
    with rt.uow(write=False) as uow:
        first = (uow.session.scalar(select(func.max(ProcessInstance.id))) or 0) + 1
    _copies(rt, templates, first, total - real, units)
    with rt.db.connect() as conn:  # planner statistics, as a live database keeps them
        conn.exec_driver_sql("ANALYZE")
        conn.commit()
    rt.close()
    return ids[len(ids) // 2], v1


def pages(instance_id: int, definition_id: int, next_after: str) -> list[tuple[str, str]]:
    return [
        ("list, no filter", "/console/instances"),
        ("list, unit + status", "/console/instances?unit=CZJ&status=waiting"),
        ("list, next page (keyset)", f"/console/instances?after={quote(next_after)}"),
        ("list, variable year=2012", "/console/instances?var_name=year&var_value=2012"),
        ("list, current step review", "/console/instances?step=review&process=simple_cycle"),
        ("list, overdue, started asc",
         "/console/instances?overdue=true&sort=started&dir=asc"),
        ("list, version 1 + key prefix", "/console/instances?process=simple_cycle&version=1"
                                         "&business_key=FGW-00"),
        ("list, started 2010-06", "/console/instances?started_from=2010-06-01"
                                  "&started_to=2010-06-30"),
        ("instance page", f"/console/instances/{instance_id}"),
        ("instance diagram JSON", f"/console/instances/{instance_id}/diagram"),
        ("heatmap page", f"/console/heatmap?definition={definition_id}"),
        ("heatmap data JSON", f"/console/heatmap/{definition_id}/data"),
        ("audit, no filter", "/console/audit"),
        ("audit, action + instance", f"/console/audit?action=suspend&instance={instance_id}"),
    ]


def run(app: Any, instance_id: int, definition_id: int, repeat: int) -> None:
    client = app.test_client()
    response = client.post("/login", data={"username": "admin", "password": DEFAULT_PASSWORD})
    assert response.status_code == 302, response.status_code
    with app.extensions["irpm"].uow(write=False) as uow:
        first = console_list.list_console_instances(uow, console_list.InstanceQuery())
    assert first.next_after is not None
    print(f"{'page':32} {'status':>6} {'median ms':>10} {'p95 ms':>8}")
    for label, url in pages(instance_id, definition_id, first.next_after):
        times = []
        for _ in range(repeat):
            begin = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - begin) * 1000)
            assert response.status_code == 200, (url, response.status_code)
        times.sort()
        p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
        print(f"{label:32} {response.status_code:>6} {statistics.median(times):>10.1f} "
              f"{p95:>8.1f}")


def _seeded(url: str) -> tuple[int, int]:
    """The instance and definition a previous run timed (a real instance, version 1)."""
    rt = Runtime(Settings(database_url=url))
    with rt.uow(write=False) as uow:
        real = list(uow.session.scalars(select(ProcessInstance.id).where(
            ProcessInstance.business_key.like("real-%")).order_by(ProcessInstance.id)))
        definition = deployment.find_definition(uow, "simple_cycle", 1).id
    rt.close()
    return real[len(real) // 2], definition


def _profile(app: Any, path: str) -> None:
    import cProfile
    import pstats
    client = app.test_client()
    client.post("/login", data={"username": "admin", "password": DEFAULT_PASSWORD})
    client.get(path)
    profiler = cProfile.Profile()
    profiler.runcall(client.get, path)
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--instances", type=int, default=100_000)
    parser.add_argument("--real", type=int, default=300,
                        help="instances run through the engine (the rest are copies)")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--url", help="a database URL (default: a temporary SQLite file)")
    parser.add_argument("--profile", help="profile this page (a path) once, after seeding")
    parser.add_argument("--reuse", action="store_true",
                        help="the --url database is already seeded: only time the pages")
    args = parser.parse_args()
    from web import create_app
    with tempfile.TemporaryDirectory() as tmp:
        url = args.url or f"sqlite:///{Path(tmp) / 'console.db'}"
        begin = time.perf_counter()
        if args.reuse:
            instance_id, definition_id = _seeded(url)
        else:
            engine = make_engine(url)
            upgrade(engine)
            engine.dispose()
            instance_id, definition_id = seed(url, args.instances, args.real)
        app = create_app({"TESTING": True, "SECRET_KEY": "bench", "WTF_CSRF_ENABLED": False,
                          "IRPM_SETTINGS": Settings(database_url=url)})
        what = "reused the seeded database" if args.reuse else \
            f"seeded {args.instances:,} instances in {time.perf_counter() - begin:.1f} s"
        print(f"{what} ({app.extensions['irpm'].db.dialect.name})")
        if args.profile:
            _profile(app, args.profile)
        run(app, instance_id, definition_id, args.repeat)
        app.extensions["irpm"].close()


if __name__ == "__main__":
    main()
