"""Deploying .bpmn/.dmn sources (and the JSON form files their user tasks name) as
versioned process definitions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select

from ..db import UnitOfWork
from ..errors import NotFound
from ..form_files import attach_form_files, split_form_files
from ..models import ACTIVE_STATUSES, ProcessDefinition, ProcessInstance, SourceFile
from ..parsing import ParsedProcess, Source, parse_sources
from ..serialization import dump_spec
from . import clock


@dataclass(frozen=True)
class DeployedProcess:
    process_id: str
    version: int
    definition_id: int
    created: bool  # False: the sources were unchanged, the latest version stands


def deploy(uow: UnitOfWork, sources: Sequence[Source], *,
           deployed_by: str | None = None) -> list[DeployedProcess]:
    """Parse and validate every source, then store a new version of each changed process.

    All or nothing: one invalid file raises ``DeploymentError`` and nothing is stored.
    """
    parsed = _parse_with_forms(sources)
    now = clock.now(uow)
    results = []
    for process in parsed:
        latest = latest_definition(uow, process.process_id)
        if latest is not None and latest.content_hash == process.content_hash:
            results.append(DeployedProcess(process.process_id, latest.version, latest.id, False))
            continue
        row = _store(uow, process, (latest.version + 1) if latest else 1, deployed_by, now)
        results.append(DeployedProcess(process.process_id, row.version, row.id, True))
    uow.commit()
    return results


def _parse_with_forms(sources: Sequence[Source]) -> list[ParsedProcess]:
    """Parse the BPMN/DMN sources; the ``.json`` files among them are SpiffArena form files,
    written into the tasks that name them (``engine.form_files``)."""
    models, forms = split_form_files(sources)
    parsed = parse_sources(models)
    attach_form_files(parsed, forms)
    return parsed


def _source_kind(source: Source) -> str:
    return "json" if source.filename.lower().endswith(".json") else source.kind


def _store(uow: UnitOfWork, process: ParsedProcess, version: int, deployed_by: str | None,
           now: object) -> ProcessDefinition:
    files = []
    for source in process.sources:
        existing = uow.session.get(SourceFile, source.content_hash)
        if existing is None:
            existing = SourceFile(content_hash=source.content_hash, filename=source.filename,
                                  kind=_source_kind(source), content=source.text, created_at=now)
            uow.session.add(existing)
        files.append(existing)
    row = ProcessDefinition(
        process_id=process.process_id, version=version, name=process.name,
        content_hash=process.content_hash,
        spec=dump_spec(process.spec, process.subprocess_specs),
        catalog=process.catalog, deployed_at=now, deployed_by=deployed_by, sources=files)
    uow.session.add(row)
    uow.session.flush()
    return row


def latest_definition(uow: UnitOfWork, process_id: str) -> ProcessDefinition | None:
    return uow.session.scalar(
        select(ProcessDefinition).where(ProcessDefinition.process_id == process_id)
        .order_by(ProcessDefinition.version.desc()).limit(1))


def find_definition(uow: UnitOfWork, process_id: str,
                    version: int | None = None) -> ProcessDefinition:
    if version is None:
        row = latest_definition(uow, process_id)
    else:
        row = uow.session.scalar(select(ProcessDefinition).where(
            ProcessDefinition.process_id == process_id, ProcessDefinition.version == version))
    if row is None:
        which = f"version {version} of " if version is not None else ""
        raise NotFound(f"no {which}process '{process_id}' is deployed; run `irpm deploy` first")
    return row


@dataclass(frozen=True)
class DefinitionSummary:
    id: int
    process_id: str
    version: int
    name: str
    deployed_at: object
    deployed_by: str | None
    instances: int


def list_definitions(uow: UnitOfWork) -> list[DefinitionSummary]:
    counts = (select(ProcessInstance.definition_id, func.count().label("n"))
              .group_by(ProcessInstance.definition_id).subquery())
    rows = uow.session.execute(
        select(ProcessDefinition.id, ProcessDefinition.process_id, ProcessDefinition.version,
               ProcessDefinition.name, ProcessDefinition.deployed_at,
               ProcessDefinition.deployed_by, func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.definition_id == ProcessDefinition.id)
        .order_by(ProcessDefinition.process_id, ProcessDefinition.version))
    return [DefinitionSummary(*row) for row in rows]


def running_by_version(uow: UnitOfWork,
                       process_ids: Sequence[str]) -> dict[str, list[tuple[int, int]]]:
    """For the deploy confirmation: each process's versions that still have running
    instances, (version, running), oldest first. A new version does not move them: they
    finish on the version they started on unless migrated."""
    rows = uow.session.execute(
        select(ProcessDefinition.process_id, ProcessDefinition.version, func.count())
        .join(ProcessInstance, ProcessInstance.definition_id == ProcessDefinition.id)
        .where(ProcessDefinition.process_id.in_(list(process_ids)),
               ProcessInstance.status.in_(ACTIVE_STATUSES))
        .group_by(ProcessDefinition.process_id, ProcessDefinition.version)
        .order_by(ProcessDefinition.process_id, ProcessDefinition.version))
    found: dict[str, list[tuple[int, int]]] = {}
    for process_id, version, running in rows:
        found.setdefault(process_id, []).append((version, int(running)))
    return found
