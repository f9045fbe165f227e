"""What the files under validation refer to — the decision tables their business rule
tasks call, the processes their call activities start — found in the upload or among what is
already deployed, so a change need not upload every file it relies on again."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from lxml import etree
from sqlalchemy import select

from ...db import UnitOfWork
from ...models import ProcessDefinition, SourceFile
from ...parsing import NS, Source, parse_xml
from .problem import Problem, bpmn, local, name_of

__all__ = ["complete_sources"]


def _decisions(root: etree._Element) -> set[str]:
    return {d.get("id", "") for d in root.iter() if isinstance(d.tag, str)
            and local(d) == "decision" and d.get("id")}


def _processes(root: etree._Element) -> set[str]:
    return {p.get("id", "") for p in root.iterfind("bpmn:process", NS)}


def _refs(root: etree._Element) -> Iterable[tuple[str, str, etree._Element]]:
    """(kind, id, element) for every decision and process the file refers to."""
    for task in root.iter(bpmn("businessRuleTask")):
        ref = task.find("bpmn:extensionElements/spiffworkflow:calledDecisionId", NS)
        yield "decision", (ref.text or "").strip() if ref is not None else "", task
    for call in root.iter(bpmn("callActivity")):
        yield "process", (call.get("calledElement") or "").strip(), call


def _deployed_decision(uow: UnitOfWork, decision_id: str) -> SourceFile | None:
    rows = uow.session.scalars(
        select(SourceFile).where(SourceFile.kind == "dmn",
                                 SourceFile.content.contains(f'"{decision_id}"'))
        .order_by(SourceFile.created_at.desc()))
    for row in rows:
        if decision_id in _decisions(parse_xml(Source(row.filename, row.content.encode()))):
            return row
    return None


def _latest(uow: UnitOfWork, process_id: str) -> ProcessDefinition | None:
    return uow.session.scalar(
        select(ProcessDefinition).where(ProcessDefinition.process_id == process_id)
        .order_by(ProcessDefinition.version.desc()).limit(1))


def _users_of(uow: UnitOfWork, filename: str) -> list[ProcessDefinition]:
    """The latest version of every process whose latest version includes ``filename``."""
    found = []
    for process_id in uow.session.scalars(
            select(ProcessDefinition.process_id).distinct()):
        latest = _latest(uow, process_id)
        if latest is not None and any(s.filename == filename for s in latest.sources):
            found.append(latest)
    return found


def _deployed_process_file(uow: UnitOfWork, process_id: str) -> SourceFile | None:
    """The BPMN file that defines the latest version of ``process_id``."""
    latest = _latest(uow, process_id)
    for source in latest.sources if latest is not None else []:
        if source.kind == "bpmn" and f'"{process_id}"' in source.content and process_id in \
                _processes(parse_xml(Source(source.filename, source.content.encode()))):
            return source
    return None


class _FileSet:
    """The uploaded files and the deployed ones added to them, with their parsed trees."""

    def __init__(self, sources: Sequence[Source], roots: dict[str, etree._Element]) -> None:
        self.by_name: dict[str, Source] = {s.filename: s for s in sources}
        self.trees = dict(roots)
        self.uploaded = set(roots)

    def add(self, row: SourceFile) -> bool:
        """Add a deployed file unless one of that name is there (uploads win)."""
        if row.filename in self.by_name:
            return False
        source = Source(row.filename, row.content.encode("utf-8"))
        self.by_name[row.filename] = source
        if row.kind != "json":  # a form file deployed with a process: no tree
            self.trees[row.filename] = parse_xml(source)
        return True

    def provides(self, kind: str, ref: str) -> bool:
        ids = _decisions if kind == "decision" else _processes
        return any(ref in ids(tree) for tree in self.trees.values())


def _resolve(uow: UnitOfWork, files: _FileSet, filename: str) -> list[Problem]:
    """Add the deployed files the file refers to; what is found nowhere is a problem (of an
    uploaded file: a deployed one was valid when it was deployed)."""
    problems = []
    for kind, ref, node in _refs(files.trees[filename]):
        if ref and files.provides(kind, ref):
            continue
        row = None
        if ref:
            row = (_deployed_decision(uow, ref) if kind == "decision"
                   else _deployed_process_file(uow, ref))
        if row is not None:
            files.add(row)
        elif filename in files.uploaded:
            problems.append(_missing(kind, ref, filename, node))
    return problems


def complete_sources(uow: UnitOfWork, sources: Sequence[Source],
                     roots: dict[str, etree._Element]) -> tuple[list[Source], list[Problem]]:
    """The files to parse with ``sources``: deployed files they need (called processes,
    decision tables) and, for an uploaded decision table, the processes that use it (so
    deploying it makes new versions of them). Uploaded files win over deployed ones of the
    same name. Also returns the references found nowhere."""
    files = _FileSet(sources, roots)
    problems: list[Problem] = []
    for source in sources:
        if source.kind == "dmn":
            for definition in _users_of(uow, source.filename):
                for row in definition.sources:
                    files.add(row)
    done: set[str] = set()
    while pending := [f for f in files.trees if f not in done]:
        for filename in pending:
            done.add(filename)
            if files.by_name[filename].kind == "bpmn":
                problems.extend(_resolve(uow, files, filename))
    return list(files.by_name.values()), problems


def _missing(kind: str, ref: str, filename: str, node: etree._Element) -> Problem:
    rule = "decision" if kind == "decision" else "called_process"
    what = "business rule task" if kind == "decision" else "call activity"
    if not ref:
        field_ = "the decision it calls (calledDecisionId)" if kind == "decision" else \
            "the process it calls (calledElement)"
        return Problem(rule, f"{what} '{name_of(node)}' does not name {field_}", filename,
                       node.get("id"), node.sourceline, f"{rule}_unnamed",
                       {"task": name_of(node)})
    noun = "decision" if kind == "decision" else "process"
    return Problem(rule, f"{what} '{name_of(node)}' refers to {noun} '{ref}', which is neither "
                   f"deployed nor in this upload: upload its file with this one, or fix the "
                   f"id", filename, node.get("id"), node.sourceline, f"{rule}_unknown",
                   {"task": name_of(node), "ref": ref})
