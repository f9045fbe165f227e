"""The scheduler's settings, from ``IRPM_SCHEDULER*`` variables — the only place the
scheduler reads the environment (the engine's are in ``engine.settings``, the web app's in
``web.config``; README.md's "设置 · Settings" lists them all).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

MODES = ("embedded", "off")


@dataclass(frozen=True)
class SchedulerSettings:
    #: IRPM_SCHEDULER — ``embedded``: ``irpm serve`` (and a gunicorn worker through
    #: ``web.wsgi``) runs a scheduler in its own process; ``off``: it runs none — the
    #: production set-up, where ``irpm scheduler`` is a process of its own.
    mode: str = "embedded"
    #: IRPM_SCHEDULER_SWEEP — seconds between safety sweeps: the timer job is re-armed from
    #: the database even if no change was heard of.
    sweep_seconds: float = 60.0
    #: IRPM_SCHEDULER_STANDBY_POLL — seconds a standby waits between tries to take the lead.
    standby_poll_seconds: float = 1.0
    #: IRPM_SCHEDULER_RETRY — seconds before a timer that could not be fired is tried again.
    retry_seconds: float = 5.0
    #: IRPM_SCHEDULER_CARDS_EVERY — seconds between scans for yellow and red cards
    #: (``due_cards.scan_due_cards``); 0: none.
    cards_every_seconds: float = 3600.0
    #: IRPM_SCHEDULER_MAIL_EVERY — seconds between sends of pending e-mail
    #: (``mail_outbox.send_pending_mail``); 0: none.
    mail_every_seconds: float = 60.0
    #: IRPM_SCHEDULER_JOBS_EVERY — seconds between looks for queued background jobs
    #: (``engine.services.jobs.run_pending_jobs``: the instances a mobilisation starts);
    #: 0: none (then only ``irpm jobs run`` runs them).
    jobs_every_seconds: float = 2.0

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"IRPM_SCHEDULER is '{self.mode}'; use one of {', '.join(MODES)}")
        for name in ("sweep_seconds", "standby_poll_seconds", "retry_seconds"):
            if getattr(self, name) <= 0:
                raise ValueError(f"the scheduler's {name} must be positive")
        for name in ("cards_every_seconds", "mail_every_seconds", "jobs_every_seconds"):
            if getattr(self, name) < 0:
                raise ValueError(f"the scheduler's {name} cannot be negative")

    @property
    def embedded(self) -> bool:
        return self.mode == "embedded"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SchedulerSettings:
        env = os.environ if environ is None else environ
        defaults = cls()

        def number(name: str, default: float) -> float:
            raw = env.get(name)
            if not raw:
                return default
            try:
                return float(raw)
            except ValueError:
                raise ValueError(f"{name} is '{raw}', not a number of seconds") from None

        return cls(
            mode=(env.get("IRPM_SCHEDULER") or defaults.mode).strip().lower(),
            sweep_seconds=number("IRPM_SCHEDULER_SWEEP", defaults.sweep_seconds),
            standby_poll_seconds=number("IRPM_SCHEDULER_STANDBY_POLL",
                                        defaults.standby_poll_seconds),
            retry_seconds=number("IRPM_SCHEDULER_RETRY", defaults.retry_seconds),
            cards_every_seconds=number("IRPM_SCHEDULER_CARDS_EVERY",
                                       defaults.cards_every_seconds),
            mail_every_seconds=number("IRPM_SCHEDULER_MAIL_EVERY", defaults.mail_every_seconds),
            jobs_every_seconds=number("IRPM_SCHEDULER_JOBS_EVERY", defaults.jobs_every_seconds),
        )
