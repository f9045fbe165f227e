"""Collaborations in the conformance harness: raw SpiffWorkflow runs every pool of a
collaboration in one workflow (``parser.get_collaboration``: each pool a subworkflow, the
messages between them caught in memory); IRPM deploys each pool as a process of its own and
runs it as separate instances, the messages passing between them through
``engine.messaging``. An outcome per pool (the process id): status, data, path — as
``compare.Outcome`` — compared pool by pool.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.parser import VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.util.task import TaskState as SpiffState
from sqlalchemy import select

from engine.clock import FrozenClock, bind_clock
from engine.models import ProcessInstance
from engine.runtime import Runtime
from engine.services import tasks
from engine.services.instances import open_tasks

from .compare import ACTOR, MODELS, Outcome, _path, irpm_outcome


@dataclass(frozen=True)
class PoolStep:
    """Complete the READY user task ``element`` of the pool running process ``process``."""

    process: str
    element: str
    data: dict[str, Any]


def run_raw_collaboration(filenames: list[str], collaboration: str,
                          steps: tuple[PoolStep, ...], now: Any) -> dict[str, Outcome]:
    """The collaboration (its pools' processes may be in files of their own) in one
    in-memory workflow; the outcome of each pool."""
    parser = SpiffBpmnParser(validator=VALIDATOR)
    parser.add_bpmn_files([str(MODELS / f) for f in filenames])
    with bind_clock(FrozenClock(now)):
        workflow = BpmnWorkflow(*parser.get_collaboration(collaboration))
        workflow.do_engine_steps()
        for step in steps:
            task = next(t for sp in workflow.subprocesses.values()
                        if sp.spec.name == step.process
                        for t in sp.get_tasks(state=SpiffState.READY, spec_name=step.element))
            task.set_data(**copy.deepcopy(step.data))
            task.run()
            workflow.do_engine_steps()
    pools = {}
    for sub in workflow.subprocesses.values():
        last = sub.last_task or sub.task_tree
        pools[sub.spec.name] = Outcome("completed" if sub.is_completed() else "waiting",
                                       copy.deepcopy(dict(sub.data) | dict(last.data)),
                                       _path(sub))
    return pools


def complete_in_pool(rt: Runtime, step: PoolStep) -> None:
    """Complete the one open task ``element`` among the instances of ``process``."""
    with rt.uow() as uow:
        ids = uow.session.scalars(select(ProcessInstance.id)
                                  .where(ProcessInstance.process_id == step.process)).all()
        found = [t for iid in ids for t in open_tasks(uow, iid)
                 if t.element_id == step.element]
        assert len(found) == 1, f"IRPM: {len(found)} open tasks {step.element}"
        tasks.complete_task(uow, found[0].id, ACTOR, step.data)


def irpm_pools(rt: Runtime) -> dict[str, Outcome]:
    """The outcome of each instance, by process id (one instance per process expected)."""
    with rt.uow(write=False) as uow:
        rows = uow.session.execute(select(ProcessInstance.process_id, ProcessInstance.id)
                                   .order_by(ProcessInstance.id)).all()
    assert len({p for p, _ in rows}) == len(rows), f"one instance per pool expected: {rows}"
    return {process_id: irpm_outcome(rt, iid) for process_id, iid in rows}
