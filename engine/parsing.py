"""Turning .bpmn/.dmn sources into process specs, safely and with precise errors.

XML is parsed here with entity resolution, DTDs and network access off, then handed to
SpiffWorkflow as a tree — SpiffWorkflow's own ``add_bpmn_str`` uses lxml's permissive
default parser. Every failure becomes a ``DeploymentError`` naming the file and the line.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.parser import VALIDATOR

from .calls import IrpmBpmnParser
from .decision_cases import check_decision_cases
from .errors import DeploymentError

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
NS = {"bpmn": BPMN_NS, "spiffworkflow": SPIFF_NS}
MAX_SOURCE_BYTES = 5 * 1024 * 1024

_SAFE_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
    huge_tree=False, remove_comments=False,
)


@dataclass(frozen=True)
class Source:
    filename: str
    content: bytes

    @property
    def kind(self) -> str:
        return "dmn" if self.filename.lower().endswith(".dmn") else "bpmn"

    @property
    def content_hash(self) -> str:
        return hashlib.sha256(self.content).hexdigest()

    @property
    def text(self) -> str:
        return self.content.decode("utf-8")


@dataclass
class ParsedProcess:
    process_id: str
    name: str
    spec: BpmnProcessSpec
    subprocess_specs: dict[str, BpmnProcessSpec]
    sources: list[Source]
    catalog: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def content_hash(self) -> str:
        digest = hashlib.sha256()
        for source in sorted(self.sources, key=lambda s: s.filename):
            digest.update(source.filename.encode() + b"\0" + source.content_hash.encode())
        return digest.hexdigest()


#: What ``read_sources`` reads: models, and the JSON form files user tasks name.
_DEPLOYABLE = (".bpmn", ".dmn", ".json")


def read_sources(paths: Iterable[str | Path]) -> list[Source]:
    """Files named, or every .bpmn/.dmn (and .json form file) directly inside a named
    directory."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(sorted(p for p in path.iterdir() if p.suffix in _DEPLOYABLE))
        elif path.is_file():
            found.append(path)
        else:
            raise DeploymentError(f"no such file or directory: {path}", filename=str(path))
    sources = []
    for path in found:
        if path.suffix not in _DEPLOYABLE:
            raise DeploymentError("only .bpmn and .dmn files (and .json form files) can be "
                                  "deployed",
                                  filename=path.name)
        sources.append(Source(path.name, path.read_bytes()))
    return sources


def parse_xml(source: Source) -> etree._Element:
    if len(source.content) > MAX_SOURCE_BYTES:
        raise DeploymentError(f"file is larger than {MAX_SOURCE_BYTES // 1024 // 1024} MB",
                              filename=source.filename)
    try:
        tree = etree.fromstring(source.content, parser=_SAFE_PARSER).getroottree()
    except etree.XMLSyntaxError as exc:
        raise DeploymentError(f"not well-formed XML: {exc.msg}", filename=source.filename,
                              line=exc.lineno) from None
    if tree.docinfo.doctype:
        raise DeploymentError("DOCTYPE declarations are not allowed (entity expansion risk)",
                              filename=source.filename, line=1)
    root = tree.getroot()
    expected = "definitions"
    if etree.QName(root).localname != expected:
        raise DeploymentError(f"root element must be <{expected}>", filename=source.filename,
                              line=root.sourceline)
    return root


def parse_sources(sources: Sequence[Source]) -> list[ParsedProcess]:
    """Parse and validate all sources together; return every executable process in them.

    Every decision table's own test cases run here too (``engine.decision_cases``): a table
    whose cases fail is refused like an invalid file, by every deploy path.
    """
    if not sources:
        raise DeploymentError("nothing to deploy: no .bpmn or .dmn files given")
    names = [s.filename for s in sources]
    if len(set(names)) != len(names):
        raise DeploymentError("two files share a name", filename=_first_duplicate(names))
    trees = {s.filename: parse_xml(s) for s in sources}
    parser = IrpmBpmnParser(validator=VALIDATOR)
    for source in sorted(sources, key=lambda s: s.kind != "dmn"):  # DMN first
        _guarded(source.filename, trees[source.filename],
                 parser.add_dmn_xml if source.kind == "dmn" else parser.add_bpmn_xml)
    by_name = {s.filename: s for s in sources}
    processes = []
    # A snapshot: parsing a process registers parsers for its embedded subprocesses, which
    # are parts of that process, not processes of their own.
    for process_id, process_parser in list(parser.process_parsers.items()):
        if not process_parser.process_executable:
            continue
        filename = process_parser.filename
        spec, subprocess_specs = _guarded(
            filename, trees[filename],
            lambda _tree, _fn, pid=process_id: (parser.get_spec(pid),
                                                 parser.get_subprocess_specs(pid)))
        files = {filename} | {s.file for s in subprocess_specs.values() if s is not None}
        for decision_id in _decision_refs(trees, files):
            dmn = parser.dmn_parsers.get(decision_id)
            if dmn is not None:
                files.add(dmn.filename)
        parsed = ParsedProcess(process_id, process_parser.get_name() or process_id, spec,
                               subprocess_specs, [by_name[f] for f in sorted(files)])
        parsed.catalog = build_catalog(parsed, trees)
        processes.append(parsed)
    if not processes and any(s.kind == "bpmn" for s in sources):
        raise DeploymentError("no executable process found (isExecutable=\"true\")",
                              filename=next(s.filename for s in sources if s.kind == "bpmn"))
    # Last, so a table's own faults are reported as such before its cases are run.
    _run_decision_cases(sources, trees)
    return processes


