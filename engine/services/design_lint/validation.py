"""Validating .bpmn/.dmn files before they are deployed: what the designer's editor shows.

Three layers, each catching what the next cannot explain well: XML well-formedness (the
safe parser of ``engine.parsing``), lint rules that name the element at fault in words a
designer understands (``structure``: a user task without a lane would otherwise only fail
when an instance reaches it, and a lane must be one the runtime's resolver knows,
``Runtime.lane_roles``; ``expressions``: timers, scripts, forms; ``exclusions``: who may
not do a task, 回避), and the engine's own
parser, exactly as ``deploy`` runs it. Every problem carries the element id, so the editor
can mark it on the diagram.

The files under validation are completed with what is already deployed: a process calls
other processes and decision tables that need not be uploaded again
(``references.complete_sources``).
"""

from __future__ import annotations

from collections.abc import Sequence

from lxml import etree

from ...db import UnitOfWork
from ...errors import DeploymentError
from ...parsing import DMN_NAMESPACES, NS, SUFFIX_HINT, Source, file_kind, parse_sources, parse_xml
from . import context, exclusions, expressions, form_files, references, structure
from .problem import Findings, Problem

__all__ = ["administrators_tasks", "lint", "validate_sources"]


def administrators_tasks(sources: Sequence[Source]) -> list[Problem]:
    """The user tasks of well-formed BPMN files that are in no lane and name no candidates
    (``structure``'s ``user_task_lane``): what ``irpm deploy``, which runs no lint, deploys
    anyway and warns of — at run time each is an administrators' task
    (``engine.services.task_access``), never open to all. Files that are not well-formed
    are left to deploy's own refusal."""
    found: list[Problem] = []
    for source in sources:
        if source.kind != "bpmn":
            continue
        try:
            root = parse_xml(source)
        except (DeploymentError, UnicodeDecodeError):
            continue
        findings = Findings(source.filename)
        structure.check(findings, root, None)
        found += [p for p in findings.problems if p.rule == "user_task_lane"]
    return found

def lint(source: Source, root: etree._Element,
         lane_roles: frozenset[str] | None = None) -> list[Problem]:
    """The lint rules on one well-formed BPMN file. A user task's lane must be one of
    ``lane_roles`` (the lanes the runtime's resolver understands, ``Runtime.lane_roles``);
    None accepts any lane."""
    if source.kind != "bpmn":
        return []
    findings = Findings(source.filename)
    structure.check(findings, root, lane_roles)
    expressions.check(findings, root)
    exclusions.check(findings, root, lane_roles)
    context.check(findings, root)
    return findings.problems


def _check_file(source: Source, names: list[str]) -> tuple[etree._Element | None,
                                                           Problem | None]:
    """The file's tree if it is well-formed XML of its kind, else why not."""
    if file_kind(source.filename) is None:
        return None, Problem("xml", SUFFIX_HINT,
                             source.filename, code="xml_extension")
    if names.count(source.filename) > 1:
        return None, Problem("xml", "two files share this name", source.filename,
                             code="xml_duplicate")
    try:
        root = parse_xml(source)
    except DeploymentError as exc:
        return None, Problem("xml", _plain(exc), source.filename, None, exc.line,
                             "xml_malformed", {"detail": _plain(exc)})
    except UnicodeDecodeError:
        return None, Problem("xml", "the file is not UTF-8 text", source.filename,
                             code="xml_encoding")
    expected = NS["bpmn"] if source.kind == "bpmn" else DMN_NAMESPACES
    if etree.QName(root).namespace not in expected:
        return None, Problem(
            "xml", f"this is not a {source.kind.upper()} file: its root element is in the "
            f"namespace '{etree.QName(root).namespace}'", source.filename, None,
            root.sourceline, "xml_kind", {"kind": source.kind.upper(),
                                          "namespace": str(etree.QName(root).namespace)})
    return root, None


def validate_sources(uow: UnitOfWork, sources: Sequence[Source]) -> tuple[list[Problem],
                                                                          list[Source]]:
    """Every problem of the files (empty: they can be deployed), and the full set of files
    to deploy (the uploaded ones completed with what they need, the form files with them)."""
    models, forms = form_files.split(sources)
    roots: dict[str, etree._Element] = {}
    problems, full = _validate_models(uow, models, roots)
    problems.extend(form_files.check(roots, forms))
    return problems, ([*full, *forms] if full else [])


def _validate_models(uow: UnitOfWork, sources: Sequence[Source],
                     roots: dict[str, etree._Element]) -> tuple[list[Problem], list[Source]]:
    """``validate_sources`` on the BPMN and DMN files; ``roots`` gets each well-formed
    file's tree."""
    if not sources:
        return [Problem("xml", "nothing to validate: no .bpmn or .dmn file", "",
                        code="xml_nothing")], []
    problems: list[Problem] = []
    names = [s.filename for s in sources]
    for source in sources:
        root, problem = _check_file(source, names)
        if problem is not None:
            problems.append(problem)
        elif root is not None:
            roots[source.filename] = root
            problems.extend(lint(source, root, uow.runtime.lane_roles))
    if len(roots) < len(sources):
        return problems, []
    full, missing = references.complete_sources(uow, sources, roots)
    problems.extend(missing)
    if missing:
        return problems, []
    try:
        parse_sources(full)
    except DeploymentError as exc:
        if exc.problems:  # several faults of one kind (a decision table's failing cases)
            problems.extend(Problem(**found) for found in exc.problems)
        # Lint explains better what the parser trips over at the same element.
        elif not any(p.element and p.element == exc.element for p in problems):
            problems.append(Problem("parser", _plain(exc), exc.filename or "",
                                    exc.element, exc.line, "parser",
                                    {"detail": _plain(exc)}))
    return problems, full


def _plain(exc: DeploymentError) -> str:
    return exc.message
