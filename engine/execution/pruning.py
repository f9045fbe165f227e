"""Pruning a workflow's finished past: the completed tasks above everything still live are
cut out of the task tree, so the tree stays small however long an instance lives.

Why: SpiffWorkflow keeps every task an instance ever ran, one tree level per task on a
loop. Every step walks that tree (``get_tasks``, joins, ``is_completed``) and every save
dumped it, so a step cost followed the instance's age; and SpiffWorkflow's ``TaskIterator``
stops at depth 1,000, so a loop past ≈ 334 iterations of three tasks found no READY task
and the instance was *silently completed* — raw SpiffWorkflow does the same. IRPM goes
further on purpose: its history lives in its own tables (``instance_event``, ``task``,
``instance_variable``), not in the tree, so the tree only has to hold what the engine still
needs to run on.

What stays (SpiffWorkflow's semantics for everything live are kept):

- every task not COMPLETED or CANCELLED (READY, WAITING, STARTED, predicted, ERROR) and the
  workflow's ``last_task`` (its data is the instance's current data), with
  ``MARGIN`` levels of ancestors above the lowest task common to all of them — a live task's
  completed parent (whose data a READY task inherits, which a join's input check reads) is
  always kept;
- the split of a structured join still to come (the ``BoundaryEventSplit`` above an activity
  with boundary events still running, a ``StartEventSplit``): ``find_ancestor`` must find it;
- while a parallel or inclusive gateway (``UnstructuredJoin``) with several incoming flows
  waits or is READY (not merely predicted: a FUTURE join's inputs are still live, so kept
  anyway), every task of that gateway and its parent: SpiffWorkflow counts arrived inputs
  and merges their data by looking at them.

What goes: the tasks above the cut and every finished branch hanging off them, with the
subprocesses those tasks ran. The element ids of the completed ones are kept, as a set, in
the root task's internal data (``pruned_done``): the instance page still shows them done.
Known difference from raw SpiffWorkflow: when a parallel gateway inside a loop joins again,
the join instances of an iteration pruned meanwhile are neither counted nor their data
merged. Raw SpiffWorkflow 3.2 looks at them: it counts a past iteration's cancelled join as
an arrived input, and when the branches of a loop's parallel gateway arrive in another order
than in the turn before it fails (``UnstructuredJoin._run_hook`` reads the parent of a join
task it dropped) — past turns are not input to a join, so IRPM does not reproduce that.

Cost: ``prune`` looks at the tree only once it holds more than ``PRUNE_ABOVE`` tasks, and
then cuts it back to the live part — amortised, a constant per task run.
"""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn.specs.mixins.unstructured_join import UnstructuredJoin
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState
from SpiffWorkflow.workflow import Workflow

#: A workflow's tree is pruned once it holds more tasks than this: far under SpiffWorkflow's
#: depth limit (1,000), and small, because SpiffWorkflow walks the whole tree after every
#: task it runs (``update_waiting_tasks``, ``get_tasks``) — a loop's turn costs what the
#: tree holds.
PRUNE_ABOVE = 64
#: Levels of completed ancestors kept above the lowest task common to all live ones.
MARGIN = 2
#: Root internal-data key: the element ids of pruned completed tasks, and how many tasks.
PRUNED = "irpm_pruned"
#: Workflow attribute (not stored): the size its tree must pass before ``prune`` looks again.
_NEXT = "_irpm_prune_at"
_DONE = TaskState.COMPLETED | TaskState.CANCELLED
#: A join in these states looks at its spec's other tasks (inputs arrived, data to merge).
_JOINING = TaskState.WAITING | TaskState.READY


