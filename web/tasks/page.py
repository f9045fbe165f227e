"""Everything a task page shows, read in one unit of work: the task (if the user may see
it), its form and the user's draft, the post and its register, the instance's history and
the task's evidence files."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from engine.actors import Actor
from engine.db import UnitOfWork
from engine.errors import NotFound, StateUnreadable
from engine.models import (
    ACTIVE_STATUSES,
    Evidence,
    HumanTask,
    InstanceEvent,
    ProcessInstance,
    TaskDraft,
)
from engine.programme.services import people_names, register_pages
from engine.services import (
    clock,
    drafts,
    evidence,
    inbox,
    instances,
    task_access,
    task_context,
    task_forms,
    tasks,
)
from engine.task_context import ContextValue

from . import schema_form

#: Discovery steps and the method (查找方式) their risks are recorded with.
DISCOVERY_METHODS = ("self_identified", "peer_checked", "leader_pointed",
                     "organization_reviewed")


@dataclass
class TaskPage:
    task: HumanTask
    instance: ProcessInstance
    form: task_forms.TaskForm
    fields: list[schema_form.Field]
    events: list[InstanceEvent]
    #: Element id -> name, for the history.
    names: dict[str, str]
    #: The user may fill in and submit the form (and attach files).
    can_work: bool
    #: The user would be the one to work on it, were the instance running.
    allowed: bool
    draft: TaskDraft | None
    register: register_pages.PostRegister | None
    evidence: list[Evidence]
    #: Files may be attached: a discovery form (it has a ``risks`` list) or an element
    #: with the property ``evidence = true``.
    evidence_enabled: bool
    #: The data the task was completed with (from its ``task_completed`` event).
    submitted: dict[str, Any] | None
    #: ``red_card`` / ``yellow_card`` when the open task is overdue / due soon.
    card: str | None
    #: What the task is about, as its element declares (``engine.task_context``).
    context: list[ContextValue]
    #: The people and groups the history names, in words (``people_names``).
    people: people_names.PeopleNames
    #: The instance's open steps: this task while it is open, else those the process has
    #: moved on to (none: nothing is open) — a done task does not call itself current.
    current: list[HumanTask]

    @property
    def found_by(self) -> str | None:
        """How the risks of this discovery form are found (自己找, 互相查…), if it is one."""
        return self.task.element_id if self.task.element_id in DISCOVERY_METHODS else None

    @property
    def escalation(self) -> dict[str, Any] | None:
        """Why the task went up (回避, ``engine.separation``): its ``task_created`` event's
        ``escalated`` steps — ``excluded`` (who may not do it), ``from`` the candidates it
        emptied, ``to`` whom it went (``administrators``: nobody was left) — or None."""
        data = next((e.data for e in self.events
                     if e.type == "task_created" and e.task_id == self.task.id), None)
        steps = data.get("escalated") if isinstance(data, dict) else None
        if not steps or not isinstance(data, dict):
            return None
        excluded = data.get("excluded") or {}
        return {"excluded": ", ".join(excluded.get("logins") or excluded.get("groups") or []),
                "rules": ", ".join(excluded.get("rules") or []),
                "from": _names(steps[0]["from"]), "to": _names(steps[-1]["to"]),
                "administrators": bool(data.get("administrators"))}

    @property
    def halted(self) -> bool:
        """The task is open but its instance is suspended or ended: shown, not worked on."""
        return self.task.state == "open" and self.instance.status not in ACTIVE_STATUSES

    @property
    def is_open(self) -> bool:
        return self.task.state == "open"

    @property
    def mine(self) -> bool:
        return self.task.assignee is not None and self.task.assignee == self.actor_user

    actor_user: str = ""


def _names(candidates: Any) -> str:
    """An escalation step's candidates as text (``administrators`` as it is)."""
    if isinstance(candidates, str):
        return candidates
    return ", ".join([*candidates.get("users", []), *candidates.get("groups", [])])


def offered(event: InstanceEvent) -> tuple[list[str], list[str]]:
    """Whom a ``task_created`` / ``task_rerouted`` event gave the task to: (users, groups)."""
    data = event.data if isinstance(event.data, dict) else {}
    if event.type not in ("task_created", "task_rerouted"):
        return [], []
    return ([str(u) for u in data.get("users") or ()],
            [str(g) for g in data.get("groups") or ()])


def _people(uow: UnitOfWork, events: list[InstanceEvent]) -> people_names.PeopleNames:
    """Everyone the history names — who acted, to whom a task was given or handed — named
    for the page at once."""
    logins: set[str] = set()
    groups: set[str] = set()
    for event in events:
        users, offered_groups = offered(event)
        logins |= set(users) | ({event.actor} if event.actor else set())
        groups |= set(offered_groups)
        if event.type == "task_delegated" and isinstance(event.data, dict):
            logins.add(str(event.data.get("to")))
    return people_names.names(uow, logins, groups)


def _evidence_enabled(form: task_forms.TaskForm) -> bool:
    if str(form.properties.get("evidence", "")).lower() in ("true", "1", "yes"):
        return True
    risks = ((form.schema or {}).get("properties") or {}).get("risks") or {}
    return risks.get("type") == "array"


def _register(uow: UnitOfWork, task: HumanTask) -> register_pages.PostRegister | None:
    if not task.post_code:
        return None
    year = None
    try:
        value = instances.instance_data(uow, task.instance_id).get("year")
    except (NotFound, StateUnreadable):  # a damaged state: the page shows no register year
        value = None
    if isinstance(value, int) and not isinstance(value, bool):
        year = value
    try:
        return register_pages.post_register(uow, task.post_code, year)
    except NotFound:
        return None


def load(uow: UnitOfWork, task_id: uuid.UUID, actor: Actor, *,
         near_due: timedelta = timedelta(days=3)) -> TaskPage:
    """The page's content; ``Forbidden`` if ``actor`` may not see the task."""
    task = tasks.view_task(uow, task_id, actor)
    instance = instances.get_instance(uow, task.instance_id)
    form = task_forms.task_form(uow, task)
    events = instances.instance_events(uow, task.instance_id)
    allowed = task_access.may_work_on(task, actor)
    # A suspended or ended instance's task is shown, not worked on (``tasks`` refuses it).
    can_work = allowed and instance.status in ACTIVE_STATUSES
    enabled = _evidence_enabled(form)
    submitted = next((e.data for e in reversed(events)
                      if e.type == "task_completed" and e.task_id == task.id), None)
    return TaskPage(
        task=task, instance=instance, form=form,
        fields=schema_form.build(form.schema, form.ui_schema),
        events=events, names=task_forms.element_names(uow, task.definition_id),
        can_work=can_work, allowed=allowed,
        draft=drafts.get_draft(uow, task.id, actor.user) if allowed else None,
        register=_register(uow, task),
        evidence=evidence.list_evidence(uow, task) if enabled else [],
        evidence_enabled=enabled, submitted=submitted if isinstance(submitted, dict) else None,
        card=inbox.due_card(task.state, task.due_at, clock.now(uow), near_due),
        context=task_context.task_context(uow, task),
        current=[task] if task.state == "open" else instances.open_tasks(uow, task.instance_id),
        people=_people(uow, events),
        actor_user=actor.user)
