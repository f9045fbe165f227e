"""Engine benchmark: the post cycle in raw SpiffWorkflow versus through IRPM's services.

One run, one machine, three measurements of the same workload:

* ``raw (sandbox)``  SpiffWorkflow in memory, no persistence, with the script engine IRPM
  uses (``engine.scripting.create_script_engine()``) — the same engine work IRPM does;
* ``raw (stock)``    the same with SpiffWorkflow's default ``PythonScriptEngine`` (reference);
* ``irpm``           the same cycle through ``engine.services`` on a migrated SQLite file, one
  transaction per service call.

The workload is ``bpmn/post_cycle.bpmn`` + ``bpmn/post_grading.dmn``: start → discovery →
DMN grading → review → publicity timer (fired by moving a clock 8 days) → prevention and
monitoring_report in parallel → assessment → end; every 4th instance fails its first
assessment and goes through correction and assessment once more. Start data rotates over
three DMN outcomes (level 1, 2, 3).

Run:  cd /work/main && PYTHONPATH=. .venv/bin/python bench/engine.py [--instances N]
      [--repeat R] [--json] [--profile [N]]
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import json
import pstats
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

# Run as ``python bench/engine.py``, this file's directory comes first on sys.path and the
# file itself would shadow the ``engine`` package: put the project root there instead.
_ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _ROOT / "bench"]
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine  # noqa: E402
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow  # noqa: E402
from SpiffWorkflow.spiff.parser import VALIDATOR, SpiffBpmnParser  # noqa: E402
from SpiffWorkflow.util.task import TaskState as SpiffState  # noqa: E402
from sqlalchemy import and_, bindparam, select, text  # noqa: E402

from engine import services  # noqa: E402
from engine.actors import Actor  # noqa: E402
from engine.clock import FrozenClock, bind_clock, install_spiff_clock  # noqa: E402
from engine.db import make_engine  # noqa: E402
from engine.migrate import upgrade  # noqa: E402
from engine.models import (  # noqa: E402
    HumanTask,
    InstanceEvent,
    InstanceStatus,
    PendingTimer,
    ProcessInstance,
    TaskCandidate,
    TaskState,
)
from engine.parsing import read_sources  # noqa: E402
from engine.runtime import Runtime  # noqa: E402
from engine.scripting import create_script_engine  # noqa: E402
from engine.settings import PROJECT_ROOT, Settings  # noqa: E402

PROCESS_ID = "post_cycle"
BPMN_DIR = PROJECT_ROOT / "bpmn"
#: The simulated clock starts here; each instance's timer is fired 8 days after it was set.
T0 = datetime(2011, 1, 4, 1, 0, tzinfo=UTC)
TIMER_JUMP = timedelta(days=8)  # the publicity timer is P7D
WARMUP_INSTANCES = 8            # covers every path (start-data rotation x correction loop)
TARGET_RATIO = 0.5
TARGET_BYTES = 8 * 1024

ACTORS = {
    "post_holder": Actor("zhangsan", frozenset({"post_holder"})),
    "department_head": Actor("lisi", frozenset({"department_head"})),
    "discipline_officer": Actor("wangwu", frozenset({"discipline_officer"})),
}
_FLAGS = ("principal_post", "approval_power", "enforcement_power", "key_resources",
          "livelihood", "general_economic", "social_affairs", "public_service")


# --------------------------------------------------------------------------- workload


def start_data(i: int) -> dict[str, bool]:
    """Rotate over three DMN outcomes: rule 1 (level 1), rule 6 (level 2), rule 9 (level 3)."""
    data = dict.fromkeys(_FLAGS, False)
    if i % 3 == 0:
        data["principal_post"] = True
    elif i % 3 == 1:
        data["general_economic"] = True
    return data


def takes_correction(i: int) -> bool:
    return i % 4 == 3


def form_data(element: str, i: int, assessments_done: int) -> dict[str, Any]:
    """What the user submits for ``element``; built fresh each time (the engine may keep it)."""
    if element == "discovery":
        return {"risks": [{"category": "duty",
                           "description": "审批环节自由裁量权过大,可能出现优亲厚友"}]}
    if element == "review":
        return {"approved": True}
    if element == "prevention":
        return {"measures": "细化自由裁量权标准,审批流程固化于信息系统"}
    if element == "monitoring_report":
        return {"report": "本季度未发现苗头性、倾向性问题"}
    if element == "assessment":
        return {"score": 40 if takes_correction(i) and assessments_done == 0 else 80}
    if element == "correction":
        return {"actions": "完善工作措施,重新组织自查"}
    raise RuntimeError(f"the bench has no form data for task '{element}'")


@dataclass
class RunResult:
    label: str
    instances: int
    seconds: float
    actions: int          # engine actions: start + one per user task + one per timer firing
    transactions: int = 0  # IRPM only: write transactions (service calls that commit)
    lookup_seconds: float = 0.0  # IRPM only: time spent finding the next task (counted)
    latencies: list[float] = field(default_factory=list)  # IRPM only: complete_task calls
    first_id: int = 0
    last_id: int = 0

    @property
    def rate(self) -> float:
        return self.instances / self.seconds


# --------------------------------------------------------------------------- raw engine


def parse_raw() -> tuple[Any, dict[str, Any]]:
    """Parse BPMN + DMN once, with XSD validation, as a fresh parser (DMN before get_spec)."""
    parser = SpiffBpmnParser(validator=VALIDATOR)
    sources = read_sources([BPMN_DIR])
    for source in sorted(sources, key=lambda s: s.kind != "dmn"):
        if source.kind == "dmn":
            parser.add_dmn_str(source.content, filename=source.filename)
        else:
            parser.add_bpmn_str(source.content, filename=source.filename)
    return parser.get_spec(PROCESS_ID), parser.get_subprocess_specs(PROCESS_ID)


def raw_instance(spec: Any, subprocess_specs: dict[str, Any], script_engine: Any,
                 i: int) -> tuple[BpmnWorkflow, int]:
    """Instance ``i`` from start to end in memory; returns the workflow and its engine actions.

    The clock is bound around every engine call, as IRPM's ``run_engine`` and
    ``run_human_task`` do; the timer fires when the clock is moved 8 days on.
    """
    now = T0
    wf = BpmnWorkflow(spec, subprocess_specs, script_engine=script_engine)
    with bind_clock(FrozenClock(now)):
        for task in wf.get_tasks(state=SpiffState.READY):
            task.data.update(start_data(i))
        wf.do_engine_steps()
    actions = 1
    assessments = 0
    while not wf.is_completed():
        if actions > 50:
            raise RuntimeError(f"raw instance {i} is stuck")
        ready = wf.get_tasks(state=SpiffState.READY, manual=True)
        if ready:
            task = ready[0]
            element = task.task_spec.name
            data = form_data(element, i, assessments)
            with bind_clock(FrozenClock(now)):
                task.set_data(**data)
                task.run()
                wf.do_engine_steps()
            assessments += element == "assessment"
        else:
            now += TIMER_JUMP
            with bind_clock(FrozenClock(now)):
                wf.refresh_timers()
                wf.do_engine_steps()
        actions += 1
    return wf, actions


def run_raw(label: str, spec: Any, subprocess_specs: dict[str, Any], script_engine: Any,
            n: int, offset: int = 0) -> RunResult:
    """n instances, one after the other, nothing persisted."""
    actions = 0
    gc.collect()
    began = time.perf_counter()
    for k in range(n):
        actions += raw_instance(spec, subprocess_specs, script_engine, offset + k)[1]
    return RunResult(label, n, time.perf_counter() - began, actions)


def expected_outcome(i: int) -> dict[str, Any]:
    """What every instance must end with, whichever way it is run."""
    return {"post_level": (1, 2, 3)[i % 3], "score": 80, "approved": True}


def check_outcome(label: str, i: int, data: dict[str, Any]) -> None:
    want = expected_outcome(i)
    got = {k: data.get(k) for k in want}
    if got != want:
        raise RuntimeError(f"{label}: instance {i} ended with {got}, expected {want}")


# --------------------------------------------------------------------------- IRPM


@dataclass
class Irpm:
    rt: Runtime
    db_path: Path
    sim_now: datetime = T0


def setup_irpm(tmp: Path) -> Irpm:
    db_path = tmp / "irpm.db"
    url = f"sqlite:///{db_path}"
    db = make_engine(url)
    upgrade(db)
    rt = Runtime(Settings(database_url=url), db_engine=db)
    with rt.uow() as uow:
        services.set_clock(uow, T0)
    with rt.uow() as uow:
        services.deploy(uow, read_sources([BPMN_DIR]), deployed_by="bench")
    return Irpm(rt, db_path)


#: The instance's status and its oldest open task (id, element, lane): one indexed read of
#: the task mirror, no workflow deserialized.
_NEXT_STEP = (
    select(ProcessInstance.status, HumanTask.id, HumanTask.element_id, HumanTask.lane)
    .outerjoin(HumanTask, and_(HumanTask.instance_id == ProcessInstance.id,
                               HumanTask.state == TaskState.OPEN))
    .where(ProcessInstance.id == bindparam("instance_id"))
    .order_by(HumanTask.created_at).limit(1))


def _next_step(irpm: Irpm, instance_id: int) -> tuple[str, Any]:
    """The cheapest honest way to learn what to do next: a pooled Core connection and one
    cached SELECT (≈0.1 ms; an ORM read unit of work costs ≈0.3 ms)."""
    with irpm.rt.db.connect() as conn:
        row = conn.execute(_NEXT_STEP, {"instance_id": instance_id}).one()
    return row[0], row[1:] if row[1] is not None else None


def run_irpm(irpm: Irpm, n: int, offset: int = 0, label: str = "irpm") -> RunResult:
    """n instances through the public services, each call its own committed transaction.

    COUNTED (inside the timed loop): every service call with its unit of work (session,
    BEGIN IMMEDIATE, commit) — start_instance, complete_task, set_clock, fire_due_timers —
    plus one read-only indexed SELECT per step to find the instance's next open task and its
    status (``_next_step``, on a pooled Core connection — what the cheapest inbox query or a
    client polling its instance costs; its share is printed, and the rate without it).
    NOT counted: building the form payloads (small dicts) and picking the Actor for the
    task's lane (a dict lookup).

    The timer: the simulated clock is moved 8 days past the instance's P7D publicity timer
    with ``services.set_clock`` (own transaction, as a scheduler or admin would), then
    ``services.fire_due_timers`` fires exactly the due instance (own transaction).
    """
    rt = irpm.rt
    actions = transactions = 0
    lookup = 0.0
    latencies: list[float] = []
    first_id = last_id = 0
    gc.collect()
    clock = time.perf_counter
    began = clock()
    for k in range(n):
        i = offset + k
        with rt.uow() as uow:
            instance = services.start_instance(uow, PROCESS_ID, business_key=f"bench-{i}",
                                               data=start_data(i), actor=ACTORS["post_holder"])
        instance_id = instance.id
        first_id = first_id or instance_id
        last_id = instance_id
        actions += 1
        transactions += 1
        assessments = 0
        while True:
            t = clock()
            status, task = _next_step(irpm, instance_id)
            lookup += clock() - t
            if task is not None:
                task_id, element, lane = task
                data = form_data(element, i, assessments)
                t = clock()
                with rt.uow() as uow:
                    services.complete_task(uow, task_id, ACTORS[lane], data)
                latencies.append(clock() - t)
                assessments += element == "assessment"
            elif status == InstanceStatus.COMPLETED:
                break
            elif status == InstanceStatus.WAITING:
                irpm.sim_now += TIMER_JUMP
                with rt.uow() as uow:
                    services.set_clock(uow, irpm.sim_now)
                with rt.uow() as uow:
                    fired = services.fire_due_timers(uow)
                if fired != 1:
                    raise RuntimeError(f"instance {instance_id}: {fired} timers fired, not 1")
                transactions += 1
            else:
                raise RuntimeError(f"instance {instance_id} is {status}")
            actions += 1
            transactions += 1
    return RunResult(label, n, clock() - began, actions, transactions, lookup, latencies,
                     first_id, last_id)


def check_irpm(irpm: Irpm, run: RunResult, offset: int) -> None:
    """The first instances of a timed run ended completed, with the model's outcome."""
    with irpm.rt.uow(write=False) as uow:
        for k in range(min(12, run.instances)):
            instance_id = run.first_id + k
            status = services.get_instance(uow, instance_id).status
            if status != InstanceStatus.COMPLETED:
                raise RuntimeError(f"irpm: instance {instance_id} is {status}")
            check_outcome("irpm", offset + k, services.instance_data(uow, instance_id))