def _run_decision_cases(sources: Sequence[Source], trees: dict[str, etree._Element]) -> None:
    """Every decision table's test cases; ``DeploymentError`` listing the failing ones."""
    for source in sources:
        if source.kind == "dmn":
            _guarded(source.filename, trees[source.filename],
                     lambda tree, filename, key=source.content_hash: check_decision_cases(
                         filename, tree, content_hash=key))


def _first_duplicate(names: list[str]) -> str:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            return name
        seen.add(name)
    return names[0]


def _guarded(filename: str, tree: etree._Element, action: Any) -> Any:
    try:
        return action(tree, filename)
    except ValidationException as exc:
        line = exc.line_number or _line_of(tree, getattr(exc, "id", ""))
        raise DeploymentError(str(exc), filename=exc.file_name or filename,
                              line=int(line) if line else None,
                              element=getattr(exc, "id", None) or None) from None
    except (SpiffWorkflowException, etree.LxmlError, KeyError, AttributeError,
            TypeError, ValueError) as exc:
        element = getattr(exc, "id", None)
        raise DeploymentError(f"{type(exc).__name__}: {exc}", filename=filename,
                              line=_line_of(tree, element), element=element) from None


def _line_of(tree: etree._Element, element_id: str | None) -> int | None:
    if not element_id:
        return None
    found = tree.xpath("//*[@id=$id]", id=element_id)
    return found[0].sourceline if found else None


def _decision_refs(trees: dict[str, etree._Element], files: set[str]) -> set[str]:
    refs: set[str] = set()
    for filename in files:
        for node in trees[filename].iterfind(".//spiffworkflow:calledDecisionId", NS):
            if node.text:
                refs.add(node.text.strip())
    return refs


def _lanes(tree: etree._Element) -> dict[str, tuple[str, str]]:
    """flow node id -> (lane id, lane name)."""
    lanes = {}
    for lane in tree.iterfind(".//bpmn:lane", NS):
        for ref in lane.iterfind("bpmn:flowNodeRef", NS):
            if ref.text:
                lanes[ref.text.strip()] = (lane.get("id", ""), lane.get("name") or lane.get("id"))
    return lanes


def build_catalog(parsed: ParsedProcess,
                  trees: dict[str, etree._Element]) -> dict[str, dict[str, Any]]:
    """What web views and task rows need to know about each element, precomputed once."""
    catalog: dict[str, dict[str, Any]] = {}
    specs = [parsed.spec, *[s for s in parsed.subprocess_specs.values() if s is not None]]
    for spec in reversed(specs):  # the top-level process wins on id collisions
        lanes = _lanes(trees[spec.file]) if spec.file in trees else {}
        for name, task_spec in spec.task_specs.items():
            bpmn_id = getattr(task_spec, "bpmn_id", None)
            if not bpmn_id:
                continue
            lane_id, lane_name = lanes.get(bpmn_id, (None, None))
            extensions = getattr(task_spec, "extensions", {}) or {}
            catalog[name] = {
                "process": spec.name,
                "name": getattr(task_spec, "bpmn_name", None) or bpmn_id,
                "type": type(task_spec).__name__,
                "manual": bool(getattr(task_spec, "manual", False)),
                "lane": lane_id,
                "lane_name": lane_name,
                "properties": dict(extensions.get("properties", {})),
                "documentation": getattr(task_spec, "documentation", None),
            }
    return catalog
