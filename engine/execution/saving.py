"""Saving a step — ``save`` — and the call activities that chain saves across instances:
saving a caller starts the child instances its call activities asked for (each run and saved
at once), and saving a child hands the waiting caller what it has for it — the errors and
escalations it threw and did not catch (for the call activity's boundary events), its
failure (the caller in error), its result once completed — and the caller runs on and is
saved in turn (a call an interrupting boundary event cancelled ends the child); what a
suspended caller could not take is collected when it is resumed.

``save`` and the call activities recurse into each other, so they share this module; it sits
on top of the rest (``checkout``, ``stepping``, ``mirror``, ``workflow``), which never import
it.
"""

from __future__ import annotations

from SpiffWorkflow.bpmn.exceptions import WorkflowDataException
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState as SpiffState
from sqlalchemy import select

from ..calls import (
    CHILD,
    DetachedCallActivity,
    deliver_to_caller,
    escaped_events,
    pending_calls,
)
from ..clock import FrozenClock, bind_clock
from ..db import UnitOfWork
from ..errors import NotFound
from ..jobs import calls_to_start
from ..messaging.waits import sync_message_waits
from ..models import (
    ACTIVE_STATUSES,
    EventType,
    InstanceStatus,
    ProcessDefinition,
    ProcessInstance,
)
from ..serialization import STATE_FORMAT, dump_state, unstorable
from ..variables import mirror_variables
from .checkout import (
    Live,
    check_out,
    load_definition,
    lock_instance,
    lock_instances,
    new_instance,
)
from .mirror import reroute_tasks, sync_tasks, sync_timers, write_events, write_instance
from .pruning import prune_all
from .stepping import bound_operators, catch_pending, error_text, run_engine, set_status
from .workflow import all_tasks, ready_human_tasks, waiting_timers


def deliver_thrown(uow: UnitOfWork, live: Live) -> None:
    """The messages the step threw, to their receivers (``engine.messaging.delivery``,
    which saves them through this module: imported here, when first needed)."""
    from ..messaging.delivery import deliver_thrown as deliver

    deliver(uow, live)


def save(uow: UnitOfWork, live: Live) -> None:
    """Mirror tasks and timers, set the status, write the state and the events."""
    instance = live.instance
    terminated = instance.status == InstanceStatus.TERMINATED
    if not terminated and live.error is None:
        catch_pending(live)
        deliver_thrown(uow, live)
        start_calls(uow, live)
    if instance.parent_instance_id is not None and not terminated \
            and (live.parent_notified or _caller_takes(uow, instance)):
        # Else they stay in the state, for the caller to collect when resumed.
        live.to_caller.extend(escaped_events(live.workflow))
    prune_all(live.workflow)
    state = _dump_or_refuse(live)
    ready = {} if terminated else ready_human_tasks(live.workflow)
    sync_tasks(uow, live, ready)
    if live.reroute is not None and live.error is None:
        reroute_tasks(uow, live, list(ready.values()), live.reroute)
        live.reroute = None
    changed, has_timers = sync_timers(uow, live,
                                      {} if terminated else waiting_timers(live.workflow))
    failed_before = (instance.status, instance.error_message)
    set_status(live)
    sync_message_waits(uow, live)
    newly_failed = instance.status == InstanceStatus.ERROR \
        and failed_before != (InstanceStatus.ERROR, instance.error_message)
    # state_format 0: inserted in this transaction (new_instance), so no rows to compare.
    mirror_variables(uow, instance.id, live.workflow, new=instance.state_format == 0)
    if changed or (has_timers and live.was_active != (instance.status in ACTIVE_STATUSES)):
        uow.runtime.timers_changed(uow)
    instance.state, instance.state_format = state or dump_state(live.workflow), STATE_FORMAT
    instance.updated_at = live.now
    write_instance(uow, instance)
    write_events(uow, live.events)
    live.events.clear()
    workflows, workflow, revision = uow.runtime.workflows, live.workflow, instance.revision
    uow.after_commit(lambda: workflows.checkin(instance.id, revision, workflow))
    if instance.parent_instance_id is None or live.parent_notified:
        return
    completed = instance.status == InstanceStatus.COMPLETED
    if completed or newly_failed or live.to_caller:
        live.parent_notified = completed
        notify_parent(uow, live)
        if live.call_cancelled:
            end_cancelled_child(uow, live)