def _blob_len(column: str) -> str:
    # length() of TEXT counts characters; through a BLOB cast it counts UTF-8 bytes. Numbers
    # count as their decimal text (SQLite stores them as 1-8 byte varints: close enough).
    return f'coalesce(length(CAST("{column}" AS BLOB)), 0)'


def _row_bytes(table: Any) -> str:
    return " + ".join(_blob_len(c.name) for c in table.columns)


def storage(irpm: Irpm, runs: list[RunResult]) -> dict[str, float]:
    """Bytes stored per completed instance of the timed runs, from the rows themselves."""
    ranges = " OR ".join(f"{{col}} BETWEEN {r.first_id} AND {r.last_id}" for r in runs)
    pi, ht, tc, tm, ev = (m.__table__ for m in (ProcessInstance, HumanTask, TaskCandidate,
                                                PendingTimer, InstanceEvent))
    completed = f"status = '{InstanceStatus.COMPLETED.value}'"
    in_pi = f"({ranges.format(col='id')}) AND {completed}"
    in_done = (f"instance_id IN (SELECT id FROM process_instance WHERE {in_pi})")
    queries = {
        "instances": f"SELECT count(*) FROM process_instance WHERE {in_pi}",
        "instance_row": f"SELECT sum({_row_bytes(pi)}) FROM process_instance WHERE {in_pi}",
        "state_blob": f"SELECT sum(length(state)) FROM process_instance WHERE {in_pi}",
        "task_rows": f"SELECT count(*) FROM task WHERE {in_done}",
        "task": f"SELECT sum({_row_bytes(ht)}) FROM task WHERE {in_done}",
        "candidate_rows": f"SELECT count(*) FROM task_candidate WHERE task_id IN "
                          f"(SELECT id FROM task WHERE {in_done})",
        "candidate": f"SELECT sum({_row_bytes(tc)}) FROM task_candidate WHERE task_id IN "
                     f"(SELECT id FROM task WHERE {in_done})",
        "timer": f"SELECT sum({_row_bytes(tm)}) FROM timer WHERE {in_done}",
        "event_rows": f"SELECT count(*) FROM instance_event WHERE {in_done}",
        "events": f"SELECT sum({_row_bytes(ev)}) FROM instance_event WHERE {in_done}",
    }
    with irpm.rt.db.connect() as conn:
        raw = {k: float(conn.execute(text(q)).scalar() or 0) for k, q in queries.items()}
        states = conn.execute(text(f"SELECT state FROM process_instance WHERE {in_pi}")).all()

        def one(sql: str) -> int:
            return int(conn.exec_driver_sql(sql).scalar() or 0)

        total_instances = one("SELECT count(*) FROM process_instance")
        db_bytes = (one("PRAGMA page_count") - one("PRAGMA freelist_count")) * one(
            "PRAGMA page_size")
    n = raw.pop("instances") or 1
    out = {k: v / n for k, v in raw.items()}
    out["instances"] = n
    out["state_json"] = sum(len(zlib.decompress(s[0])) for s in states) / max(len(states), 1)
    out["total"] = out["instance_row"] + out["task"] + out["candidate"] + out["timer"]
    out["db_file"] = db_bytes / max(total_instances, 1)  # pages in use, as of now
    return out


