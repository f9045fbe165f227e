"""The designer's decision tables: which version of each .dmn file runs, and what a change
to it affects.

A table is deployed as part of every process that names it (``spiffworkflow:calledDecisionId``
in a business-rule task, or in a service task whose operator evaluates it). So the file that
runs is the one in the most recently deployed version that includes a file of that name —
the same "latest" ``engine.services.decisions`` evaluates — not the first-stored copy of
some content. Deploying a changed table makes a new version of every process whose latest
version includes it; instances already running keep the version, and the table, they
started with. ``users`` lists those processes with their running instances. A deployment
from the designer takes every table it does not upload as it runs now
(``with_named_tables``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

from sqlalchemy import func, select

from ..db import UnitOfWork
from ..decisions import DecisionCache, decision_ids
from ..models import ACTIVE_STATUSES, DesignDraft, ProcessDefinition, ProcessInstance, SourceFile
from ..models.definition import definition_source
from ..parsing import NS, Source, parse_xml
from .decisions import latest_tables

__all__ = ["DecisionFile", "TableUser", "decision_files", "latest_source", "with_named_tables"]


@dataclass(frozen=True)
class TableUser:
    """A process with versions that include the table."""

    process_id: str
    name: str
    #: The process's latest version; ``in_latest``: whether it includes the table (only then
    #: does deploying the table make a new version of the process).
    latest_version: int
    in_latest: bool
    #: The versions that include a version of the table, newest first.
    versions: tuple[int, ...]
    #: Instances still running on those versions (they keep their version's table).
    running: int


@dataclass(frozen=True)
class DecisionFile:
    filename: str
    decisions: list[str]
    #: When the version of the file that runs was deployed; None: not deployed (no process
    #: uses it), only in the models directory.
    deployed_at: datetime | None
    draft: DesignDraft | None
    #: The content hash of the file that runs (None: not deployed).
    content_hash: str | None = None
    users: tuple[TableUser, ...] = field(default_factory=tuple)


class _Version(NamedTuple):
    id: int
    process_id: str
    version: int
    name: str
    deployed_at: datetime


def latest_source(uow: UnitOfWork, filename: str) -> SourceFile | None:
    """The file of that name in the most recently deployed process version that has one."""
    return uow.session.scalar(
        select(SourceFile).join(definition_source,
                                definition_source.c.source_hash == SourceFile.content_hash)
        .where(SourceFile.filename == filename)
        .order_by(definition_source.c.definition_id.desc()).limit(1))


def _ids(uow: UnitOfWork, source: Source) -> list[str]:
    cache: DecisionCache = uow.runtime.decisions
    found = cache.ids(source.content_hash)
    if found is None:
        found = decision_ids(source)
        cache.note_ids(source.content_hash, found)
    return sorted(found)


def decision_files(uow: UnitOfWork, drafts: MutableMapping[str, DesignDraft],
                   models_dir: Path | None = None) -> list[DecisionFile]:
    """Every deployed .dmn file (and those only in ``models_dir``) with the processes using
    it; the drafts of the files listed are taken out of ``drafts``."""
    running: dict[int, int] = {definition_id: count for definition_id, count in uow.session.execute(
        select(ProcessInstance.definition_id, func.count())
        .where(ProcessInstance.status.in_(ACTIVE_STATUSES))
        .group_by(ProcessInstance.definition_id))}
    definitions = {row[0]: _Version(*row) for row in uow.session.execute(
        select(ProcessDefinition.id, ProcessDefinition.process_id, ProcessDefinition.version,
               ProcessDefinition.name, ProcessDefinition.deployed_at))}
    latest: dict[str, int] = {}
    for row in definitions.values():
        if row.id > latest.get(row.process_id, 0):
            latest[row.process_id] = row.id
    uses: dict[str, list[tuple[int, SourceFile]]] = defaultdict(list)
    for definition_id, source in uow.session.execute(
            select(definition_source.c.definition_id, SourceFile)
            .join(SourceFile, definition_source.c.source_hash == SourceFile.content_hash)
            .where(SourceFile.kind == "dmn")
            .order_by(definition_source.c.definition_id.desc())):
        uses[source.filename].append((definition_id, source))
    files: dict[str, DecisionFile] = {}
    for filename, used in uses.items():
        newest_id, newest = used[0]
        files[filename] = DecisionFile(
            filename, _ids(uow, Source(filename, newest.content.encode("utf-8"))),
            definitions[newest_id].deployed_at, drafts.pop(filename, None),
            newest.content_hash, _users({d for d, _ in used}, definitions, latest, running))
    for path in sorted(models_dir.glob("*.dmn")) if models_dir else []:
        if path.name not in files:
            files[path.name] = DecisionFile(
                path.name, _ids(uow, Source(path.name, path.read_bytes())), None,
                drafts.pop(path.name, None))
    return sorted(files.values(), key=lambda f: f.filename)


def _users(including: set[int], definitions: dict[int, _Version], latest: dict[str, int],
           running: dict[int, int]) -> tuple[TableUser, ...]:
    by_process: dict[str, list[int]] = defaultdict(list)
    for definition_id in including:
        by_process[definitions[definition_id].process_id].append(definition_id)
    users = []
    for process_id, ids in sorted(by_process.items()):
        newest = definitions[latest[process_id]]
        users.append(TableUser(
            process_id, newest.name, newest.version, latest[process_id] in ids,
            tuple(definitions[d].version for d in sorted(ids, reverse=True)),
            sum(running.get(d, 0) for d in ids)))
    return tuple(users)


def with_named_tables(uow: UnitOfWork, sources: list[Source],
                      uploaded: set[str]) -> list[Source]:
    """The files to deploy: ``sources`` (an upload completed by
    ``design_lint.complete_sources``) with every table not uploaded taken as it runs now.

    Two things ``complete_sources`` does not do yet: a service task names the tables its
    operator evaluates like a business-rule task does (``spiffworkflow:calledDecisionId``),
    and without them a process redeployed from the designer (say unit_cycle, which calls
    post_cycle) would get a version without its tables; and it picks a deployed table by when
    its content was first stored, so after a table was deployed back to an earlier content the
    newer, no longer running one would come back. Here every table that was not uploaded is the
    latest deployed table of its decision id — the one that runs and the designer shows.
    """
    tables = latest_tables(uow)
    named: set[str] = set()
    kept: list[Source] = []
    names: set[str] = set()
    for source in sources:
        if source.filename.lower().endswith(".json"):  # a form file: no tables in it
            kept.append(source)
            continue
        if source.kind != "dmn":
            named |= {(node.text or "").strip() for node in
                      parse_xml(source).iterfind(".//spiffworkflow:calledDecisionId", NS)}
            kept.append(source)
            continue
        ids = decision_ids(source)
        named |= ids
        running = {tables[i] for i in ids if i in tables}
        if source.filename in uploaded or not running or source.content_hash in running:
            kept.append(source)
            names.add(source.filename)
    have = {i for s in kept if s.kind == "dmn" for i in decision_ids(s)}
    for decision_id in sorted(named - have - {""}):
        row = uow.session.get(SourceFile, tables[decision_id]) if decision_id in tables else None
        if row is not None and row.filename not in names:
            kept.append(Source(row.filename, row.content.encode("utf-8")))
            names.add(row.filename)
    return kept
