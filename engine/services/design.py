"""The process designer's services: the definitions overview, the files behind each version,
validation, deployment of what passed validation, and drafts.

Deployment here is ``deployment.deploy`` behind ``design_lint.validation.validate_sources``: a file
with any problem is refused with all its problems and nothing is stored, so what the editor
could not validate never becomes a version.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import case, delete, func, select
from sqlalchemy.exc import IntegrityError

from ..db import UnitOfWork
from ..errors import ConcurrentUpdate, IrpmError, NotFound, ValidationFailed
from ..models import ACTIVE_STATUSES, DesignDraft, ProcessDefinition, ProcessInstance, SourceFile
from ..parsing import MAX_SOURCE_BYTES, NS, Source, file_kind, is_executable, parse_xml
from . import clock, design_blank
from .deployment import DeployedProcess, deploy, find_definition, running_by_version
from .design_lint import form_files, validation
from .design_lint.problem import Problem
from .design_tables import (
    DecisionFile,
    TableUser,
    decision_files,
    latest_source,
    with_named_tables,
)

__all__ = [
    "DecisionFile", "DeployCheck", "DesignFile", "DesignRejected", "OtherCopy", "Overview",
    "ProcessVersions", "TableUser", "VersionRow", "decision_file", "deploy_check",
    "deploy_design", "design_file", "discard_draft", "drafts_of", "editor_file", "get_draft",
    "new_blank", "overview", "save_drafts", "validate_design",
]


class DesignRejected(IrpmError):
    """The files have problems; ``problems`` lists each (element, line, message)."""

    code = "design_rejected"

    def __init__(self, problems: Sequence[Problem]) -> None:
        first = problems[0].message if problems else "invalid"
        super().__init__(f"{len(problems)} problem(s), the first: {first}",
                         problems=[p.as_dict() for p in problems])
        self.problems = list(problems)


@dataclass(frozen=True)
class VersionRow:
    definition_id: int
    version: int
    name: str
    deployed_at: datetime
    deployed_by: str | None
    instances: int
    running: int


@dataclass
class ProcessVersions:
    process_id: str
    name: str
    filename: str | None
    versions: list[VersionRow] = field(default_factory=list)
    draft: DesignDraft | None = None


@dataclass(frozen=True)
class Overview:
    processes: list[ProcessVersions]
    decision_files: list[DecisionFile]
    #: Drafts of files that are not deployed yet.
    new_drafts: list[DesignDraft]


def _own_file(row: ProcessDefinition) -> SourceFile | None:
    for source in row.sources:
        if source.kind == "bpmn" and f'"{row.process_id}"' in source.content:
            root = parse_xml(Source(source.filename, source.content.encode("utf-8")))
            if any(p.get("id") == row.process_id for p in root.iterfind("bpmn:process", NS)):
                return source
    return None


def overview(uow: UnitOfWork, models_dir: Path | None = None) -> Overview:
    """Each process with its versions (newest first: who deployed each, when, how many
    instances were started on it and how many still run), the decision tables (deployed —
    the version that runs and the processes using it — or only in ``models_dir``, which the
    engine evaluates until a process using them is deployed), and the drafts."""
    counts = (select(ProcessInstance.definition_id,
                     func.count().label("n"),
                     func.sum(case((ProcessInstance.status.in_(ACTIVE_STATUSES), 1),
                                   else_=0)).label("running"))
              .group_by(ProcessInstance.definition_id).subquery())
    rows = uow.session.execute(
        select(ProcessDefinition, func.coalesce(counts.c.n, 0),
               func.coalesce(counts.c.running, 0))
        .outerjoin(counts, counts.c.definition_id == ProcessDefinition.id)
        .order_by(ProcessDefinition.process_id, ProcessDefinition.version.desc()))
    drafts = {d.filename: d for d in uow.session.scalars(select(DesignDraft))}
    processes: dict[str, ProcessVersions] = {}
    for row, total, running in rows:
        entry = processes.get(row.process_id)
        if entry is None:  # the newest version comes first
            own = _own_file(row)
            entry = processes[row.process_id] = ProcessVersions(
                row.process_id, row.name, own.filename if own else None)
            entry.draft = drafts.pop(own.filename, None) if own else None
        entry.versions.append(VersionRow(row.id, row.version, row.name, row.deployed_at,
                                         row.deployed_by, int(total), int(running)))
    tables = decision_files(uow, drafts, models_dir)
    return Overview(list(processes.values()), tables,
                    sorted((d for d in drafts.values() if d.kind != FORM_KIND),
                           key=lambda d: d.filename))


def decision_file(uow: UnitOfWork, filename: str,
                  models_dir: Path | None = None) -> DecisionFile | None:
    """One decision table as ``overview`` lists it (the processes a change affects)."""
    return next((f for f in decision_files(uow, {}, models_dir) if f.filename == filename),
                None)


@dataclass(frozen=True)
class DesignFile:
    filename: str
    kind: str
    content: str
    #: Where it comes from: "v3" of a process, "deployed" (a decision table), "draft".
    origin: str
    saved_by: str | None = None
    saved_at: datetime | None = None
    #: The form files (SpiffArena's ``.json`` schema and ui-schema files) that go with it:
    #: (file name, text), those of the version, or the draft's.
    forms: list[tuple[str, str]] = field(default_factory=list)
    #: The other copy the editor should mention (``editor_file``): the deployed file a newer
    #: draft was opened instead of, or the older draft of the version opened.
    other: OtherCopy | None = None


@dataclass(frozen=True)
class OtherCopy:
    """The copy of a file not opened: "draft", "v3" (a process version) or "deployed"."""

    origin: str
    saved_by: str | None
    saved_at: datetime | None


#: ``DesignDraft.kind`` and ``SourceFile.kind`` of a form file.
FORM_KIND = "json"


def _version_forms(row: ProcessDefinition | None) -> list[tuple[str, str]]:
    if row is None:
        return []
    return sorted((s.filename, s.content) for s in row.sources if s.kind == FORM_KIND)


def _draft_forms(uow: UnitOfWork, draft: DesignDraft) -> list[tuple[str, str]]:
    """The form files saved with a draft, else those of the process's latest version."""
    if draft.process_id is None:
        return []
    saved = uow.session.scalars(select(DesignDraft).where(
        DesignDraft.process_id == draft.process_id, DesignDraft.kind == FORM_KIND))
    found = sorted((d.filename, d.content) for d in saved)
    if found:
        return found
    latest = uow.session.scalar(
        select(ProcessDefinition).where(ProcessDefinition.process_id == draft.process_id)
        .order_by(ProcessDefinition.version.desc()).limit(1))
    return _version_forms(latest)


