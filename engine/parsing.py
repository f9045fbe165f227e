"""Turning .bpmn/.dmn sources into process specs, safely and with precise errors.

XML is parsed here with entity resolution, DTDs and network access off, then handed to
SpiffWorkflow as a tree — SpiffWorkflow's own ``add_bpmn_str`` uses lxml's permissive
default parser. Every failure becomes a ``DeploymentError`` naming the file and the line.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnValidator
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.dmn.parser.BpmnDmnParser import SCHEMAS as SPIFF_DMN_SCHEMAS
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.parser import VALIDATOR

from .calls import IrpmBpmnParser
from .decision_cases import check_decision_cases
from .errors import DeploymentError
from .task_context import CATALOG_KEY, read_fields
from .task_context import NAMESPACE as CONTEXT_NS

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
NS = {"bpmn": BPMN_NS, "spiffworkflow": SPIFF_NS}
MAX_SOURCE_BYTES = 5 * 1024 * 1024
#: File name endings deploy accepts, by kind: ``.bpmn20.xml`` is what Flowable, Camunda 7
#: and the OMG interchange suite write for BPMN.
BPMN_SUFFIXES = (".bpmn", ".bpmn20.xml")
DMN_SUFFIXES = (".dmn",)
DEPLOYABLE_SUFFIXES = BPMN_SUFFIXES + DMN_SUFFIXES
#: What a refused file name is told.
SUFFIX_HINT = "only .bpmn, .bpmn20.xml and .dmn files can be deployed"


def is_executable(process: etree._Element) -> bool:
    """Whether deploy runs the ``<bpmn:process>``: as SpiffWorkflow's ProcessParser reads
    it, a process without ``isExecutable`` is executable; only "false" leaves it out."""
    return process.get("isExecutable", "true") == "true"


def file_kind(filename: str) -> str | None:
    """"bpmn" or "dmn" by the file name's ending (any case), None when deploy takes neither."""
    lowered = filename.lower()
    if lowered.endswith(DMN_SUFFIXES):
        return "dmn"
    if lowered.endswith(BPMN_SUFFIXES):
        return "bpmn"
    return None


def _loadable_dmn_schemas() -> dict[str, str]:
    """SpiffWorkflow's DMN schemas (namespace -> XSD) that can be loaded.

    SpiffWorkflow 3.2 ships for DMN 1.2 a DMNDI12.xsd that is the generic DI schema, so the
    DMN 1.2 XSD cannot be built and every DMN 1.2 file failed with a schema-loading error.
    Those namespaces are left out here: SpiffWorkflow's parser then reads the file without
    XSD validation (as it does for a namespace it has no schema for), and the parse itself
    still checks the tables.
    """
    loadable = {}
    for namespace, path in SPIFF_DMN_SCHEMAS.items():
        try:
            BpmnValidator(path)
        except etree.LxmlError:
            continue
        loadable[namespace] = path
    return loadable


#: DMN namespaces SpiffWorkflow reads: DMN 1.1, 1.2, 1.3 (and 1.4's, read without an XSD).
DMN_NAMESPACES = (*SPIFF_DMN_SCHEMAS, "https://www.omg.org/spec/DMN/20230324/MODEL/")
DMN_SCHEMAS = _loadable_dmn_schemas()

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
        return file_kind(self.filename) or "bpmn"

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


def _deployable(filename: str) -> bool:
    """What ``read_sources`` reads: models, and the JSON form files user tasks name."""
    return file_kind(filename) is not None or filename.lower().endswith(".json")


