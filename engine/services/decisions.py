"""Evaluating a deployed decision table outside a business-rule task.

``evaluate(uow, "responsibility", {"level": 1}, definition_id=instance.definition_id)`` runs
the table a process version was deployed with, so an instance keeps the rules of the version
it started on while new instances follow a table deployed since. Without a version it runs
the latest deployed table of that id. Which table, in order:

1. with ``definition_id``: the table of that id among the version's deployed sources (a
   process's sources include every table it names with ``spiffworkflow:calledDecisionId``,
   in a business-rule task or in a service task whose operator evaluates it);
2. the latest deployed table of that id: the one in the most recently deployed version of
   any process that includes it (a version deployed before it named the table lands here);
3. the table in the models directory (``Settings.bpmn_dir``, what ``irpm deploy`` deploys
   and what the designer lists as not yet deployed) when no process was deployed with one;
4. else ``DecisionNotDeployed``.

Costs: a table is parsed once per version of its file (``Runtime.decisions``, by content
hash); which tables a version has is read once per definition id (it never changes); the
latest tables are read once per transaction (one query, while nothing new was deployed).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import select

from ..db import UnitOfWork
from ..decisions import (
    Decision,
    DecisionCache,
    DecisionNotDeployed,
    decision_ids,
    run,
    run_explained,
)
from ..models import ProcessDefinition, SourceFile
from ..models.definition import definition_source
from ..parsing import Source

__all__ = ["evaluate", "evaluate_explained", "find", "latest_tables", "version_tables"]

#: ``Session.info`` key of the latest tables read in the current transaction.
_LATEST = "irpm_latest_decisions"


def evaluate(uow: UnitOfWork, decision_id: str, inputs: Mapping[str, Any], *,
             definition_id: int | None = None) -> dict[str, Any]:
    """The answer of decision ``decision_id`` for ``inputs`` (output name → value), from the
    table deployed with process version ``definition_id``, else the latest (module doc).

    Raises ``NoRuleMatched`` / ``DecisionFailed`` (``engine.decisions``) naming the decision
    and the inputs, and ``DecisionNotDeployed`` when there is no such table anywhere."""
    decision = find(uow, decision_id, definition_id=definition_id)
    return run(decision, inputs, uow.runtime.script_engine)


def evaluate_explained(uow: UnitOfWork, decision_id: str, inputs: Mapping[str, Any], *,
                       definition_id: int | None = None
                       ) -> tuple[dict[str, Any], tuple[str, ...]]:
    """``evaluate``'s answer and the descriptions of the rules that matched
    (``engine.decisions.run_explained``), from the same table."""
    decision = find(uow, decision_id, definition_id=definition_id)
    return run_explained(decision, inputs, uow.runtime.script_engine)


def find(uow: UnitOfWork, decision_id: str, *, definition_id: int | None = None) -> Decision:
    """The parsed table ``evaluate`` would run."""
    source_hash = None
    if definition_id is not None:
        source_hash = version_tables(uow, definition_id).get(decision_id)
    if source_hash is None:
        source_hash = latest_tables(uow).get(decision_id)
    if source_hash is not None:
        return _parsed(uow, source_hash, decision_id)
    bundled = _bundled(uow, decision_id)
    if bundled is not None:
        return bundled
    raise DecisionNotDeployed(
        f"no decision table '{decision_id}' is deployed (nor in "
        f"{uow.runtime.settings.bpmn_dir}); deploy the process that uses it",
        decision=decision_id)


def version_tables(uow: UnitOfWork, definition_id: int) -> dict[str, str]:
    """Decision id → content hash of every table deployed with process version
    ``definition_id``; read once per version."""
    cache: DecisionCache = uow.runtime.decisions
    found = cache.version(definition_id)
    if found is not None:
        return found
    hashes = list(uow.session.scalars(
        select(SourceFile.content_hash).join(
            definition_source, definition_source.c.source_hash == SourceFile.content_hash)
        .where(definition_source.c.definition_id == definition_id, SourceFile.kind == "dmn")
        .order_by(SourceFile.filename)))
    tables = _by_decision(uow, hashes)
    if hashes or uow.session.get(ProcessDefinition, definition_id) is not None:
        cache.note_version(definition_id, tables)  # a version's sources never change
    return tables


def latest_tables(uow: UnitOfWork) -> dict[str, str]:
    """Decision id → content hash of the latest deployed table of each decision: the one in
    the most recently deployed process version that includes a table of that id. Read once
    per transaction."""
    transaction = uow.session.get_transaction()
    memo = uow.session.info.get(_LATEST)
    if memo is not None and transaction is not None and memo[0] is transaction:
        tables: dict[str, str] = memo[1]
        return tables
    hashes = list(uow.session.scalars(
        select(SourceFile.content_hash).join(
            definition_source, definition_source.c.source_hash == SourceFile.content_hash)
        .where(SourceFile.kind == "dmn")
        .order_by(definition_source.c.definition_id.desc(), SourceFile.filename)))
    tables = _by_decision(uow, hashes)
    uow.session.info[_LATEST] = (uow.session.get_transaction(), tables)
    return tables


def _by_decision(uow: UnitOfWork, hashes: Iterable[str]) -> dict[str, str]:
    """Decision id → the first of ``hashes`` whose file defines it."""
    cache: DecisionCache = uow.runtime.decisions
    ordered = list(dict.fromkeys(hashes))
    unknown = [h for h in ordered if cache.ids(h) is None]
    if unknown:
        for content_hash, filename, content in uow.session.execute(
                select(SourceFile.content_hash, SourceFile.filename, SourceFile.content)
                .where(SourceFile.content_hash.in_(unknown))):
            cache.note_ids(content_hash, decision_ids(Source(filename, content.encode())))
    tables: dict[str, str] = {}
    for content_hash in ordered:
        for decision_id in sorted(cache.ids(content_hash) or ()):
            tables.setdefault(decision_id, content_hash)
    return tables


def _parsed(uow: UnitOfWork, source_hash: str, decision_id: str) -> Decision:
    cache: DecisionCache = uow.runtime.decisions
    tables = cache.tables(source_hash)
    if tables is None:
        row = uow.session.get(SourceFile, source_hash)
        if row is None:  # only if a source row vanished under a cached mapping
            raise DecisionNotDeployed(f"the deployed file of decision '{decision_id}' is gone",
                                      decision=decision_id)
        tables = cache.parse(Source(row.filename, row.content.encode("utf-8")),
                             key=source_hash)
    return tables[decision_id]


def _bundled(uow: UnitOfWork, decision_id: str) -> Decision | None:
    """Decision ``decision_id`` from the models directory, if a .dmn file there defines it."""
    directory: Path = uow.runtime.settings.bpmn_dir
    cache: DecisionCache = uow.runtime.decisions
    for path in sorted(directory.glob("*.dmn")) if directory.is_dir() else []:
        source = Source(path.name, path.read_bytes())
        ids = cache.ids(source.content_hash)
        if ids is None:
            ids = decision_ids(source)
            cache.note_ids(source.content_hash, ids)
        if decision_id in ids:
            return cache.parse(source)[decision_id]
    return None
