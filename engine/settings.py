"""Every setting the engine reads, with its default, in one place.

Values come from ``IRPM_*`` environment variables so the same code runs embedded (SQLite in
``instance/``) and in production (PostgreSQL), and nothing connects at import time: a
``Settings`` is a plain value built by ``Settings.from_env()`` when a process starts. This is
the only module of the engine that reads the environment; the web app's settings are
``web.config``'s, the scheduler's ``scheduler.config``'s, and README.md's "设置 · Settings"
lists them all.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from .budgets import ScriptBudget
from .mail import SmtpSettings

PROJECT_ROOT = Path(__file__).resolve().parent.parent
#: How close to its due date a task gets a yellow card (黄牌), unless set.
DEFAULT_NEAR_DUE = timedelta(days=3)


def _default_database_url() -> str:
    return f"sqlite:///{PROJECT_ROOT / 'instance' / 'irpm.db'}"


@dataclass(frozen=True)
class Settings:
    #: IRPM_DATABASE_URL — SQLAlchemy URL; SQLite file by default,
    #: ``postgresql+psycopg://user:pw@host/db`` in production.
    database_url: str = field(default_factory=_default_database_url)
    #: IRPM_BPMN_DIR — where ``irpm deploy`` looks when no path is given.
    bpmn_dir: Path = PROJECT_ROOT / "bpmn"
    #: IRPM_WORKFLOW_CACHE_SIZE — live workflows kept per process (saves deserializing).
    workflow_cache_size: int = 2000
    #: IRPM_MAX_TASK_DATA_BYTES — largest JSON a task completion may carry.
    max_task_data_bytes: int = 256 * 1024
    #: IRPM_SCRIPT_TIME_LIMIT (seconds, default 2) and IRPM_SCRIPT_MEMORY_LIMIT (MB, default
    #: 256) — what one script, condition or DMN cell may spend (``engine.budgets``); over it,
    #: the instance goes to ``error`` naming the element and the budget.
    script_budget: ScriptBudget = field(default_factory=ScriptBudget)
    #: IRPM_SQL_ECHO — log SQL (debugging).
    sql_echo: bool = False
    #: IRPM_NEAR_DUE_DAYS — a task due within this many days gets a yellow card
    #: (``engine.services.due_cards``).
    near_due: timedelta = DEFAULT_NEAR_DUE
    #: IRPM_SMTP_* and IRPM_BASE_URL — e-mail of notifications; off unless a host and a sender
    #: are set (``engine.mail.SmtpSettings`` parses them).
    smtp: SmtpSettings = field(default_factory=SmtpSettings)
    #: IRPM_PG_BIN_DIR — where ``irpm backup`` / ``irpm restore`` find ``pg_dump``,
    #: ``pg_restore`` and ``psql`` for PostgreSQL (unset: the PATH, then the newest
    #: ``/usr/lib/postgresql/*/bin``); they must be at least the server's version.
    pg_bin_dir: Path | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        defaults = cls()
        days = (env.get("IRPM_NEAR_DUE_DAYS") or "").strip()
        seconds = (env.get("IRPM_SCRIPT_TIME_LIMIT") or "").strip()
        megabytes = (env.get("IRPM_SCRIPT_MEMORY_LIMIT") or "").strip()
        return cls(
            database_url=env.get("IRPM_DATABASE_URL") or defaults.database_url,
            bpmn_dir=Path(env.get("IRPM_BPMN_DIR") or defaults.bpmn_dir),
            workflow_cache_size=int(env.get("IRPM_WORKFLOW_CACHE_SIZE")
                                    or defaults.workflow_cache_size),
            max_task_data_bytes=int(env.get("IRPM_MAX_TASK_DATA_BYTES")
                                    or defaults.max_task_data_bytes),
            script_budget=_script_budget(seconds, megabytes, defaults.script_budget),
            sql_echo=(env.get("IRPM_SQL_ECHO") or "").lower() in ("1", "true", "yes"),
            near_due=timedelta(days=float(days)) if days else defaults.near_due,
            smtp=SmtpSettings.from_mapping({
                key: value for key, value in env.items()
                if key.startswith("IRPM_SMTP_") or key == "IRPM_BASE_URL"}),
            pg_bin_dir=Path(env["IRPM_PG_BIN_DIR"]) if env.get("IRPM_PG_BIN_DIR") else None,
        )


def _script_budget(seconds: str, megabytes: str, default: ScriptBudget) -> ScriptBudget:
    """The budget from IRPM_SCRIPT_TIME_LIMIT / IRPM_SCRIPT_MEMORY_LIMIT; a value that is not
    a positive number stops the process at start, naming the setting."""
    budget = ScriptBudget(float(seconds) if seconds else default.seconds,
                          int(megabytes) if megabytes else default.memory_mb)
    if not budget.seconds > 0 or budget.memory_mb <= 0:
        raise ValueError("IRPM_SCRIPT_TIME_LIMIT (seconds) and IRPM_SCRIPT_MEMORY_LIMIT (MB) "
                         f"must be positive; got {seconds or default.seconds!r} and "
                         f"{megabytes or default.memory_mb!r}")
    return budget
