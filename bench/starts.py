"""Bulk-start benchmark: completing the city campaign's mobilisation (广泛宣传发动), which
calls one unit cycle per unit, each calling one post cycle per post — 588 instances in the
demo city (12 units, 576 posts).

Two databases in one run, the same demo city and models:

* ``inline``      the campaign deployed without ``startsInBackground`` on its unit_cycles
  call activity: the step that completes the mobilisation starts all 588 instances itself
  (what the request did before: 13 s with nothing on screen);
* ``background``  bpmn/ as shipped: the step completes the task and queues one
  ``start_calls`` job (``engine.jobs``); then ``run_pending_jobs`` starts the instances in
  batched transactions (≈50 new instances each), as the scheduler does.

It prints the step's time (the request's work: wall and CPU) on both, the job's time, the
instances started, and the ratio of the background step to the inline one (same run).
Targets (issue 14 point 5, issue 16 point 4): the step under 1 s, the job ≤ 2 s.

Run:  PYTHONPATH=. .venv/bin/python bench/starts.py [--url URL] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# Run as ``python bench/starts.py``, bench/ comes first on sys.path and bench/engine.py would
# shadow the ``engine`` package: put the project root there instead.
_ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _ROOT / "bench"]
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

from sqlalchemy import func, select, text

from engine.db import make_engine
from engine.migrate import upgrade
from engine.models import HumanTask, ProcessInstance, TaskState
from engine.parsing import Source, read_sources
from engine.programme.composition import programme_runtime
from engine.programme.demo import CAMPAIGN_PROCESS, load_demo_city
from engine.programme.services.organisation import actor_for
from engine.runtime import Runtime
from engine.services import deployment, jobs, tasks
from engine.settings import PROJECT_ROOT, Settings

BACKGROUND = '<spiffworkflow:property name="startsInBackground" value="true"/>'


def _sources(inline: bool) -> list[Source]:
    sources = read_sources([PROJECT_ROOT / "bpmn"])
    if not inline:
        return sources
    found = [s for s in sources if BACKGROUND.encode() in s.content]
    assert found, "bpmn/ has no call activity marked startsInBackground"
    return [Source(s.filename, s.content.replace(BACKGROUND.encode(), b"")) for s in sources]


def _timed(work: Any) -> tuple[Any, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = work()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def _instances(rt: Runtime) -> int:
    with rt.uow(write=False) as uow:
        return uow.session.scalar(select(func.count()).select_from(ProcessInstance)) or 0


def _mobilise(rt: Runtime) -> dict[str, float]:
    """Complete the campaign's mobilisation as the city commission; time it, then the jobs."""
    with rt.uow(write=False) as uow:
        task = uow.session.scalars(select(HumanTask).join(
            ProcessInstance, ProcessInstance.id == HumanTask.instance_id).where(
            ProcessInstance.process_id == CAMPAIGN_PROCESS, HumanTask.state == TaskState.OPEN,
            HumanTask.element_id == "mobilization")).one()
        jiwei = actor_for(uow, "jiwei")
    before = _instances(rt)

    def step() -> None:
        with rt.uow() as uow:
            tasks.complete_task(uow, task.id, jiwei, {"mobilization_notice": "动员部署"})

    _none, step_wall, step_cpu = _timed(step)
    in_step = _instances(rt) - before

    def drain() -> int:
        with rt.uow() as uow:
            return jobs.run_pending_jobs(uow)

    ran, job_wall, job_cpu = _timed(drain)
    return {"step_s": step_wall, "step_cpu_s": step_cpu, "started_in_step": in_step,
            "jobs": ran, "job_s": job_wall, "job_cpu_s": job_cpu,
            "started": _instances(rt) - before}


def _city(url: str, inline: bool) -> dict[str, float]:
    if url.startswith("postgresql"):
        engine = make_engine(url)
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        engine.dispose()
    upgrade(make_engine(url))
    rt = programme_runtime(Settings(database_url=url))
    try:
        with rt.uow() as uow:
            deployment.deploy(uow, _sources(inline), deployed_by="bench")
        load_demo_city(rt, start_campaign=True, say=None)
        return _mobilise(rt)
    finally:
        rt.close()


def run(url: str | None) -> dict[str, Any]:
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="irpm-bench-starts-") as tmp:
        for name, inline in (("inline", True), ("background", False)):
            target = url or f"sqlite:///{Path(tmp) / f'{name}.db'}"
            results[name] = _city(target, inline)
    results["backend"] = (url or "sqlite").split(":")[0]
    results["step_ratio"] = results["background"]["step_s"] / results["inline"]["step_s"]
    return results


def _report(r: dict[str, Any]) -> None:
    inline, background = r["inline"], r["background"]
    print(f"mobilisation of the demo city on {r['backend']} (same run):")
    print(f"  inline      step {inline['step_s']:.2f} s (CPU {inline['step_cpu_s']:.2f} s), "
          f"{inline['started_in_step']} instances started in the step")
    print(f"  background  step {background['step_s']:.3f} s (CPU "
          f"{background['step_cpu_s']:.3f} s), {background['started_in_step']} started in "
          f"the step; job {background['job_s']:.2f} s (CPU {background['job_cpu_s']:.2f} s) "
          f"for {background['started']} instances "
          f"({background['started'] / max(background['job_s'], 1e-9):.0f}/s)")
    print(f"  step background / inline: {r['step_ratio']:.3f}")
    print(f"  targets: step < 1 s ({'met' if background['step_s'] < 1 else 'NOT met'}); "
          f"job ≤ 2 s for 588 instances ({'met' if background['job_s'] <= 2 else 'NOT met'})")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", help="a database to use (PostgreSQL: its public schema is "
                    "dropped and rebuilt twice); default: two temporary SQLite files")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = ap.parse_args(argv)
    results = run(args.url)
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        _report(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