def end_cancelled_child(uow: UnitOfWork, child: Live) -> None:
    """End a child whose call activity the caller's interrupting boundary event cancelled
    (an error or escalation the child threw and runs on after): SpiffWorkflow cancels the
    subworkflow with the call activity, so the child is cancelled and terminated."""
    child.call_cancelled = False
    # Its own running children end with it, as SpiffWorkflow's nested subworkflows do.
    for grandchild_id in uow.session.scalars(select(ProcessInstance.id).where(
            ProcessInstance.parent_instance_id == child.instance.id,
            ProcessInstance.status.in_(ACTIVE_STATUSES))).all():
        grandchild, _now = lock_instance(uow, grandchild_id)
        end_cancelled_child(uow, check_out(uow, grandchild, child.now))
    # Saved once already in this transaction: the mirror's rows are read again, not assumed.
    child.known_open = child.known_timers = None
    child.workflow.cancel()
    child.instance.status, child.instance.completed_at = InstanceStatus.TERMINATED, child.now
    child.log(EventType.TERMINATED, data={"reason": "the calling activity was interrupted"})
    save(uow, child)


def _dump_or_refuse(live: Live) -> bytes | None:
    """The workflow's state — or, when a step left a value the state cannot hold (scripts
    are checked as they run; this catches the other steps that set data, e.g. a decision
    table's output), the offending variables taken out of every task's data and the
    instance put into error naming them, and ``None`` (dumped again after that).

    Without it, the save failed with a 500 and so did every later completion, while the
    instance still said it was waiting (issue 13, finding 10).
    """
    try:
        return dump_state(live.workflow)
    except (TypeError, ValueError, RecursionError) as exc:
        failure = exc
    refused: dict[str, str] = {}
    element = None
    for task in all_tasks(live.workflow):
        bad = unstorable(task.data)
        for name, why in bad.items():
            task.data.pop(name, None)
            refused.setdefault(name, why)
            element = element or task.task_spec.name
    for name, why in unstorable(live.workflow.data).items():
        live.workflow.data.pop(name, None)
        refused.setdefault(name, why)
    if not refused:
        raise failure  # not task data: let the original failure show
    live.error = ("; ".join(f"variable '{name}' cannot be stored: {why}"
                            for name, why in refused.items()), element)
    return None


def start_calls(uow: UnitOfWork, live: Live) -> None:
    """Start a child instance for every call activity that asked for one; a child that
    completes at once hands its result back here and the caller runs on."""
    for _ in range(MAX_CALL_ROUNDS):
        calls = pending_calls(all_tasks(live.workflow)) if live.definition.has_calls else []
        if calls and live.error is None:
            calls = calls_to_start(uow, live, calls)  # marked ones go to a job
        if not calls or live.error is not None:
            return
        started: list[tuple[Task, Live]] = []
        for task in calls:
            child = _start_child(uow, live, task)
            if child is None:
                return  # the caller is in error: the callee's input was missing
            task._set_internal_data(**{CHILD: child.instance.id})
            live.log(EventType.CHILD_STARTED, task_id=task.id, element_id=task.task_spec.name,
                     data={"instance": child.instance.id, "process": child.instance.process_id})
            hand_back(live, task, child)
            started.append((task, child))
            if live.error is not None:
                return
        run_engine(live)
        for task, child in started:
            _end_if_cancelled(uow, task, child)


#: Rounds of "start children, run on" in one save; a loop of instant calls ends here.
MAX_CALL_ROUNDS = 100


