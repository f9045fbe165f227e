"""Timer benchmark: 10,000 timers falling due at the same instant, fired and run on.

The workload is one publicity period for a whole city: 10,000 instances of a small post
process (``PUBLICITY``: open the publicity in a script task → a P7D timer → 建立信息档案,
a user task in the discipline officer's lane → end), all started at the same simulated
time, so all 10,000 timers fall due at the same instant. Two measurements of the same work,
in one run:

* ``raw``   SpiffWorkflow in memory with IRPM's sandboxed script engine
  (``engine.scripting.create_script_engine()``): for each workflow, the timers refreshed at
  the due time and ``do_engine_steps`` run, so the archive task becomes READY. The workflows
  are built (not timed) in chunks, so memory stays bounded.
* ``irpm``  the scheduler on a migrated SQLite file: the timers fell due on the simulated
  clock; the clock goes back to system time (so all 10,000 are due by wall time at once) and
  a fresh ``SchedulerService`` — as a scheduler process would, holding none of these
  workflows in its cache — takes the lead, arms its timer job and fires them through
  ``engine.services.fire_due_timers``: every instance locked, its state loaded, the timer
  fired, the task and its candidates written, the timer row deleted, the instance saved, the
  events written, a commit per batch of 100. Timed from the scheduler's start until no timer
  is left.

Both sides are checked: every instance has exactly its archive task and no pending timer.

Run:  PYTHONPATH=. .venv/bin/python bench/timers.py [--timers N] [--json] [--url URL]
"""

from __future__ import annotations

import argparse
import gc
import json
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

# Run as ``python bench/timers.py``, bench/ comes first on sys.path and bench/engine.py would
# shadow the ``engine`` package: put the project root there instead.
_ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _ROOT / "bench"]
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.parser import VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.util.task import TaskState as SpiffState
from sqlalchemy import func, make_url, select

from engine.actors import Actor
from engine.clock import FrozenClock, bind_clock, install_spiff_clock
from engine.db import make_engine
from engine.execution.stepping import TIMER_TOLERANCE
from engine.execution.workflow import waiting_timers
from engine.migrate import upgrade
from engine.models import (
    EventType,
    HumanTask,
    InstanceEvent,
    PendingTimer,
    ProcessInstance,
    TaskState,
)
from engine.parsing import Source
from engine.programme.composition import programme_runtime
from engine.scripting import create_script_engine
from engine.services import clock, deployment, instances
from engine.settings import PROJECT_ROOT, Settings
from scheduler import SchedulerService, SchedulerSettings

PROCESS_ID = "bench_publicity"
#: Every instance starts at T0 on the simulated clock; every timer falls due at DUE.
T0 = datetime(2011, 3, 1, 1, 0, tzinfo=UTC)
PERIOD = timedelta(days=7)
DUE = T0 + PERIOD
UNITS = 40
RAW_CHUNK = 1000
TIMEOUT_S = 900

PUBLICITY = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="definitions_bench_publicity"
    targetNamespace="urn:irpm:bench">
  <bpmn:process id="{PROCESS_ID}" name="公示期(基准)" isExecutable="true">
    <bpmn:laneSet id="lanes">
      <bpmn:lane id="discipline_officer" name="纪检监察员">
        <bpmn:flowNodeRef>open_publicity</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>archive</bpmn:flowNodeRef>
      </bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="open_publicity" name="公示">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:script>publicity_open = True</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:intermediateCatchEvent id="publicity" name="公示期">
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:timerEventDefinition id="publicity_timer">
        <bpmn:timeDuration xsi:type="bpmn:tFormalExpression">"P7D"</bpmn:timeDuration>
      </bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:userTask id="archive" name="建立信息档案">
      <bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="open_publicity"/>
    <bpmn:sequenceFlow id="f2" sourceRef="open_publicity" targetRef="publicity"/>
    <bpmn:sequenceFlow id="f3" sourceRef="publicity" targetRef="archive"/>
    <bpmn:sequenceFlow id="f4" sourceRef="archive" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


def start_data(i: int) -> dict[str, Any]:
    unit = f"u{i % UNITS:02d}"
    return {"unit_code": unit, "department_code": f"{unit}-d", "post_code": f"{unit}-p{i:05d}"}


# --------------------------------------------------------------------------- raw


