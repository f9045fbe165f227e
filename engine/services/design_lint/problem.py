"""What a validation finds, and how it names what it found.

Every check reports a ``Problem`` with the element at fault (its id and line), so the editor
can mark it on the diagram, and a ``code`` with its values, so the app can word it in the
user's language. The helpers name BPMN elements the way every message does.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from lxml import etree

from ...errors import IrpmError
from ...parsing import NS

__all__ = ["Findings", "Problem", "bpmn", "local", "name_of", "reason"]


@dataclass(frozen=True)
class Problem:
    """One reason a file cannot be deployed. ``rule`` names the check (xml, parser,
    start_event, end_event, gateway_condition, user_task_lane, lane_role, timer, decision,
    called_process, script, form_schema, due_in, excludes, task_context)."""

    rule: str
    message: str
    filename: str
    element: str | None = None
    line: int | None = None
    #: Which message (a rule has several) and its values, so the app can say it in the
    #: user's language; ``message`` is the English text for logs and the API.
    code: str = ""
    params: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Findings:
    """The problems the lint rules find in one file, in the order they find them."""

    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.problems: list[Problem] = []

    def add(self, rule: str, message: str, node: etree._Element | None, code: str = "",
            **params: str) -> None:
        """A problem at ``node``; ``code`` defaults to the rule's name."""
        self.problems.append(Problem(
            rule, message, self.filename,
            node.get("id") if node is not None else None,
            node.sourceline if node is not None else None, code or rule, params))


def bpmn(tag: str) -> str:
    """The qualified name of a BPMN element, for ``iter``."""
    return f"{{{NS['bpmn']}}}{tag}"


def local(node: etree._Element) -> str:
    return etree.QName(node).localname


def name_of(node: etree._Element) -> str:
    """How messages call an element: its name, else its id, else its kind."""
    return node.get("name") or node.get("id") or local(node)


def reason(exc: BaseException) -> str:
    """Why a script, an expression or an ISO text was refused, in one line."""
    if isinstance(exc, SyntaxError):
        return f"{exc.msg}, line {exc.lineno}"
    if isinstance(exc, IrpmError):
        return exc.message
    return str(exc) or type(exc).__name__
