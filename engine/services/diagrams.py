"""The diagram of a deployed process: the BPMN file, as deployed, that defines it — what a
viewer (bpmn-js) draws, with its DI, lanes and labels."""

from __future__ import annotations

from dataclasses import dataclass

from ..db import UnitOfWork
from ..errors import NotFound
from ..models import ProcessDefinition
from ..parsing import NS, Source, parse_xml

__all__ = ["Diagram", "process_diagram"]


@dataclass(frozen=True)
class Diagram:
    definition_id: int
    process_id: str
    version: int
    filename: str
    xml: str


def process_diagram(uow: UnitOfWork, definition_id: int) -> Diagram:
    """The BPMN source of the definition's own process (not its DMN tables or the files of
    processes it calls); ``NotFound`` if there is none."""
    row = uow.session.get(ProcessDefinition, definition_id)
    if row is None:
        raise NotFound(f"process definition {definition_id} does not exist")
    for source in row.sources:
        if source.kind != "bpmn" or f'"{row.process_id}"' not in source.content:
            continue
        root = parse_xml(Source(source.filename, source.content.encode("utf-8")))
        if any(p.get("id") == row.process_id for p in root.iterfind("bpmn:process", NS)):
            return Diagram(row.id, row.process_id, row.version, source.filename,
                           source.content)
    raise NotFound(f"no diagram of process '{row.process_id}' version {row.version}")
