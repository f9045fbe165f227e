"""Engine benchmark: the post cycle in raw SpiffWorkflow versus through IRPM's services.

One run, one machine, three measurements of the same workload:

* ``raw (sandbox)``  SpiffWorkflow in memory, no persistence, with the script engine IRPM
  uses (``engine.scripting.create_script_engine()``) — the same engine work IRPM does; the
  service tasks call the programme's operators as plain in-memory stubs (``STUBS``) that
  answer what the register would;
* ``raw (stock)``    the same with SpiffWorkflow's default ``PythonScriptEngine`` (reference;
  its ``call_service`` calls the same stubs);
* ``irpm``           the same cycle through ``engine.services`` on a migrated SQLite file with
  the programme's runtime (``engine.programme``: lanes through an imported organisation, the
  operators writing the risk register), one transaction per service call.

The workload is ``bpmn/post_cycle.bpmn`` + ``bpmn/post_grading.dmn``, the programme's post
cycle end to end: start → the four discovery methods, each recorded in the register → DMN
grading and the register's combined grading → review → publication → publicity timer (P7D)
→ archive → prevention measures (recorded), integrity talk for level-1 posts (recorded) and
the year's monitoring, during which the quarterly self-check cycle (R4/P3M) fires four times,
each firing a self-check task → assessment → one correction task per shortfall (every 4th
instance has one) → end. Tasks are taken oldest first, except that the year's monitoring is
closed only when no self-check timer is pending; a timer fires by moving the clock to its due
time (so the simulated clock moves on about a year per instance). Start data rotates over
three DMN outcomes (level 1, 2, 3); each instance has its own post and year in the register.

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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

# Run as ``python bench/engine.py``, this file's directory comes first on sys.path and the
# file itself would shadow the ``engine`` package: put the project root there instead.
_ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _ROOT / "bench"]
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.parser import VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.util.task import TaskState as SpiffState
from sqlalchemy import and_, bindparam, func, select, text

from engine.actors import Actor
from engine.clock import FrozenClock, bind_clock, install_spiff_clock
from engine.db import make_engine
from engine.decisions import Decision, parse_decisions, run
from engine.execution.stepping import TIMER_TOLERANCE
from engine.execution.workflow import waiting_timers
from engine.migrate import upgrade
from engine.models import (
    HumanTask,
    InstanceEvent,
    InstanceStatus,
    PendingTimer,
    ProcessInstance,
    TaskCandidate,
    TaskState,
)
from engine.operators import OperatorCall, bind_operators
from engine.parsing import read_sources
from engine.programme.composition import programme_runtime
from engine.programme.models import (
    POST_ATTRIBUTES,
    ControlMeasure,
    PostGrading,
    RegisterChange,
    RiskPoint,
)
from engine.programme.services import org_import
from engine.runtime import Runtime
from engine.scripting import create_script_engine
from engine.services import clock, deployment, instances, timers
from engine.services import tasks as tasks_service
from engine.settings import PROJECT_ROOT, Settings

PROCESS_ID = "post_cycle"
BPMN_DIR = PROJECT_ROOT / "bpmn"
#: The simulated clock starts here; timers fire when it is moved to their due time.
T0 = datetime(2011, 1, 4, 1, 0, tzinfo=UTC)
WARMUP_INSTANCES = 8            # covers every path (start-data rotation x correction)
TARGET_RATIO = 0.5
TARGET_BYTES = 8 * 1024
#: The year's monitoring: closed once its self-check timer has nothing left to fire.
MONITORING = "monitoring"

#: The bench's organisation: one unit, one department, POSTS_PER_LEVEL posts per level.
UNIT, DEPARTMENT, POSTS_PER_LEVEL = "bch", "bch-d", 20
_LEVEL_FLAG = {1: "principal_post", 2: "general_economic", 3: None}


# --------------------------------------------------------------------------- workload


def level_of(i: int) -> int:
    """Rotate over three DMN outcomes: rule 1 (level 1), rule 6 (level 2), rule 9 (level 3)."""
    return i % 3 + 1


def start_data(i: int) -> dict[str, Any]:
    """A post of instance ``i``'s level and a year: each instance has its own (post, year) in
    the register, so no instance re-grades another's risk points."""
    level, k = level_of(i), i // 3
    flags = dict.fromkeys(POST_ATTRIBUTES, False)
    if _LEVEL_FLAG[level]:
        flags[str(_LEVEL_FLAG[level])] = True
    return {"post_code": f"{UNIT}-l{level}-{k % POSTS_PER_LEVEL:02d}",
            "department_code": DEPARTMENT, "unit_code": UNIT,
            "year": 2000 + (k // POSTS_PER_LEVEL) % 101, **flags}


def takes_correction(i: int) -> bool:
    return i % 4 == 3


def form_data(element: str, i: int) -> dict[str, Any]:
    """What the user submits for ``element``; built fresh each time (the engine may keep it)."""
    if element == "self_identified":
        return {"risks": [{"category": "duty", "likelihood": "low", "harm": "minor",
                           "description": "审批环节自由裁量权过大,可能出现优亲厚友"}]}
    if element in ("peer_checked", "leader_pointed", "organization_reviewed"):
        return {"risks": []}
    if element == "review":
        return {"approved": True}
    if element == "prevention":
        return {"measures": [{"description": "细化自由裁量权标准,审批流程固化于信息系统"}]}
    if element == "integrity_talk":
        return {"talk_summary": "提醒严守审批纪律"}
    if element == "self_check":
        return {"self_check_report": "本季度未发现苗头性、倾向性问题"}
    if element == MONITORING:
        return {"monitoring_report": "全年未发现苗头性、倾向性问题"}
    if element == "assessment":
        return {"score_information_monitoring": 80, "score_self_check": 90,
                "score_superior_inspection": 70, "score_social_evaluation": 80,
                "shortfalls": ["完善工作措施"] if takes_correction(i) else []}
    if element == "correct_shortfall [child]":
        return {"correction": "完善工作措施,重新组织自查"}
    raise RuntimeError(f"the bench has no form data for task '{element}'")


def pick(open_elements: list[str], timer_pending: bool) -> int | None:
    """Index of the task to complete next, or None to fire the pending timer first."""
    for index, element in enumerate(open_elements):
        if element != MONITORING:
            return index
    if open_elements and not timer_pending:
        return 0
    return None


# ------------------------------------------------------------------ operator stubs (raw)


class _Stubs:
    """The programme's operators as plain functions: what the register would answer, kept
    in memory (ids counted up), so the raw side runs the same service tasks."""

    def __init__(self) -> None:
        self.next_id = 0

    def ids(self, n: int) -> list[int]:
        self.next_id += n
        return list(range(self.next_id - n + 1, self.next_id + 1))

    #: bpmn/'s decision tables, parsed once (``engine.decisions``: what the operators run).
    TABLES: ClassVar[dict[str, Decision]] = {
        decision_id: decision for source in read_sources([BPMN_DIR]) if source.kind == "dmn"
        for decision_id, decision in parse_decisions(source).items()}
    SCRIPTS = create_script_engine()

    @classmethod
    def levels(cls, call: OperatorCall) -> dict[str, Any]:
        rule = run(cls.TABLES["post_grading"], {k: call.data[k] for k in POST_ATTRIBUTES},
                   cls.SCRIPTS)
        level = rule["post_level"]
        roles = run(cls.TABLES["responsibility"], {"level": level}, cls.SCRIPTS)
        return {"post_level": level, "rule_level": level, "risk_level": 3, **roles}

    def table(self) -> dict[str, Any]:
        return {
            "register.record_risks": lambda c: self.ids(len(c.params["risks"])),
            "register.grade_post": self.levels,
            "register.override_level": self.levels,
            "register.publish_post": lambda c: {**self.levels(c),
                                                "published_at": c.now.isoformat()},
            "register.archive": lambda c: {**self.levels(c), "risk_points": self.ids(1)},
            "register.add_measures": lambda c: self.ids(len(c.params["measures"])),
            # The benchmark's posts find no problems: no disposal starts, none to count.
            "disposal.start": lambda c: {"disposal_instance": self.ids(1)[0],
                                         "disposal_key": "disposal:bench"},
            "register.disposal_outcomes": lambda c: {"total": 0, "open": 0, "corrected": 0,
                                                     "accountability": 0},
        }


STUBS = _Stubs().table()


class StockWithStubs(PythonScriptEngine):
    """SpiffWorkflow's stock engine; service tasks call the same stubs."""

    def call_service(self, task: Any, **kwargs: Any) -> str:
        params = {k: v["value"] for k, v in (kwargs.get("operation_params") or {}).items()}
        call = OperatorCall(None, 0, PROCESS_ID, None,  # type: ignore[arg-type]
                            task.task_spec.name, dict(task.data), params, T0)
        return json.dumps(STUBS[kwargs["operation_name"]](call), default=str)


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

    The clock and the operators are bound around every engine call, as IRPM's
    ``run_engine`` and ``run_human_task`` do; a timer fires when the clock reaches it.
    """
    now = T0
    wf = BpmnWorkflow(spec, subprocess_specs, script_engine=script_engine)

    def bound(at: datetime) -> Any:
        return bind_operators(STUBS, None, instance_id=i, process_id=PROCESS_ID,  # type: ignore
                              business_key=None, now=at)

    with bind_clock(FrozenClock(now)), bound(now):
        for task in wf.get_tasks(state=SpiffState.READY):
            task.data.update(start_data(i))
        wf.do_engine_steps()
    actions = 1
    while not wf.is_completed():
        if actions > 80:
            raise RuntimeError(f"raw instance {i} is stuck")
        ready = _ready(wf)
        timers = waiting_timers(wf)
        index = pick([t.task_spec.name for t in ready], bool(timers))
        if index is not None:
            task = ready[index]
            with bind_clock(FrozenClock(now)), bound(now):
                task.set_data(**form_data(task.task_spec.name, i))
                task.run()
                wf.do_engine_steps()
        else:
            now = max(now, min(due for _t, due, _k in timers.values()))
            with bind_clock(FrozenClock(now + TIMER_TOLERANCE)), bound(now):
                wf.refresh_timers()
            with bind_clock(FrozenClock(now)), bound(now):
                wf.do_engine_steps()
        actions += 1
    return wf, actions


def _ready(wf: BpmnWorkflow) -> list[Any]:
    """READY human tasks, the embedded subprocess's too, oldest first."""
    tasks = list(wf.get_tasks(state=SpiffState.READY, manual=True))
    for sub in wf.subprocesses.values():
        tasks += sub.get_tasks(state=SpiffState.READY, manual=True)
    return sorted(tasks, key=lambda t: t.last_state_change)


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
    return {"post_level": level_of(i), "assessment_grade": "good", "approved": True,
            "corrections": ["完善工作措施,重新组织自查"] if takes_correction(i) else []}


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


def bench_org() -> dict[str, bytes]:
    """The bench's organisation as import files: unit bch, department bch-d, and
    POSTS_PER_LEVEL posts per level, each with its holder."""
    posts = [(f"{UNIT}-l{level}-{j:02d}", level) for level in (1, 2, 3)
             for j in range(POSTS_PER_LEVEL)]
    officials = ["code,name,unit_code", f"lead,主任,{UNIT}", f"head,处长,{UNIT}",
                 f"deputy,副主任,{UNIT}", f"officer,纪检监察员,{UNIT}"]
    officials += [f"h-{code},岗位人员{n},{UNIT}" for n, (code, _level) in enumerate(posts)]
    rows = ["code,department_code,name,holder_code," + ",".join(POST_ATTRIBUTES)]
    for code, level in posts:
        flags = ["是" if name == _LEVEL_FLAG[level] else "否" for name in POST_ATTRIBUTES]
        rows.append(f"{code},{DEPARTMENT},{code},h-{code}," + ",".join(flags))
    files = {
        "units.csv": ["code,name,principal_code,discipline_officer_code",
                      f"{UNIT},基准单位,lead,officer"],
        "officials.csv": officials,
        "departments.csv": ["code,unit_code,name,head_code,deputy_in_charge_code",
                            f"{DEPARTMENT},{UNIT},基准处,head,deputy"],
        "posts.csv": rows,
    }
    return {name: ("\n".join(lines) + "\n").encode() for name, lines in files.items()}


def setup_irpm(tmp: Path) -> Irpm:
    db_path = tmp / "irpm.db"
    url = f"sqlite:///{db_path}"
    db = make_engine(url)
    upgrade(db)
    rt = programme_runtime(Settings(database_url=url), db_engine=db)
    with rt.uow() as uow:
        clock.set_clock(uow, T0)
    with rt.uow() as uow:
        org_import.import_csv(uow, bench_org())
    with rt.uow() as uow:
        deployment.deploy(uow, read_sources([BPMN_DIR]), deployed_by="bench")
    return Irpm(rt, db_path)


#: The instance's status and its earliest pending timer, then its open tasks (id, element,
#: candidate group) oldest first: indexed reads of the mirror, no workflow deserialized.
_STATUS = select(ProcessInstance.status, select(func.min(PendingTimer.due_at))
                 .where(PendingTimer.instance_id == ProcessInstance.id)
                 .scalar_subquery()).where(ProcessInstance.id == bindparam("instance_id"))
_OPEN_TASKS = (
    select(HumanTask.id, HumanTask.element_id, TaskCandidate.name)
    .outerjoin(TaskCandidate, and_(TaskCandidate.task_id == HumanTask.id,
                                   TaskCandidate.kind == "group"))
    .where(HumanTask.instance_id == bindparam("instance_id"), HumanTask.state == TaskState.OPEN)
    .order_by(HumanTask.created_at, HumanTask.id))


def _next_step(irpm: Irpm, instance_id: int) -> tuple[str, datetime | None, list[Any]]:
    """The cheapest honest way to learn what to do next: a pooled Core connection and two
    cached SELECTs (≈0.2 ms; an ORM read unit of work costs ≈0.3 ms)."""
    with irpm.rt.db.connect() as conn:
        status, due = conn.execute(_STATUS, {"instance_id": instance_id}).one()
        tasks = list(conn.execute(_OPEN_TASKS, {"instance_id": instance_id}))
    return status, due, tasks


def run_irpm(irpm: Irpm, n: int, offset: int = 0, label: str = "irpm") -> RunResult:
    """n instances through the public services, each call its own committed transaction.

    COUNTED (inside the timed loop): every service call with its unit of work (session,
    BEGIN IMMEDIATE, commit) — start_instance, complete_task, set_clock, fire_due_timers —
    plus the read-only indexed SELECTs per step that find the instance's status, pending
    timer and open tasks (``_next_step``, on a pooled Core connection — what the cheapest
    inbox query or a client polling its instance costs; its share is printed, and the rate
    without it). NOT counted: building the form payloads (small dicts) and the Actor holding
    the task's candidate group (a tuple).

    A timer: the simulated clock is moved to the instance's earliest due time with
    ``clock.set_clock`` (own transaction, as a scheduler or admin would), then
    ``timers.fire_due_timers`` fires exactly that timer (own transaction).
    """
    rt = irpm.rt
    actions = transactions = 0
    lookup = 0.0
    latencies: list[float] = []
    first_id = last_id = 0
    starter = Actor("bench")
    gc.collect()
    timer = time.perf_counter
    began = timer()
    for k in range(n):
        i = offset + k
        with rt.uow() as uow:
            instance = instances.start_instance(uow, PROCESS_ID, business_key=f"bench-{i}",
                                               data=start_data(i), actor=starter)
        instance_id = instance.id
        first_id = first_id or instance_id
        last_id = instance_id
        actions += 1
        transactions += 1
        while True:
            t = timer()
            status, due, tasks = _next_step(irpm, instance_id)
            lookup += timer() - t
            index = pick([row[1] for row in tasks], due is not None)
            if index is not None:
                task_id, element, group = tasks[index]
                data = form_data(element, i)
                t = timer()
                with rt.uow() as uow:
                    tasks_service.complete_task(uow, task_id, Actor(f"bench-{element}",
                                                               frozenset({group})), data)
                latencies.append(timer() - t)
            elif status == InstanceStatus.COMPLETED:
                break
            elif status == InstanceStatus.WAITING and due is not None:
                irpm.sim_now = max(irpm.sim_now, due)
                with rt.uow() as uow:
                    clock.set_clock(uow, irpm.sim_now)
                with rt.uow() as uow:
                    fired = timers.fire_due_timers(uow)
                if fired != 1:
                    raise RuntimeError(f"instance {instance_id}: {fired} timers fired, not 1")
                transactions += 1
            else:
                raise RuntimeError(f"instance {instance_id} is {status}")
            actions += 1
            transactions += 1
    return RunResult(label, n, timer() - began, actions, transactions, lookup, latencies,
                     first_id, last_id)


def check_irpm(irpm: Irpm, run: RunResult, offset: int) -> None:
    """The first instances of a timed run ended completed, with the model's outcome."""
    with irpm.rt.uow(write=False) as uow:
        for k in range(min(12, run.instances)):
            instance_id = run.first_id + k
            status = instances.get_instance(uow, instance_id).status
            if status != InstanceStatus.COMPLETED:
                raise RuntimeError(f"irpm: instance {instance_id} is {status}")
            check_outcome("irpm", offset + k, instances.instance_data(uow, instance_id))


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
        register = sum(float(conn.execute(text(
            f"SELECT coalesce(sum({_row_bytes(m.__table__)}), 0) FROM {m.__tablename__}"))
            .scalar() or 0) for m in (RiskPoint, ControlMeasure, PostGrading, RegisterChange))
        db_bytes = (one("PRAGMA page_count") - one("PRAGMA freelist_count")) * one(
            "PRAGMA page_size")
    n = raw.pop("instances") or 1
    out = {k: v / n for k, v in raw.items()}
    out["instances"] = n
    out["state_json"] = sum(len(zlib.decompress(s[0])) for s in states) / max(len(states), 1)
    out["total"] = out["instance_row"] + out["task"] + out["candidate"] + out["timer"]
    out["db_file"] = db_bytes / max(total_instances, 1)  # pages in use, as of now
    out["register"] = register / max(total_instances, 1)  # the operators' writes, all runs
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
    sandbox, stock = create_script_engine(), StockWithStubs()
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
            cold = Irpm(programme_runtime(Settings(database_url=irpm.rt.settings.database_url,
                                                   workflow_cache_size=0),
                                          db_engine=irpm.rt.db),
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
          f"runs (median run shown; every 4th instance has a shortfall to correct)")
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
    print(f"    [risk register rows the operators wrote, excluded: {b['register']:6.0f} B per "
          f"instance (risk points, measures, gradings, change log)]")
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
    for (filename, _line, function), (_cc, _nc, tottime, _ct, _callers) in stats.items():
        package = _package_of(filename, function)
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