# --------------------------------------------------------------------------- report


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def code_revision() -> str:
    """The commit measured, marked ``+dirty`` when engine/ has uncommitted changes."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=PROJECT_ROOT,
                              capture_output=True, text=True, timeout=5).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "engine", "migrations"],
                               cwd=PROJECT_ROOT, capture_output=True, text=True,
                               timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return (head or "unknown") + ("+dirty" if dirty else "")


def measure(args: argparse.Namespace) -> dict[str, Any]:
    install_spiff_clock()
    n, repeat = args.instances, args.repeat
    sandbox, stock = create_script_engine(), PythonScriptEngine()
    t = time.perf_counter()
    spec, subprocess_specs = parse_raw()
    parse_ms = (time.perf_counter() - t) * 1000
    with tempfile.TemporaryDirectory(prefix="irpm-bench-") as tmp:
        irpm = setup_irpm(Path(tmp))
        # Warm-up: parser, compile caches, spec cache, SQLAlchemy statement cache, forms.
        # Every path must end as the model says, in both script engines (not timed).
        for label, script_engine in (("raw (sandbox)", sandbox), ("raw (stock)", stock)):
            for i in range(12):
                wf = raw_instance(spec, subprocess_specs, script_engine, i)[0]
                check_outcome(label, i, dict(wf.data) | dict(wf.last_task.data))
        # Warm-up: parser, compile caches, spec cache, SQLAlchemy statement cache, forms.
        run_raw("warm", spec, subprocess_specs, sandbox, WARMUP_INSTANCES, 10_000_000)
        run_raw("warm", spec, subprocess_specs, stock, WARMUP_INSTANCES, 10_000_000)
        run_irpm(irpm, WARMUP_INSTANCES, 10_000_000, "warm")
        raw_s: list[RunResult] = []
        raw_p: list[RunResult] = []
        irp: list[RunResult] = []
        for r in range(repeat):
            raw_s.append(run_raw("raw (sandbox)", spec, subprocess_specs, sandbox, n, r * n))
            raw_p.append(run_raw("raw (stock)", spec, subprocess_specs, stock, n, r * n))
            irp.append(run_irpm(irpm, n, r * n))
            print(f"  run {r + 1}/{repeat}: raw sandbox {raw_s[-1].rate:7.1f}/s   "
                  f"raw stock {raw_p[-1].rate:7.1f}/s   irpm {irp[-1].rate:6.1f}/s",
                  file=sys.stderr)
        check_irpm(irpm, irp[-1], (repeat - 1) * n)
        stored = storage(irpm, irp)
        cache = irpm.rt.workflows
        cache_hits, cache_misses = cache.hits, cache.misses
        uncached = None
        if not args.no_uncached:
            # Reference: the same DB and spec, but no live-workflow cache, so every call
            # deserializes the instance (another process, a restart, a cache too small).
            cold = Irpm(Runtime(Settings(database_url=irpm.rt.settings.database_url,
                                         workflow_cache_size=0), db_engine=irpm.rt.db),
                        irpm.db_path, irpm.sim_now)
            run_irpm(cold, WARMUP_INSTANCES, 20_000_000, "warm")
            uncached = run_irpm(cold, n, repeat * n, "irpm, no workflow cache")
            print(f"  reference: irpm without workflow cache {uncached.rate:6.1f}/s",
                  file=sys.stderr)
        irpm.rt.close()

    def median_run(runs: list[RunResult]) -> RunResult:
        return sorted(runs, key=lambda x: x.rate)[len(runs) // 2]

    ms, mp, mi = median_run(raw_s), median_run(raw_p), median_run(irp)
    latencies = [x for run in irp for x in run.latencies]
    return {
        "revision": code_revision(),
        "python": sys.version.split()[0],
        "instances": n,
        "repeat": repeat,
        "parse_ms": parse_ms,
        "raw_sandbox": {"per_s": ms.rate, "runs": [x.rate for x in raw_s],
                        "ms_per_action": ms.seconds / ms.actions * 1000,
                        "actions_per_instance": ms.actions / ms.instances},
        "raw_stock": {"per_s": mp.rate, "runs": [x.rate for x in raw_p],
                      "ms_per_action": mp.seconds / mp.actions * 1000,
                      "actions_per_instance": mp.actions / mp.instances},
        "irpm": {"per_s": mi.rate, "runs": [x.rate for x in irp],
                 "ms_per_action": mi.seconds / mi.actions * 1000,
                 "actions_per_instance": mi.actions / mi.instances,
                 "transactions_per_instance": mi.transactions / mi.instances,
                 "lookup_share": mi.lookup_seconds / mi.seconds,
                 "per_s_without_lookup": mi.instances / (mi.seconds - mi.lookup_seconds),
                 "complete_task_ms": {"median": statistics.median(latencies) * 1000,
                                      "p95": _pct(latencies, 0.95) * 1000,
                                      "samples": len(latencies)},
                 "workflow_cache": {"hits": cache_hits, "misses": cache_misses}},
        "irpm_no_workflow_cache": None if uncached is None else {
            "per_s": uncached.rate,
            "ms_per_action": uncached.seconds / uncached.actions * 1000,
            "complete_task_ms": {"median": statistics.median(uncached.latencies) * 1000,
                                 "p95": _pct(uncached.latencies, 0.95) * 1000}},
        "ratio": mi.rate / ms.rate,
        "ratio_vs_stock": mi.rate / mp.rate,
        "bytes_per_instance": stored,
        "targets": {"ratio_min": TARGET_RATIO, "bytes_max": TARGET_BYTES,
                    "ratio_met": mi.rate / ms.rate >= TARGET_RATIO,
                    "bytes_met": stored["total"] <= TARGET_BYTES},
    }


def print_report(res: dict[str, Any]) -> None:
    s, p, i, b = res["raw_sandbox"], res["raw_stock"], res["irpm"], res["bytes_per_instance"]
    lat = i["complete_task_ms"]

    def runs(x: dict[str, Any]) -> str:
        return ", ".join(f"{v:.1f}" for v in x["runs"])

    print(f"IRPM engine benchmark — post cycle, {res['instances']} instances x {res['repeat']} "
          f"runs (median run shown; every 4th instance takes the correction loop)")
    print(f"  code {res['revision']}, Python {res['python']}, SQLite {sqlite3.sqlite_version}")
    print(f"  parse BPMN+DMN once (XSD-validated):      {res['parse_ms']:8.1f} ms")
    print(f"  raw (sandbox engine)    instances/s:      {s['per_s']:8.1f}   "
          f"({s['ms_per_action']:.2f} ms/action; runs: {runs(s)})")
    print(f"  raw (stock engine)      instances/s:      {p['per_s']:8.1f}   "
          f"({p['ms_per_action']:.2f} ms/action; runs: {runs(p)})  [reference]")
    print(f"  irpm (SQLite file)      instances/s:      {i['per_s']:8.1f}   "
          f"({i['ms_per_action']:.2f} ms/action; runs: {runs(i)})")
    u = res["irpm_no_workflow_cache"]
    if u is not None:
        print(f"  irpm, no workflow cache instances/s:      {u['per_s']:8.1f}   "
              f"({u['ms_per_action']:.2f} ms/action, 1 run; complete_task median "
              f"{u['complete_task_ms']['median']:.2f} ms)  [reference]")
    print(f"  ratio irpm / raw (sandbox):               {res['ratio']:8.3f}   "
          f"(irpm is {1 / res['ratio']:.1f}x slower; vs stock: {res['ratio_vs_stock']:.3f})")
    print(f"  engine actions per instance:              {i['actions_per_instance']:8.2f}   "
          f"(raw: {s['actions_per_instance']:.2f}; irpm write transactions per instance: "
          f"{i['transactions_per_instance']:.2f})")
    print(f"  complete_task latency (ms):   median {lat['median']:6.2f}   p95 {lat['p95']:6.2f}"
          f"   ({lat['samples']} calls, all runs)")
    print(f"  next-task lookup (bench, counted):        {i['lookup_share'] * 100:8.1f} % of irpm "
          f"time; irpm without it: {i['per_s_without_lookup']:.1f} instances/s")
    print(f"  workflow cache:  {i['workflow_cache']['hits']} hits, "
          f"{i['workflow_cache']['misses']} misses")
    print(f"  stored bytes per completed instance (no event log): {b['total']:8.0f} B "
          f"= {b['total'] / 1024:.2f} KB over {b['instances']:.0f} instances")
    print(f"    process_instance row {b['instance_row']:6.0f} B (state blob alone "
          f"{b['state_blob']:.0f} B; {b['state_json']:.0f} B before zlib)")
    print(f"    task rows            {b['task']:6.0f} B ({b['task_rows']:.2f} rows)")
    print(f"    task_candidate rows  {b['candidate']:6.0f} B ({b['candidate_rows']:.2f} rows)")
    print(f"    timer rows           {b['timer']:6.0f} B")
    print(f"    [event log, excluded {b['events']:6.0f} B ({b['event_rows']:.2f} rows); "
          f"SQLite file / instance incl. indexes and log: {b['db_file']:.0f} B]")
    t = res["targets"]
    print(f"target: ratio >= {t['ratio_min']}, <= {t['bytes_max'] // 1024} KB per instance")
    print(f"  ratio {res['ratio']:.3f}: {'MET' if t['ratio_met'] else 'NOT MET'};  "
          f"{b['total'] / 1024:.2f} KB per instance: {'MET' if t['bytes_met'] else 'NOT MET'}")


def profile_irpm(n: int, sort_limit: int = 25) -> None:
    """cProfile of the IRPM part only (after the same warm-up), n instances."""
    install_spiff_clock()
    with tempfile.TemporaryDirectory(prefix="irpm-bench-") as tmp:
        irpm = setup_irpm(Path(tmp))
        run_irpm(irpm, WARMUP_INSTANCES, 10_000_000, "warm")
        profiler = cProfile.Profile()
        profiler.enable()
        result = run_irpm(irpm, n)
        profiler.disable()
        irpm.rt.close()
    print(f"profile: irpm, {n} instances, {result.rate:.1f} instances/s under cProfile "
          f"({result.actions / n:.2f} actions per instance)")
    for key in ("cumulative", "tottime"):
        buf = io.StringIO()
        pstats.Stats(profiler, stream=buf).strip_dirs().sort_stats(key).print_stats(sort_limit)
        print(f"\n===== top {sort_limit} by {key} =====")
        print(buf.getvalue().strip("\n"))
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    total = sum(v[2] for v in stats.values())
    by_package: dict[str, float] = {}
    for (filename, _line, func), (_cc, _nc, tottime, _ct, _callers) in stats.items():
        package = _package_of(filename, func)
        by_package[package] = by_package.get(package, 0.0) + tottime
    print(f"\n===== own time (tottime) by package, of {total:.2f} s =====")
    for package, seconds in sorted(by_package.items(), key=lambda kv: -kv[1]):
        print(f"  {package:<34} {seconds:7.2f} s  {seconds / total * 100:5.1f} %")
    engine_dir = str(PROJECT_ROOT / "engine") + "/"
    rows = [(ct, nc, tt, f"{filename[len(engine_dir):]}:{line}({func})")
            for (filename, line, func), (_cc, nc, tt, ct, _callers) in stats.items()
            if filename.startswith(engine_dir)]
    print(f"\n===== engine/ functions by cumulative time (top {sort_limit}) =====")
    print(f"  {'ncalls':>7} {'tottime':>8} {'cumtime':>8} {'per call ms':>11}  function")
    for ct, nc, tt, name in sorted(rows, reverse=True)[:sort_limit]:
        print(f"  {nc:>7} {tt:8.3f} {ct:8.3f} {ct / nc * 1000:11.3f}  {name}")


_PACKAGES = (("/SpiffWorkflow/", "SpiffWorkflow (engine work)"),
             ("/sqlalchemy/", "SQLAlchemy (Python)"), ("/RestrictedPython/", "RestrictedPython"),
             ("/marshmallow/", "marshmallow (form validation)"), ("/alembic/", "alembic"),
             ("/engine/", "IRPM engine/ (own code)"), ("/bench/", "bench driver"),
             ("/sqlite3/", "sqlite3 (Python)"), ("/uuid.py", "uuid"),
             ("/json/", "json"), ("/datetime.py", "datetime"))


def _package_of(filename: str, func: str) -> str:
    if filename == "~":  # C builtins: name the interesting ones
        for needle, name in (("sqlite3", "sqlite3 (C: execute, commit, fetch)"),
                             ("zlib", "zlib"), ("orjson", "orjson"),
                             ("deepcopy", "copy")):
            if needle in func:
                return name
        return "other C builtins"
    for needle, name in _PACKAGES:
        if needle in filename:
            return name
    return "other Python (stdlib)"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--instances", type=int, default=300,
                    help="instances per run, for raw and irpm alike (default 300)")
    ap.add_argument("--repeat", type=int, default=3, help="runs; the median is reported")
    ap.add_argument("--json", action="store_true", help="also print the results as JSON")
    ap.add_argument("--no-uncached", action="store_true",
                    help="skip the reference run without the live-workflow cache")
    ap.add_argument("--profile", type=int, nargs="?", const=200, metavar="N",
                    help="instead: cProfile the irpm part for N instances (default 200)")
    args = ap.parse_args(argv)
    if args.instances < 1 or args.repeat < 1:
        ap.error("--instances and --repeat must be at least 1")
    if args.profile:
        profile_irpm(args.profile)
        return 0
    res = measure(args)
    print_report(res)
    if args.json:
        print(json.dumps(res, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
