"""APScheduler jobs that drive BPMN timers and the programme's periodic chores.

Jobs stay thin: build a unit of work from an engine ``Runtime`` and call an engine service
(``engine.services.fire_due_timers`` and friends); no Flask app context is needed. The
programme's milestone deadlines are ordinary BPMN timers in bpmn/campaign.bpmn, so the
scheduler only has to drive BPMN timers well.

=============== ================================================================================
module          what it holds
=============== ================================================================================
``config``      ``SchedulerSettings``: ``IRPM_SCHEDULER`` (embedded | off) and the intervals
``service``     ``SchedulerService`` (leads or stands by; runs APScheduler with its jobs in the
                database) and ``start_embedded`` for ``irpm serve`` / ``web.wsgi``
``arming``      the one date job at the engine's earliest due timer, and how it is re-armed
``jobs``        the job functions (timers, yellow/red cards, pending e-mail)
``leader``      leadership: PostgreSQL advisory lock + LISTEN, SQLite lock file, who holds it
``status``      what ``irpm scheduler status`` shows
=============== ================================================================================
"""

from .config import SchedulerSettings
from .service import SchedulerService, start_embedded

__all__ = ["SchedulerService", "SchedulerSettings", "start_embedded"]