def _start_child(uow: UnitOfWork, parent: Live, task: Task) -> Live | None:
    """The child instance ``task`` calls, started, run and saved; None (and the caller in
    error) when the caller lacks a data input the callee declares."""
    spec = task.task_spec
    assert isinstance(spec, DetachedCallActivity)
    definition_id = uow.session.scalar(
        select(ProcessDefinition.id).where(ProcessDefinition.process_id == spec.spec)
        .order_by(ProcessDefinition.version.desc()).limit(1))
    if definition_id is None:
        raise NotFound(f"call activity '{spec.name}' calls process '{spec.spec}', which is "
                       "not deployed")
    definition = load_definition(uow, definition_id)
    try:
        data = spec.child_input(task, definition.bundle[0])
    except WorkflowDataException as exc:
        task.error()
        parent.error = (error_text(exc), spec.name)
        return None
    key = data.get("business_key") if isinstance(data.get("business_key"), str) else None
    child = new_instance(uow, definition, parent.now, data,
                         business_key=key or parent.instance.business_key,
                         started_by=parent.instance.started_by,
                         parent=(parent.instance.id, task.id))
    run_engine(child)
    # The caller is right here and takes the result, events and failure itself.
    child.parent_notified = True
    save(uow, child)
    return child


def hand_back(live: Live, task: Task, child: Live) -> None:
    """What the child has for the caller's waiting ``task``: first the errors and
    escalations it threw (caught by the call activity's boundary events, or passed on up),
    then its failure (the caller in error, naming the child's failing element — in
    SpiffWorkflow the callee's exception stops the caller's run), else its result once it
    completed (if the call activity still waits: an interrupting event cancelled it)."""
    spec = task.task_spec
    assert isinstance(spec, DetachedCallActivity)
    events, child.to_caller = child.to_caller, []
    with bind_clock(FrozenClock(live.now)), bound_operators(live):
        if events:
            deliver_to_caller(task, events)
        if child.error is not None or child.instance.status == InstanceStatus.ERROR:
            message, element = child.error or (child.instance.error_message or "",
                                               child.instance.error_element)
            live.error = (f"{_failure_of(child.instance)} failed at '{element}': "
                          f"{message}"[:4000], element)
            return
        if child.instance.status != InstanceStatus.COMPLETED \
                or task.state != SpiffState.STARTED:
            return
        try:
            spec.receive_result(task, child.workflow)
        except WorkflowDataException as exc:
            live.error = (error_text(exc), spec.name)
            return
    live.log(EventType.CHILD_COMPLETED, task_id=task.id, element_id=spec.name,
             data={"instance": child.instance.id})


def has_children_to_collect(uow: UnitOfWork, instance_id: int) -> bool:
    """Whether a resumed caller may have something to collect: a child that completed, or
    one still running (it may have thrown errors or escalations meanwhile)."""
    return uow.session.scalar(select(ProcessInstance.id).where(
        ProcessInstance.parent_instance_id == instance_id,
        ProcessInstance.status.in_((InstanceStatus.COMPLETED, *ACTIVE_STATUSES)))
        .limit(1)) is not None


def _caller_takes(uow: UnitOfWork, child: ProcessInstance) -> bool:
    """Whether the child's caller takes what the child hands it now (``notify_parent``): a
    suspended one collects it when resumed."""
    row = uow.session.execute(select(ProcessInstance.status, ProcessInstance.error_message)
                              .where(ProcessInstance.id == child.parent_instance_id)).one()
    return row[0] in ACTIVE_STATUSES or (
        row[0] == InstanceStatus.ERROR and (row[1] or "").startswith(_failure_of(child) + " "))


def collect_finished_children(uow: UnitOfWork, live: Live) -> None:
    """Take the results of children that completed while the caller could not (it was
    suspended), then run the caller on."""
    waiting = {t._get_internal_data(CHILD): t for t in all_tasks(live.workflow)
               if isinstance(t.task_spec, DetachedCallActivity)
               and t.state == SpiffState.STARTED and t._get_internal_data(CHILD) is not None}
    if not waiting:
        return
    finished = uow.session.scalars(select(ProcessInstance).where(
        ProcessInstance.id.in_(list(waiting)),
        ProcessInstance.status == InstanceStatus.COMPLETED)).all()
    for child in finished:
        child_live = check_out(uow, child, live.now)
        child_live.to_caller = escaped_events(child_live.workflow)
        hand_back(live, waiting[child.id], child_live)
        uow.runtime.workflows.checkin(child.id, child.revision, child_live.workflow)
    thrown = _collect_thrown(uow, live, waiting)
    if finished or thrown:
        run_engine(live)
    for task, child_live in thrown:
        _end_if_cancelled(uow, task, child_live)


