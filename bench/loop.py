"""Loop benchmark: does a step cost the same at a loop's 1,000th turn as at its 5th?

The workload is ``tests/fixtures/counting_loop.bpmn`` with a user task on every turn (a
gateway, a script ``i = i + 1``, a gateway, the user task ``check``): one turn is one
completed task, and SpiffWorkflow's task tree grows by four tasks per turn unless pruned
(``engine/execution/pruning.py``). Measured in one run, the CPU time of completing the
task at turns 5, 100, 300 and 1000 (the median of the ``--window`` turns around each; one
instance per checkpoint, brought there uncounted, then the checkpoints measured in rotation
so the shared machine's drift falls on all alike; each side warmed up first):

* ``raw``        SpiffWorkflow in memory with IRPM's sandboxed script engine: ``task.run()``
  then ``do_engine_steps()``. Unpruned, it stops silently at turn 249 (its task iterator's
  depth limit of 1,000, at four tasks a turn): its later columns say so;
* ``irpm``       ``engine.services.tasks.complete_task`` on a migrated SQLite file, one
  committed transaction per turn (the task found by a Core SELECT, not counted);
* ``unpruned``   the same with pruning switched off (``PRUNE_ABOVE`` out of reach), to
  turn 300: what every step cost before pruning, and where it too stops.

The target (issue 14): irpm's CPU at turn 300 / at turn 5 ≤ 1.5.

Run:  PYTHONPATH=. .venv/bin/python bench/loop.py [--turns 1000] [--window 15] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

_ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _ROOT / "bench"]
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.parser import SpiffBpmnParser
from SpiffWorkflow.util.task import TaskState as SpiffState
from sqlalchemy import select

from engine.actors import Actor
from engine.db import make_engine
from engine.execution import pruning
from engine.migrate import upgrade
from engine.models import HumanTask, TaskState
from engine.parsing import read_sources
from engine.runtime import Runtime
from engine.scripting import create_script_engine
from engine.services import deployment, instances
from engine.services import tasks as tasks_service
from engine.settings import PROJECT_ROOT, Settings

MODEL = PROJECT_ROOT / "tests" / "fixtures" / "counting_loop.bpmn"
PROCESS_ID = "counting_loop"
CHECKPOINTS = (5, 100, 300, 1000)
TARGET = 1.5
WARMUP = 20
ACTOR = Actor("bench", is_admin=True)  # counting_loop.bpmn has no lanes: an administrators' task


def _cpu() -> float:
    return time.process_time()


class Raw:
    """SpiffWorkflow in memory: a turn is ``task.run()`` and ``do_engine_steps()``."""

    label = "raw"

    def __init__(self, turns: int) -> None:
        parser = SpiffBpmnParser()
        parser.add_bpmn_file(str(MODEL))
        self.spec, self.turns = parser.get_spec(PROCESS_ID), turns
        self.engine = create_script_engine()

    def start(self) -> BpmnWorkflow:
        workflow = BpmnWorkflow(self.spec, {}, script_engine=self.engine)
        workflow.get_tasks(state=SpiffState.READY)[0].data.update(limit=self.turns + 10,
                                                                  pause=1)
        workflow.do_engine_steps()
        return workflow

    def turn(self, workflow: BpmnWorkflow) -> float | None:
        ready = workflow.get_tasks(state=SpiffState.READY, manual=True)
        if not ready:
            return None  # stopped (completed at the depth limit)
        t = _cpu()
        ready[0].run()
        workflow.do_engine_steps()
        return _cpu() - t

    def close(self) -> None:
        pass


class Irpm:
    """``complete_task`` through the services on a migrated SQLite file, committed."""

    def __init__(self, tmp: Path, label: str, turns: int) -> None:
        url = f"sqlite:///{tmp / label}.db"
        db = make_engine(url)
        upgrade(db)
        self.rt, self.label, self.turns = Runtime(Settings(database_url=url), db_engine=db), \
            label, turns
        with self.rt.uow() as uow:
            deployment.deploy(uow, read_sources([MODEL]), deployed_by="bench")

    def start(self) -> int:
        with self.rt.uow() as uow:
            return instances.start_instance(uow, PROCESS_ID, None,
                                            {"limit": self.turns + 10, "pause": 1}).id

    def turn(self, instance_id: int) -> float | None:
        with self.rt.db.connect() as conn:  # not counted: finding the task
            task_id = conn.execute(select(HumanTask.id).where(
                HumanTask.instance_id == instance_id,
                HumanTask.state == TaskState.OPEN)).scalar()
        if task_id is None:
            return None  # stopped: the instance says completed
        t = _cpu()
        with self.rt.uow() as uow:
            tasks_service.complete_task(uow, task_id, ACTOR, {})
        return _cpu() - t

    def close(self) -> None:
        self.rt.close()


def measure_side(side: Any, window: int, checkpoints: tuple[int, ...]) -> dict[str, Any]:
    """One instance per checkpoint, each brought (not counted) to just before it; then the
    ``window`` turns around every checkpoint measured in rotation — one turn of each in
    turn — so that the machine's drift (it is shared and noisy) falls on all alike."""
    began = time.perf_counter()
    handles: dict[int, Any] = {}
    reached: dict[int, int] = {}
    for turn in checkpoints:
        handle, done = side.start(), 0
        while done < max(0, turn - 1 - window // 2) and side.turn(handle) is not None:
            done += 1
        handles[turn], reached[turn] = handle, done
    costs: dict[int, list[float]] = {turn: [] for turn in checkpoints}
    for _ in range(window):
        for turn, handle in handles.items():
            if reached[turn] < turn - 1 - window // 2:
                continue  # stopped before its checkpoint
            cost = side.turn(handle)
            if cost is not None:
                costs[turn].append(cost)
                reached[turn] += 1
    ms = {turn: statistics.median(c) * 1000 for turn, c in costs.items()
          if len(c) > window // 2}
    return {"label": side.label, "reached": max(reached.values()),
            "seconds": time.perf_counter() - began, "ms": ms,
            "stopped": [turn for turn in checkpoints if turn not in ms]}


def measure(turns: int, window: int) -> list[dict[str, Any]]:
    """raw, irpm and irpm unpruned, each first warmed up on an instance of ``WARMUP`` turns
    (a process's first steps pay for imports, compiled statements, caches)."""
    checkpoints = tuple(t for t in CHECKPOINTS if t <= turns)
    rows = []
    with tempfile.TemporaryDirectory(prefix="irpm-loop-") as tmp:
        for side in (Raw(turns), Irpm(Path(tmp), "irpm", turns)):
            try:
                measure_side(side, window, (WARMUP,))
                rows.append(measure_side(side, window, checkpoints))
            finally:
                side.close()
        kept = pruning.PRUNE_ABOVE
        pruning.PRUNE_ABOVE = 10**9
        side = Irpm(Path(tmp), "unpruned", turns)
        try:
            measure_side(side, window, (WARMUP,))
            rows.append(measure_side(side, window, tuple(t for t in checkpoints if t <= 300)))
        finally:
            pruning.PRUNE_ABOVE = kept
            side.close()
    return rows


def _ratio(row: dict[str, Any], turn: int) -> str:
    first, later = row["ms"].get(CHECKPOINTS[0]), row["ms"].get(turn)
    return f"{later / first:5.2f}" if first and later else "    –"


def print_report(rows: list[dict[str, Any]], window: int) -> None:
    print(f"complete_task CPU, ms (median of {window} turns) — loop turn:")
    print(f"{'':10}" + "".join(f"{t:>9}" for t in CHECKPOINTS)
          + "   300/5  1000/5  reached   wall s")
    for row in rows:
        cells = "".join(f"{v:9.2f}" if (v := row["ms"].get(t)) is not None
                        else f"{'stopped' if t in row['stopped'] else '–':>9}"
                        for t in CHECKPOINTS)
        print(f"{row['label']:10}{cells}   {_ratio(row, 300)}   {_ratio(row, 1000)}"
              f"  {row['reached']:7d}  {row['seconds']:7.1f}")
    irpm = next(r for r in rows if r["label"] == "irpm")
    first, later = irpm["ms"].get(5), irpm["ms"].get(300)
    if first and later:
        verdict = "met" if later / first <= TARGET else "NOT met"
        print(f"target irpm turn 300 / turn 5 ≤ {TARGET}: {later / first:.2f} ({verdict})")
    raw = next(r for r in rows if r["label"] == "raw")
    for turn in CHECKPOINTS:
        if raw["ms"].get(turn) and irpm["ms"].get(turn):
            print(f"  irpm / raw at turn {turn}: {irpm['ms'][turn] / raw['ms'][turn]:.1f}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--turns", type=int, default=1000, help="loop turns (default 1000)")
    ap.add_argument("--window", type=int, default=15, help="turns per median (default 15)")
    ap.add_argument("--json", action="store_true", help="also print the results as JSON")
    args = ap.parse_args(argv)
    if args.turns < 10 or args.window < 1:
        ap.error("--turns must be at least 10 and --window at least 1")
    rows = measure(args.turns, args.window)
    print_report(rows, args.window)
    if args.json:
        print(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