def parse_raw() -> tuple[Any, dict[str, Any]]:
    parser = SpiffBpmnParser(validator=VALIDATOR)
    parser.add_bpmn_str(PUBLICITY.encode(), filename="bench_publicity.bpmn")
    return parser.get_spec(PROCESS_ID), parser.get_subprocess_specs(PROCESS_ID)


def run_raw(n: int) -> tuple[float, float]:
    """Seconds (wall, CPU) spent firing n due timers in memory (building the workflows not
    counted)."""
    spec, subprocess_specs = parse_raw()
    script_engine = create_script_engine()
    spent = cpu = 0.0
    for first in range(0, n, RAW_CHUNK):
        workflows = []
        with bind_clock(FrozenClock(T0)):
            for i in range(first, min(n, first + RAW_CHUNK)):
                wf = BpmnWorkflow(spec, subprocess_specs, script_engine=script_engine)
                for task in wf.get_tasks(state=SpiffState.READY):
                    task.data.update(start_data(i))
                wf.do_engine_steps()
                workflows.append(wf)
        gc.collect()
        began, began_cpu = time.perf_counter(), time.process_time()
        for wf in workflows:
            with bind_clock(FrozenClock(DUE + TIMER_TOLERANCE)):
                wf.refresh_timers()
            with bind_clock(FrozenClock(DUE)):
                wf.do_engine_steps()
        spent += time.perf_counter() - began
        cpu += time.process_time() - began_cpu
        for wf in workflows:
            ready = [t.task_spec.name for t in wf.get_tasks(state=SpiffState.READY, manual=True)]
            if ready != ["archive"] or waiting_timers(wf):
                raise RuntimeError(f"raw: a workflow has {ready} ready after its timer")
    return spent, cpu


# --------------------------------------------------------------------------- irpm


def setup_irpm(url: str, n: int) -> float:
    """A migrated database with n instances waiting on their publicity timer, all due at DUE;
    returns the seconds the starts took (not part of the measurement)."""
    upgrade(make_engine(url))
    rt = programme_runtime(Settings(database_url=url))
    try:
        with rt.uow() as uow:
            clock.set_clock(uow, T0)
        with rt.uow() as uow:
            deployment.deploy(uow, [Source("bench_publicity.bpmn", PUBLICITY.encode())],
                            deployed_by="bench")
        starter = Actor("bench")
        began = time.perf_counter()
        for i in range(n):
            with rt.uow() as uow:
                instances.start_instance(uow, PROCESS_ID, f"bench-{i}", start_data(i),
                                        actor=starter)
        spent = time.perf_counter() - began
    finally:
        rt.close()
    return spent


def run_irpm(url: str, n: int) -> tuple[float, float, int]:
    """Seconds (wall, and the process's CPU) a scheduler takes to fire everything due, from
    its start until the last batch committed; and the firings counted in the history. The
    CPU time, less disturbed by other work on a shared machine, includes this thread's
    polling for the end (a count every 20 ms).

    The timers fell due on the simulated clock (2011); going back to the system clock makes
    every one of them due by wall time, at the same instant. A fresh ``SchedulerService`` —
    a scheduler process, whose runtime holds none of these workflows — takes the lead, arms
    its timer job at the earliest due time (long past) and the job fires them all.
    """
    with_setup = programme_runtime(Settings(database_url=url))
    try:
        with with_setup.uow() as uow:
            clock.use_system_clock(uow)
    finally:
        with_setup.close()
    rt = programme_runtime(Settings(database_url=url))
    service = SchedulerService(rt, SchedulerSettings(sweep_seconds=600, cards_every_seconds=0,
                                                     mail_every_seconds=0))
    pending = select(func.count()).select_from(PendingTimer)
    try:
        gc.collect()
        began, began_cpu = time.perf_counter(), time.process_time()
        service.start()
        while True:
            with rt.db.connect() as conn:
                if not conn.execute(pending).scalar():
                    break
            if time.perf_counter() - began > TIMEOUT_S:
                raise RuntimeError(f"the scheduler did not fire {n} timers in {TIMEOUT_S} s")
            time.sleep(0.02)
        spent, cpu = time.perf_counter() - began, time.process_time() - began_cpu
    finally:
        service.stop(60)
    try:
        fired = check_irpm(rt, n)
    finally:
        rt.close()
    return spent, cpu, fired