def _collect_thrown(uow: UnitOfWork, live: Live, waiting: dict[int, Task]
                    ) -> list[tuple[Task, Live]]:
    """Hand the caller the errors and escalations its running children threw while it was
    suspended (kept in their states), and save those children without them."""
    thrown = []
    running = uow.session.scalars(select(ProcessInstance.id).where(
        ProcessInstance.id.in_(list(waiting)),
        ProcessInstance.status.in_(ACTIVE_STATUSES))).all()
    # Caller before child is the reverse of the usual lock order: a child busy in a step
    # of its own is skipped (PostgreSQL), not waited for — it hands over by itself.
    for child in lock_instances(uow, list(running)):
        child_id = child.id
        child_live = check_out(uow, child, live.now)
        child_live.to_caller = escaped_events(child_live.workflow)
        if not child_live.to_caller:
            uow.runtime.workflows.checkin(child.id, child.revision, child_live.workflow)
            continue
        hand_back(live, waiting[child_id], child_live)
        child_live.parent_notified = True  # the caller is right here
        save(uow, child_live)
        thrown.append((waiting[child_id], child_live))
    return thrown


def _failure_of(child: ProcessInstance) -> str:
    """How a caller's error message names the failed child (and is recognised by it)."""
    return f"called process '{child.process_id}' (instance {child.id})"


def failed_child(uow: UnitOfWork, caller: ProcessInstance) -> ProcessInstance | None:
    """The child whose failure put ``caller`` in error, if that is why it is (and the child
    is still in error): the one to retry — the caller takes its result after."""
    if caller.status != InstanceStatus.ERROR or not caller.error_message:
        return None
    for child in uow.session.scalars(select(ProcessInstance).where(
            ProcessInstance.parent_instance_id == caller.id,
            ProcessInstance.status == InstanceStatus.ERROR)):
        if caller.error_message.startswith(_failure_of(child) + " "):
            return child
    return None


def notify_parent(uow: UnitOfWork, child: Live) -> None:
    """A child has something for its caller — errors or escalations it threw, its failure,
    its completion: hand it to the waiting call activity and run the caller on, in the same
    transaction (lock order: child, then parent)."""
    parent_id, task_id = child.instance.parent_instance_id, child.instance.parent_task_id
    assert parent_id is not None and task_id is not None
    parent, _now = lock_instance(uow, parent_id)
    failed_by_child = parent.status == InstanceStatus.ERROR and \
        (parent.error_message or "").startswith(_failure_of(child.instance) + " ")
    if parent.status not in (InstanceStatus.RUNNING, InstanceStatus.WAITING) \
            and not failed_by_child:
        # A suspended or terminated caller takes no results (it is in the history); one in
        # error for a failed child takes them once that child runs again (it was retried).
        return
    live = check_out(uow, parent, child.now)
    task = live.workflow.get_task_from_id(task_id)
    if task is None or task.state != SpiffState.STARTED:
        return
    hand_back(live, task, child)
    if live.error is None:
        run_engine(live)
    child.call_cancelled = _cancelled(task, child)
    save(uow, live)


def _cancelled(task: Task, child: Live) -> bool:
    """Whether the caller cancelled ``task`` (an interrupting boundary event caught what the
    child threw) while ``child`` still runs."""
    return task.state == SpiffState.CANCELLED and child.instance.status in ACTIVE_STATUSES


def _end_if_cancelled(uow: UnitOfWork, task: Task, child: Live) -> None:
    if _cancelled(task, child):
        end_cancelled_child(uow, child)