def prune(workflow: Workflow, *, above: int | None = None) -> int:
    """Cut ``workflow``'s finished past if its tree holds more than ``above`` tasks
    (``PRUNE_ABOVE``); how many tasks went. ``workflow`` is one tree: the top workflow or one
    subprocess."""
    limit = PRUNE_ABOVE if above is None else above
    if len(workflow.tasks) <= max(limit, getattr(workflow, _NEXT, 0)):
        return 0
    gone = _cut(workflow)
    # Looked at again once it grew by half the limit: a tree whose live part alone is large
    # (or that a waiting join holds whole for now) is not walked after every task.
    setattr(workflow, _NEXT, len(workflow.tasks) + limit // 2)
    return gone


def _cut(workflow: Workflow) -> int:
    root = workflow.task_tree
    pinned = _pinned(workflow)
    if not pinned:
        return 0  # finished: nothing runs on, nothing to make room for
    path = _common_path(root, pinned)
    cut_at = len(path) - 1 - MARGIN
    if cut_at <= 1:
        return 0
    keep_from = path[cut_at]
    kept = _subtree_ids(workflow, keep_from)
    gone = [t for tid, t in workflow.tasks.items() if tid not in kept and t is not root]
    _remember(root, gone + _drop_subprocesses(workflow, gone))
    for task in gone:
        del workflow.tasks[task.id]
    root._children = [keep_from.id]
    keep_from._parent = root.id
    return len(gone)


def prune_all(workflow: BpmnWorkflow, *, above: int | None = None) -> int:
    """``prune`` the top workflow and each of its subprocesses."""
    count = prune(workflow, above=above)
    for sub in list(workflow.subprocesses.values()):
        count += prune(sub, above=above)
    return count


def prune_after(task: Task) -> None:
    """``do_engine_steps``' ``did_complete_task`` hook: prune the tree ``task`` ran in."""
    prune(task.workflow)


def pruned_done(workflow: BpmnWorkflow) -> set[str]:
    """The element ids (BPMN ids) of completed tasks pruned from ``workflow``'s tree and
    its subprocesses' (the instance page shows them done)."""
    done: set[str] = set()
    for one in (workflow, *workflow.subprocesses.values()):
        done.update((one.task_tree._get_internal_data(PRUNED) or {}).get("done", []))
    return done


def _pinned(workflow: Workflow) -> list[Task]:
    """The tasks the tree must keep with their ancestors' margin (see the module text)."""
    live = [t for t in workflow.tasks.values() if not t.state & _DONE]
    if not live:
        return []
    pinned = list(live)
    last = workflow.last_task
    if last is not None and workflow.tasks.get(last.id) is last:
        pinned.append(last)
    for task in live:
        split = getattr(task.task_spec, "split_task", None)
        if split is not None:
            ancestor = task.find_ancestor(split)
            if ancestor is not None:
                pinned.append(ancestor)
        if _joins(task):
            for other in workflow.tasks.values():
                if other.task_spec is task.task_spec:
                    pinned.append(other.parent or other)
    return pinned


def _joins(task: Task) -> bool:
    """Whether ``task`` is a parallel or inclusive gateway merging several flows that is
    waiting or about to run: it counts and merges its spec's other tasks (a gateway with one
    incoming flow, a mere fork, has nothing to wait for)."""
    spec = task.task_spec
    return isinstance(spec, UnstructuredJoin) and bool(task.state & _JOINING) \
        and len(spec.inputs) > 1


def _ancestry(task: Task) -> list[Task]:
    """Root first, ``task`` last."""
    chain = []
    current: Task | None = task
    while current is not None:
        chain.append(current)
        current = current.parent
    chain.reverse()
    return chain


def _common_path(root: Task, tasks: list[Task]) -> list[Task]:
    """The path from the root to the lowest task that is an ancestor (or self) of all."""
    path = _ancestry(tasks[0])
    for task in tasks[1:]:
        other = _ancestry(task)
        n = 0
        while n < len(path) and n < len(other) and path[n] is other[n]:
            n += 1
        path = path[:n]
    return path or [root]


def _subtree_ids(workflow: Workflow, top: Task) -> set[Any]:
    ids, stack = set(), [top.id]
    while stack:
        tid = stack.pop()
        ids.add(tid)
        stack.extend(workflow.tasks[tid]._children)
    return ids


def _drop_subprocesses(workflow: Workflow, gone: list[Task]) -> list[Task]:
    """Forget the subprocesses (and theirs) that pruned tasks ran: they are finished. Their
    tasks, and the roots of their own pruned trees, for ``_remember``."""
    top = getattr(workflow, "top_workflow", None)
    if not isinstance(top, BpmnWorkflow):
        return []
    dropped: list[Task] = []
    for task in gone:
        sub = top.subprocesses.get(task.id)
        if sub is not None:
            roots = [sub.task_tree] + [s.task_tree for s in top.subprocesses.values()
                                       if s.parent_workflow is sub]
            dropped += [*top.delete_subprocess(task), *roots]
    return dropped


def _remember(root: Task, gone: list[Task]) -> None:
    """Add the element ids of the completed tasks in ``gone`` (and those pruned before from
    any tree ``gone`` holds the root of) to the record on ``root``."""
    gone = list({t.id: t for t in gone}.values())
    record = root._get_internal_data(PRUNED) or {"tasks": 0, "done": []}
    done = set(record["done"])
    done.update(bpmn_id for t in gone if t.state == TaskState.COMPLETED
                and (bpmn_id := getattr(t.task_spec, "bpmn_id", None)))
    for task in gone:
        done.update((task._get_internal_data(PRUNED) or {}).get("done", []))
    root._set_internal_data(**{PRUNED: {"tasks": record["tasks"] + len(gone),
                                        "done": sorted(done)}})
