"""The one way into the engine. Each service takes a unit of work and owns its commit."""

from .clock import advance_clock, current_clock, is_simulated, now, set_clock, use_system_clock
from .deployment import deploy, find_definition, latest_definition, list_definitions
from .instances import (
    InstanceFilter,
    get_instance,
    instance_data,
    instance_events,
    list_instances,
    resume_instance,
    retry_instance,
    start_instance,
    suspend_instance,
    terminate_instance,
)
from .tasks import TaskFilter, claim_task, complete_task, get_task, list_tasks, unclaim_task
from .timers import advance_to, due_instance_ids, fire_due_timers, next_due

__all__ = [
    "InstanceFilter",
    "TaskFilter",
    "advance_clock",
    "advance_to",
    "claim_task",
    "complete_task",
    "current_clock",
    "deploy",
    "due_instance_ids",
    "find_definition",
    "fire_due_timers",
    "get_instance",
    "get_task",
    "instance_data",
    "instance_events",
    "is_simulated",
    "latest_definition",
    "list_definitions",
    "list_instances",
    "list_tasks",
    "next_due",
    "now",
    "resume_instance",
    "retry_instance",
    "set_clock",
    "start_instance",
    "suspend_instance",
    "terminate_instance",
    "unclaim_task",
    "use_system_clock",
]