def design_file(uow: UnitOfWork, *, process_id: str | None = None,
                version: int | None = None, filename: str | None = None,
                draft: bool = False, models_dir: Path | None = None) -> DesignFile:
    """The file to open in the editor: a process's own BPMN file at a version (default:
    the latest), the latest deployed file of that name (else the one in ``models_dir``),
    or its draft."""
    if draft:
        if filename is None and process_id is not None:
            filename = (_own_filename(uow, process_id) or "")
        found = uow.session.scalar(select(DesignDraft).where(DesignDraft.filename == filename))
        if found is None:
            raise NotFound(f"there is no draft of '{filename}'")
        return DesignFile(found.filename, found.kind, found.content, "draft",
                          found.saved_by, found.saved_at, _draft_forms(uow, found))
    if process_id is not None:
        row = find_definition(uow, process_id, version)
        own = _own_file(row)
        if own is None:
            raise NotFound(f"no BPMN file defines process '{process_id}' v{row.version}")
        return DesignFile(own.filename, own.kind, own.content, f"v{row.version}",
                          row.deployed_by, row.deployed_at, _version_forms(row))
    latest = latest_source(uow, filename) if filename else None
    if latest is None:
        path = models_dir / filename if models_dir and filename else None
        if (path is not None and path.name == filename and file_kind(path.name)
                and path.is_file()):
            return DesignFile(path.name, Source(path.name, b"").kind,
                              path.read_text("utf-8"), "models")
        raise NotFound(f"no file '{filename}' is deployed")
    return DesignFile(latest.filename, latest.kind, latest.content, "deployed",
                      None, latest.created_at)


def editor_file(uow: UnitOfWork, *, process_id: str | None = None,
                filename: str | None = None, models_dir: Path | None = None) -> DesignFile:
    """What 编辑 opens: the file's draft unless the deployed file is newer (someone's
    unfinished work must not be hidden behind the version), else the deployed file. Either way
    ``other`` names the copy not opened, so the editor can say so and link to it."""
    if filename is None and process_id is not None:
        filename = _own_filename(uow, process_id)
    draft = get_draft(uow, filename) if filename else None
    try:
        deployed = design_file(uow, process_id=process_id, filename=filename,
                               models_dir=models_dir)
    except NotFound:
        if draft is None:
            raise
        deployed = None
    if draft is None:
        return deployed  # type: ignore[return-value]  # NotFound was raised otherwise
    opened = design_file(uow, filename=draft.filename, draft=True)
    # ``>=``: a simulated clock stands still, so a draft saved after a deploy may carry the
    # deploy's very time; on a tie the unfinished work is shown (the deployed file is linked)
    if deployed is None or deployed.saved_at is None or (
            _aware(draft.saved_at) >= _aware(deployed.saved_at)):
        other = (OtherCopy(deployed.origin, deployed.saved_by, deployed.saved_at)
                 if deployed is not None else None)
        return replace(opened, other=other)
    return replace(deployed, other=OtherCopy("draft", draft.saved_by, draft.saved_at))