def check_irpm(rt: Any, n: int) -> int:
    """Every instance ran on to its archive task, each timer fired once; the firings."""
    with rt.uow(write=False) as uow:
        def count(stmt: Any) -> int:
            return int(uow.session.scalar(stmt) or 0)

        open_archive = count(select(func.count()).select_from(HumanTask).where(
            HumanTask.element_id == "archive", HumanTask.state == TaskState.OPEN))
        timers = count(select(func.count()).select_from(PendingTimer))
        events = count(select(func.count()).select_from(InstanceEvent).where(
            InstanceEvent.type == EventType.TIMER_FIRED.value))
        waiting = count(select(func.count()).select_from(ProcessInstance).where(
            ProcessInstance.status == "waiting"))
    if (open_archive, timers, events, waiting) != (n, 0, n, n):
        raise RuntimeError(f"irpm: {open_archive} archive tasks open, {timers} timers left, "
                           f"{events} timer_fired events, {waiting} waiting; expected {n}, 0, "
                           f"{n}, {n}")
    return events


# --------------------------------------------------------------------------- report


def code_revision() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=PROJECT_ROOT,
                              capture_output=True, text=True, timeout=5).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "engine"],
                               cwd=PROJECT_ROOT, capture_output=True, text=True,
                               timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return (head or "unknown") + ("+dirty" if dirty else "")


def measure(n: int, url: str | None = None) -> dict[str, Any]:
    """The run; on a new SQLite file, or on the empty database ``url`` (PostgreSQL)."""
    install_spiff_clock()
    with tempfile.TemporaryDirectory(prefix="irpm-bench-timers-") as tmp:
        url = url or f"sqlite:///{Path(tmp) / 'irpm.db'}"
        setup_s = setup_irpm(url, n)
        irpm_s, irpm_cpu_s, fired = run_irpm(url, n)
    raw_s, raw_cpu_s = run_raw(n)
    return {"revision": code_revision(), "python": sys.version.split()[0],
            "sqlite": sqlite3.sqlite_version, "timers": n, "fired": fired,
            "database": make_url(url).get_backend_name(),
            "setup_s": setup_s, "irpm_s": irpm_s, "raw_s": raw_s, "ratio": irpm_s / raw_s,
            "irpm_cpu_s": irpm_cpu_s, "raw_cpu_s": raw_cpu_s,
            "cpu_ratio": irpm_cpu_s / raw_cpu_s}


def print_report(res: dict[str, Any]) -> None:
    n = res["timers"]
    print(f"IRPM timer benchmark — {n} timers due at the same instant (a P7D publicity period "
          f"for a whole city), each firing runs its instance on to a user task")
    print(f"  code {res['revision']}, Python {res['python']}, SQLite {res['sqlite']}")
    print(f"  setup: {n} instances started through start_instance in {res['setup_s']:.1f} s "
          f"(not measured)")
    print(f"  raw SpiffWorkflow (in memory, sandbox):  {res['raw_s']:8.2f} s   "
          f"({res['raw_s'] / n * 1000:.3f} ms per timer; CPU {res['raw_cpu_s']:.2f} s)")
    where = "SQLite file" if res["database"] == "sqlite" else res["database"]
    print(f"  irpm scheduler ({where}):{' ' * (23 - len(where))}{res['irpm_s']:8.2f} s   "
          f"({res['irpm_s'] / n * 1000:.3f} ms per timer, {n / res['irpm_s']:.0f} timers/s; "
          f"CPU {res['irpm_cpu_s']:.2f} s)")
    print(f"  ratio irpm / raw:                        {res['ratio']:8.2f}   "
          f"(CPU: {res['cpu_ratio']:.2f}; target <= 3)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--timers", type=int, default=10_000, help="timers due (default 10000)")
    ap.add_argument("--json", action="store_true", help="also print the results as JSON")
    ap.add_argument("--url", help="an empty database to run on (e.g. PostgreSQL from "
                                  "tests/pgtmp.py); default: a new SQLite file")
    args = ap.parse_args(argv)
    if args.timers < 1:
        ap.error("--timers must be at least 1")
    res = measure(args.timers, args.url)
    print_report(res)
    if args.json:
        print(json.dumps(res, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
