"""Every setting IRPM reads, with its default, in one place.

Values come from ``IRPM_*`` environment variables so the same code runs embedded (SQLite in
``instance/``) and in production (PostgreSQL), and nothing connects at import time: a
``Settings`` is a plain value built by ``Settings.from_env()`` when a process starts.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


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
    #: IRPM_SQL_ECHO — log SQL (debugging).
    sql_echo: bool = False

    @classmethod
    def from_env(cls, environ: os._Environ[str] | dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        defaults = cls()
        return cls(
            database_url=env.get("IRPM_DATABASE_URL") or defaults.database_url,
            bpmn_dir=Path(env.get("IRPM_BPMN_DIR") or defaults.bpmn_dir),
            workflow_cache_size=int(env.get("IRPM_WORKFLOW_CACHE_SIZE")
                                    or defaults.workflow_cache_size),
            max_task_data_bytes=int(env.get("IRPM_MAX_TASK_DATA_BYTES")
                                    or defaults.max_task_data_bytes),
            sql_echo=(env.get("IRPM_SQL_ECHO") or "").lower() in ("1", "true", "yes"),
        )