def _aware(at: datetime) -> datetime:
    """SQLite gives naive UTC datetimes back; PostgreSQL aware ones."""
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def _own_filename(uow: UnitOfWork, process_id: str) -> str | None:
    latest = uow.session.scalar(
        select(ProcessDefinition).where(ProcessDefinition.process_id == process_id)
        .order_by(ProcessDefinition.version.desc()).limit(1))
    own = _own_file(latest) if latest is not None else None
    if own is not None:
        return own.filename
    draft = uow.session.scalar(select(DesignDraft).where(DesignDraft.process_id == process_id))
    return draft.filename if draft is not None else None


def validate_design(uow: UnitOfWork, sources: Sequence[Source]) -> list[Problem]:
    """Every problem of the files; empty when they can be deployed. Changes nothing."""
    problems, _ = validation.validate_sources(uow, sources)
    return problems


def deploy_design(uow: UnitOfWork, sources: Sequence[Source], *,
                  deployed_by: str) -> list[DeployedProcess]:
    """Validate, then deploy: a new version of every process the files change (for a
    decision table, of the processes that use it). Refused with ``DesignRejected`` and
    nothing stored when any problem is found. A draft that is exactly the deployed file is
    done with and removed; a draft that differs (someone's unfinished edit) is kept with its
    form files — ``drafts_of`` tells the caller which, to say so."""
    problems, full = validation.validate_sources(uow, sources)
    if problems:
        raise DesignRejected(problems)
    kept = _drop_deployed_drafts(uow, sources)
    processes = [p for s in sources if not form_files.is_form_file(s.filename)
                 for p in _draft_processes(s)[0] if p not in kept]
    uow.session.execute(delete(DesignDraft).where(  # the form drafts of those processes
        DesignDraft.kind == FORM_KIND, DesignDraft.process_id.in_(processes)))
    uploaded = {s.filename for s in sources}
    return deploy(uow, with_named_tables(uow, full, uploaded), deployed_by=deployed_by)


@dataclass(frozen=True)
class DeployCheck:
    """What a deploy of the files would touch, for the confirmation the deploy button asks:
    the processes that get a new version, their running instances per version (which stay
    on their version), and the drafts of the files that would be kept because they differ."""

    processes: list[str]
    running: dict[str, list[tuple[int, int]]]
    kept_drafts: list[str]

    @property
    def total_running(self) -> int:
        return sum(n for versions in self.running.values() for _v, n in versions)


def deploy_check(uow: UnitOfWork, sources: Sequence[Source]) -> DeployCheck:
    """Reads only. The processes are those the BPMN files define and, for a decision table,
    the processes whose latest version uses it (``decision_file``)."""
    processes: list[str] = []
    for source in sources:
        if form_files.is_form_file(source.filename):
            continue
        if source.kind == "dmn":
            table = decision_file(uow, source.filename)
            processes += [u.process_id for u in (table.users if table else ()) if u.in_latest]
        else:
            processes += _draft_processes(source)[0]
    texts = {s.filename: s.text for s in sources}
    kept = [d.filename for d in drafts_of(uow, list(texts)) if d.content != texts[d.filename]]
    unique = sorted(set(processes))
    return DeployCheck(unique, running_by_version(uow, unique), kept)


def _drop_deployed_drafts(uow: UnitOfWork, sources: Sequence[Source]) -> set[str]:
    """Remove the drafts whose text is the deployed text; the processes of the diagram
    drafts kept because they differ."""
    texts = {s.filename: s.text for s in sources}
    kept: set[str] = set()
    for draft in drafts_of(uow, list(texts)):
        if draft.content == texts[draft.filename]:
            uow.session.delete(draft)
        elif draft.kind != FORM_KIND and draft.process_id:
            kept.add(draft.process_id)
    return kept


def drafts_of(uow: UnitOfWork, filenames: Sequence[str]) -> list[DesignDraft]:
    """The drafts of these files (after a deploy: those it kept because they differ)."""
    return list(uow.session.scalars(select(DesignDraft).where(
        DesignDraft.filename.in_(list(filenames))).order_by(DesignDraft.filename)))