def read_sources(paths: Iterable[str | Path]) -> list[Source]:
    """Files named, or every .bpmn/.bpmn20.xml/.dmn (and .json form file) directly inside a
    named directory."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(sorted(p for p in path.iterdir()
                                if p.is_file() and _deployable(p.name)))
        elif path.is_file():
            found.append(path)
        else:
            raise DeploymentError(f"no such file or directory: {path}", filename=str(path))
    sources = []
    for path in found:
        if not _deployable(path.name):
            raise DeploymentError(f"{SUFFIX_HINT} (and .json form files)", filename=path.name)
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
    parser = IrpmBpmnParser(validator=VALIDATOR, dmn_schemas=DMN_SCHEMAS)
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
        element = getattr(exc, "id", None) or None
        line = exc.line_number or _line_of(tree, element)
        if element is None and line:  # the XSD names a line: the element with an id there
            element = _id_at(tree, int(line))
        raise DeploymentError(_readable(str(exc), tree, element),
                              filename=exc.file_name or filename,
                              line=int(line) if line else None, element=element) from None
    except (SpiffWorkflowException, etree.LxmlError, KeyError, AttributeError,
            TypeError, ValueError) as exc:
        element = getattr(exc, "id", None) or None
        raise DeploymentError(_readable(f"{type(exc).__name__}: {exc}", tree, element),
                              filename=filename, line=_line_of(tree, element),
                              element=element) from None


_ELEMENT_REPR = re.compile(r"<Element (?:\{[^}]*\})?([\w.-]+) at 0x[0-9a-fA-F]+>")
_NO_DECISION = re.compile(r'No DMN Diagram available with id "(.*?)", Available DMN ids are: '
                          r"(.*?)\s*\.?$", re.DOTALL)


def _readable(message: str, tree: etree._Element, element_id: str | None) -> str:
    """SpiffWorkflow's message in words a designer can act on: never an lxml repr
    (``<Element {…}userTask at 0x7f…>`` becomes ``<userTask>``), and the parser's
    decision-lookup text (``id "None"``) said as what is wrong and how to fix it."""
    message = _ELEMENT_REPR.sub(lambda m: f"<{m.group(1)}>", message).strip()
    for prefix, namespace in NS.items():  # the XSD's '{http://…/MODEL}userTask'
        message = message.replace(f"{{{namespace}}}", f"{prefix}:")
    found = _NO_DECISION.match(message)
    if found is None:
        return message
    node = tree.xpath("//*[@id=$id]", id=element_id) if element_id else []
    task = f"'{node[0].get('name') or element_id}' ({element_id})" if node else "a task"
    if found.group(1) in ("None", ""):
        return (f"business rule task {task} does not name the decision it calls: add "
                "spiffworkflow:calledDecisionId with the id of a decision")
    known = found.group(2).strip().rstrip(".").strip() or "none"
    return (f"business rule task {task} calls decision '{found.group(1)}', which no "
            f"deployed or uploaded .dmn file defines (decisions known: {known}): upload its "
            ".dmn file with this one, or fix the id")


def _id_at(tree: etree._Element, line: int) -> str | None:
    """The id of the first element with one that starts on ``line``."""
    for node in tree.iter():
        if isinstance(node.tag, str) and node.sourceline == line and node.get("id"):
            return str(node.get("id"))
    return None


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


#: Elements whose inner flow nodes take the element's lane (SpiffWorkflow's SubWorkflowParser
#: hands its lane to the parser of everything inside).
_LANE_CONTAINERS = frozenset({"subProcess", "transaction", "adHocSubProcess"})


def _lanes(tree: etree._Element) -> dict[str, tuple[str, str]]:
    """flow node id -> (lane id, lane name).

    A node named by a lane's ``flowNodeRef`` is in that lane. A node inside an embedded
    subprocess, transaction or ad-hoc subprocess that no lane names takes the lane of the
    nearest container that has one, as SpiffWorkflow hands a container's lane to all it
    holds — so a task drawn inside a subprocess in a lane is routed by that lane, never left
    open to all. Where a lane names an inner node itself, IRPM keeps that lane (raw
    SpiffWorkflow would give the container's): the programme's diagrams draw the steps of a
    subprocess in the lanes of the people who do them.
    """
    own: dict[str, tuple[str, str]] = {}
    for lane in tree.iterfind(".//bpmn:lane", NS):
        for ref in lane.iterfind("bpmn:flowNodeRef", NS):
            if ref.text:
                own[ref.text.strip()] = (lane.get("id", ""), lane.get("name") or lane.get("id"))
    lanes = dict(own)
    # Document order visits an outer container before the ones inside it, so an inner
    # container's lane (its own or handed down) is settled before it hands it on.
    for node in tree.iter(*(f"{{{BPMN_NS}}}{tag}" for tag in _LANE_CONTAINERS)):
        held = lanes.get(node.get("id", ""))
        if held is None:
            continue
        for inner in node.iterdescendants():
            inner_id = inner.get("id") if isinstance(inner.tag, str) else None
            if inner_id and inner_id not in own:
                lanes[inner_id] = held
    return lanes


def build_catalog(parsed: ParsedProcess,
                  trees: dict[str, etree._Element]) -> dict[str, dict[str, Any]]:
    """What web views and task rows need to know about each element, precomputed once."""
    catalog: dict[str, dict[str, Any]] = {}
    specs = [parsed.spec, *[s for s in parsed.subprocess_specs.values() if s is not None]]
    for spec in reversed(specs):  # the top-level process wins on id collisions
        lanes = _lanes(trees[spec.file]) if spec.file in trees else {}
        contexts = _contexts(trees[spec.file], spec.file) if spec.file in trees else {}
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
            if bpmn_id in contexts:
                catalog[name][CATALOG_KEY] = contexts[bpmn_id]
    return catalog


def _contexts(tree: etree._Element, filename: str) -> dict[str, list[dict[str, str]]]:
    """element id -> the task context fields it declares (``engine.task_context``)."""
    found: dict[str, list[dict[str, str]]] = {}
    for context in tree.iter(f"{{{CONTEXT_NS}}}context"):
        holder = context.getparent()  # extensionElements
        element = holder.getparent() if holder is not None else None
        if element is not None and element.get("id"):
            found[str(element.get("id"))] = [f.as_dict() for f in read_fields(element, filename)]
    return found
