"""The scheduler's settings, from ``IRPM_SCHEDULER*`` variables (the engine's are in
``engine.settings``, the web app's in ``web.config``).

=================================== =========== ===============================================
variable                            default     meaning
=================================== =========== ===============================================
``IRPM_SCHEDULER``                  embedded    ``embedded``: ``irpm serve`` (and a gunicorn
                                                worker through ``web.wsgi``) runs a scheduler in
                                                its own process; ``off``: it runs none — the
                                                production set-up, where ``irpm scheduler`` is
                                                a process of its own
``IRPM_SCHEDULER_SWEEP``            ``60``      seconds between safety sweeps: the timer job is
                                                re-armed from the database even if no change was
                                                heard of
``IRPM_SCHEDULER_STANDBY_POLL``     ``1``       seconds a standby scheduler waits between tries
                                                to take the lead
``IRPM_SCHEDULER_RETRY``            ``5``       seconds before a timer that could not be fired
                                                is tried again
``IRPM_SCHEDULER_CARDS_EVERY``      ``3600``    seconds between scans for yellow and red cards
                                                (``scan_due_cards``); ``0``: none
``IRPM_SCHEDULER_MAIL_EVERY``       ``60``      seconds between sends of pending e-mail
                                                (``send_pending_mail``, where the engine has
                                                it); ``0``: none
=================================== =========== ===============================================
"""

from __future__ import annotations

import os
from dataclasses import dataclass

MODES = ("embedded", "off")


@dataclass(frozen=True)
class SchedulerSettings:
    mode: str = "embedded"
    sweep_seconds: float = 60.0
    standby_poll_seconds: float = 1.0
    retry_seconds: float = 5.0
    cards_every_seconds: float = 3600.0
    mail_every_seconds: float = 60.0

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"IRPM_SCHEDULER is '{self.mode}'; use one of {', '.join(MODES)}")
        for name in ("sweep_seconds", "standby_poll_seconds", "retry_seconds"):
            if getattr(self, name) <= 0:
                raise ValueError(f"the scheduler's {name} must be positive")
        for name in ("cards_every_seconds", "mail_every_seconds"):
            if getattr(self, name) < 0:
                raise ValueError(f"the scheduler's {name} cannot be negative")

    @property
    def embedded(self) -> bool:
        return self.mode == "embedded"

    @classmethod
    def from_env(cls, environ: os._Environ[str] | dict[str, str] | None = None
                 ) -> SchedulerSettings:
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
        )
