"""The runtime's SQLAlchemy models, one aggregate per module: definitions, instances, tasks,
timers, events, the clock, and what the console and the inbox keep beside them.

The integrity programme's models (organisation, register, milestones, public feedback) live
in ``engine.programme.models`` and share this ``Base``, so one metadata (and one Alembic
history) covers both.
"""

from .api_token import ApiToken
from .audit import AuditEntry, Chained, ChainHead
from .base import Base, one_of
from .batch import Batch, BatchItem, BatchStatus, ItemOutcome
from .clock import CLOCK_ROW, ClockState, simulated_now_column
from .definition import ProcessDefinition, SourceFile, definition_source
from .design import DesignDraft
from .draft import TaskDraft
from .evidence import Evidence
from .instance import (
    ACTIVE_STATUSES,
    FINAL_STATUSES,
    EventType,
    InstanceEvent,
    InstanceStatus,
    ProcessInstance,
)
from .job import OPEN_JOB_STATUSES, Job, JobStatus
from .mail import MailStatus, OutboxMail
from .message_wait import MessageWait
from .notification import Notification, NotificationAddress, NotificationKind
from .rate_limit import RateLimit
from .saved_filter import SavedFilter
from .scheduler_job import SCHEDULER_JOBS_TABLE, scheduler_jobs
from .task import CandidateKind, HumanTask, TaskCandidate, TaskState
from .timer import PendingTimer
from .variable import InstanceVariable

__all__ = [
    "ACTIVE_STATUSES",
    "CLOCK_ROW",
    "FINAL_STATUSES",
    "OPEN_JOB_STATUSES",
    "SCHEDULER_JOBS_TABLE",
    "ApiToken",
    "AuditEntry",
    "Base",
    "Batch",
    "BatchItem",
    "BatchStatus",
    "CandidateKind",
    "ChainHead",
    "Chained",
    "ClockState",
    "DesignDraft",
    "EventType",
    "Evidence",
    "HumanTask",
    "InstanceEvent",
    "InstanceStatus",
    "InstanceVariable",
    "ItemOutcome",
    "Job",
    "JobStatus",
    "MailStatus",
    "MessageWait",
    "Notification",
    "NotificationAddress",
    "NotificationKind",
    "OutboxMail",
    "PendingTimer",
    "ProcessDefinition",
    "ProcessInstance",
    "RateLimit",
    "SavedFilter",
    "SourceFile",
    "TaskCandidate",
    "TaskDraft",
    "TaskState",
    "definition_source",
    "one_of",
    "scheduler_jobs",
    "simulated_now_column",
]