# ----------------------------------------------------------------------------- drafts


def _draft_processes(source: Source) -> tuple[list[str], str | None]:
    """The executable processes the file defines, or why it cannot be a draft. A form file
    may be any UTF-8 text (it is reopened as text, and judged when validated)."""
    if form_files.is_form_file(source.filename) and "/" not in source.filename:
        try:
            source.content.decode("utf-8")
        except UnicodeDecodeError:
            return [], "not UTF-8 text"
        return [], (f"larger than {MAX_SOURCE_BYTES // 1024 // 1024} MB"
                    if len(source.content) > MAX_SOURCE_BYTES else None)
    if file_kind(source.filename) is None or "/" in source.filename:
        return [], "use a plain file name ending in .bpmn, .bpmn20.xml or .dmn"
    if len(source.content) > MAX_SOURCE_BYTES:
        return [], f"larger than {MAX_SOURCE_BYTES // 1024 // 1024} MB"
    try:
        root = parse_xml(source)
    except IrpmError as exc:
        return [], exc.message
    except UnicodeDecodeError:
        return [], "not UTF-8 text"
    return [p.get("id", "") for p in root.iterfind("bpmn:process", NS)
            if is_executable(p)], None


def _form_owner(uow: UnitOfWork, checked: list[tuple[Source, list[str]]]) -> str | None:
    """The process the form files saved with a diagram belong to (the first the diagram
    defines); its form drafts not saved now are dropped — the editor sends them all."""
    owner = next((p[0] for s, p in checked if p and not form_files.is_form_file(s.filename)),
                 None)
    if owner is not None:
        uow.session.execute(delete(DesignDraft).where(
            DesignDraft.process_id == owner, DesignDraft.kind == FORM_KIND,
            DesignDraft.filename.not_in([s.filename for s, _p in checked])))
    return owner


def save_drafts(uow: UnitOfWork, sources: Sequence[Source], *,
                saved_by: str) -> list[DesignDraft]:
    """Keep the files without deploying them — all or none. A draft may still have lint
    problems, but it must be well-formed XML (it is reopened in the editor); ``errors`` of
    the ``ValidationFailed`` maps each refused file name to why. Form files (``.json``) are
    kept as drafts of the first process the BPMN files among them define."""
    errors: dict[str, object] = {}
    checked = []
    for source in sources:
        processes, problem = _draft_processes(source)
        if problem:
            errors[source.filename] = [problem]
        else:
            checked.append((source, processes))
    if errors:
        raise ValidationFailed(
            "a draft must be a well-formed .bpmn, .bpmn20.xml or .dmn file", errors)
    now = clock.now(uow)
    rows = []
    owner = _form_owner(uow, checked)
    for source, processes in checked:
        row = uow.session.scalar(select(DesignDraft).where(
            DesignDraft.filename == source.filename).with_for_update())
        if row is None:
            row = DesignDraft(filename=source.filename)
            uow.session.add(row)
        is_form = form_files.is_form_file(source.filename)
        row.kind = FORM_KIND if is_form else source.kind
        row.process_id = owner if is_form else (processes[0] if processes else None)
        row.content = source.text
        row.saved_by = saved_by
        row.saved_at = now
        rows.append(row)
    try:
        uow.commit()
    except IntegrityError:  # two first drafts of one file at once: the other one won
        uow.rollback()
        raise ConcurrentUpdate("someone saved a draft of the same file at the same moment; "
                               "reload and save again") from None
    return rows


def new_blank(uow: UnitOfWork, kind: str, ident: str, name: str, *,
              saved_by: str) -> DesignDraft:
    """Start a new process (``kind`` "bpmn") or decision table ("dmn") as a blank draft
    named ``ident``; refused (``ValidationFailed`` on the field) for a bad or taken id."""
    source = design_blank.blank_source(kind, ident, name)
    design_blank.refuse_taken(uow, source, ident)
    row, *_rest = save_drafts(uow, [source], saved_by=saved_by)
    return row


def get_draft(uow: UnitOfWork, filename: str) -> DesignDraft | None:
    return uow.session.scalar(select(DesignDraft).where(DesignDraft.filename == filename))


def discard_draft(uow: UnitOfWork, filename: str) -> None:
    found = uow.session.execute(delete(DesignDraft).where(DesignDraft.filename == filename))
    if not getattr(found, "rowcount", 1):
        raise NotFound(f"there is no draft of '{filename}'")
    uow.commit()
