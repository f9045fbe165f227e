"""New blank files for the designer: a process with only a start event, a decision table
with one input and one output. They are kept as drafts (``design.save_drafts``), so they
are listed, reopened by 编辑 and deployed like any other draft."""

from __future__ import annotations

import re
from xml.sax.saxutils import quoteattr

from sqlalchemy import select

from ..db import UnitOfWork
from ..errors import ValidationFailed
from ..models import DesignDraft, ProcessDefinition, SourceFile
from ..parsing import Source

#: An XML NCName without dots: what BPMN and DMN ids may be, and a safe file name.
IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,99}$")

_BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI"
  xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" id="Definitions_{ident}"
  targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="{ident}" name={name} isExecutable="true">
    <bpmn:startEvent id="start" />
  </bpmn:process>
  <bpmndi:BPMNDiagram id="BPMNDiagram_{ident}">
    <bpmndi:BPMNPlane id="BPMNPlane_{ident}" bpmnElement="{ident}">
      <bpmndi:BPMNShape id="start_di" bpmnElement="start">
        <dc:Bounds x="180" y="160" width="36" height="36" />
      </bpmndi:BPMNShape>
    </bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>
</bpmn:definitions>
"""

_DMN = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="Definitions_{ident}"
  name={name} namespace="http://camunda.org/schema/1.0/dmn">
  <decision id="{ident}" name={name}>
    <decisionTable id="table_{ident}" hitPolicy="UNIQUE">
      <input id="input_1" label="input">
        <inputExpression id="inputExpression_1" typeRef="string">
          <text>value</text>
        </inputExpression>
      </input>
      <output id="output_1" label="output" name="result" typeRef="string" />
    </decisionTable>
  </decision>
</definitions>
"""


def blank_source(kind: str, ident: str, name: str) -> Source:
    """The blank file, or ``ValidationFailed`` naming the field to fix."""
    if kind not in ("bpmn", "dmn"):
        raise ValidationFailed("choose a process (bpmn) or a decision table (dmn)",
                               {"kind": ["bpmn or dmn"]})
    if not IDENT.match(ident):
        raise ValidationFailed(
            f"'{ident}' cannot be an id: use letters, digits, _ and -, starting with a letter",
            {"ident": ["letters, digits, _ and -, starting with a letter"]})
    label = name.strip() or ident
    if len(label) > 200:
        raise ValidationFailed("the name has at most 200 characters", {"name": ["too long"]})
    text = (_BPMN if kind == "bpmn" else _DMN).format(ident=ident, name=quoteattr(label))
    return Source(f"{ident}.{kind}", text.encode("utf-8"))


def refuse_taken(uow: UnitOfWork, source: Source, ident: str) -> None:
    """A new file may not replace a deployed process, file or draft of the same name."""
    taken = (uow.session.scalar(select(ProcessDefinition.id).where(
                 ProcessDefinition.process_id == ident).limit(1))
             or uow.session.scalar(select(SourceFile.content_hash).where(
                 SourceFile.filename == source.filename).limit(1))
             or uow.session.scalar(select(DesignDraft.id).where(
                 DesignDraft.filename == source.filename).limit(1)))
    if taken:
        raise ValidationFailed(
            f"'{ident}' is taken (a process, file or draft has it): choose another id",
            {"ident": ["taken"]})
