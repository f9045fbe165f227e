"""The process-wide collaborators services need, built once per process.

A ``Runtime`` owns the database engine, the caches, the sandboxed script engine and the
candidate resolver. It is passed around explicitly (as ``uow.context``), never reached
through a global, so a scheduler job and a web request build their units of work the same
way and tests can run several runtimes side by side.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from .assignment import CandidateResolver, default_resolver
from .cache import SpecCache, WorkflowCache
from .clock import install_spiff_clock
from .db import UnitOfWork, make_engine, session_factory
from .operators import Operator
from .scripting import create_script_engine
from .settings import Settings


class Runtime:
    def __init__(self, settings: Settings | None = None, *,
                 resolver: CandidateResolver = default_resolver,
                 script_globals: dict[str, Any] | None = None,
                 db_engine: Engine | None = None) -> None:
        install_spiff_clock()
        self.settings = settings or Settings.from_env()
        self.db = db_engine or make_engine(self.settings.database_url,
                                           echo=self.settings.sql_echo)
        self._writers = session_factory(self.db, write=True)
        self._readers = session_factory(self.db, write=False)
        self.specs = SpecCache()
        self.workflows = WorkflowCache(self.settings.workflow_cache_size)
        self.script_engine = create_script_engine(script_globals)
        self.resolver = resolver
        #: Service-task operators by name (``engine.operators``); domain modules add theirs.
        self.operators: dict[str, Operator] = {}

    def register_operator(self, name: str, operator: Operator) -> None:
        self.operators[name] = operator

    def uow(self, *, write: bool = True) -> UnitOfWork:
        """A new unit of work; ``write=False`` for pure reads (no SQLite write lock)."""
        return UnitOfWork(self._writers if write else self._readers, write=write, context=self)

    def close(self) -> None:
        self.db.dispose()
