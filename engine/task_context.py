"""Task context: what a user task shows beside its form, declared in the model.

A person deciding something needs what it is about on the page — the citizen's text, the
shortfall to correct, the reviewer's reason — not only the fields to fill in. A user task
declares it in its ``extensionElements``, generically: each field names a *source*, a
dotted path into the task's data (instance variables, earlier steps' outputs, a message's
payload, a multi-instance item), and the label it is shown with::

    <irpm:context xmlns:irpm="http://irpm/bpmn/context">
      <irpm:field source="suggestion.text" label="群众意见" label_en="Citizen's feedback"/>
      <irpm:field source="objection.text" label="公示异议" optional="true"/>
    </irpm:context>

A field with nothing at its source is shown as not recorded yet, or left out if it is
``optional`` (what only some instances have, such as an objection).

The fields are read once at deploy into the element's catalog entry (``context``) and
resolved against the task's data when its page or API answer is built; the values are shown
read-only and are never part of what the form submits. Nothing here knows the programme.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lxml import etree

from .errors import DeploymentError

NAMESPACE = "http://irpm/bpmn/context"
#: The catalog key the fields are stored under.
CATALOG_KEY = "context"
#: A source: a variable name, then ``.key`` or ``.0`` (a list index) steps.
SOURCE_PATTERN = re.compile(r"[A-Za-z_]\w*(\.\w+)*")
MAX_FIELDS = 20
MAX_LABEL = 100


@dataclass(frozen=True)
class ContextField:
    """One declared field: where its value comes from and how it is labelled."""

    source: str
    label: str
    label_en: str | None = None
    #: Left out of the page while nothing is at the source.
    optional: bool = False

    @property
    def root(self) -> str:
        """The variable the path starts from (what lint checks the process defines)."""
        return self.source.split(".", 1)[0]

    def as_dict(self) -> dict[str, str]:
        found = {"source": self.source, "label": self.label}
        if self.label_en:
            found["label_en"] = self.label_en
        if self.optional:
            found["optional"] = "true"
        return found


@dataclass(frozen=True)
class ContextValue:
    """A field with the value found at its source (``present`` False: nothing there yet)."""

    source: str
    label: str
    label_en: str | None
    value: Any
    present: bool

    def label_for(self, language: str) -> str:
        """The label in ``language`` (``en`` takes ``label_en`` if given; Chinese else)."""
        return self.label_en if language.startswith("en") and self.label_en else self.label


def read_fields(element: etree._Element, filename: str | None = None) -> list[ContextField]:
    """The fields an element's ``irpm:context`` declares (none: an empty list).

    ``DeploymentError`` naming the element when a field lacks its source or label, a source
    is not a dotted path, or there are more than ``MAX_FIELDS``.
    """
    element_id = element.get("id")
    found: list[ContextField] = []
    for node in element.iterfind(f"./{{*}}extensionElements/{{{NAMESPACE}}}context"
                                 f"/{{{NAMESPACE}}}field"):
        source = (node.get("source") or "").strip()
        label = (node.get("label") or "").strip()
        label_en = (node.get("label_en") or "").strip() or None
        optional = (node.get("optional") or "false").strip()
        where = {"filename": filename, "line": node.sourceline, "element": element_id}
        if not SOURCE_PATTERN.fullmatch(source):
            raise DeploymentError(
                f"task context field source {source!r} is not a variable path: write a "
                "variable name, then .key or .0 steps, e.g. suggestion.text", **where)
        if not label or len(label) > MAX_LABEL or len(label_en or "") > MAX_LABEL:
            raise DeploymentError(
                f"task context field {source!r} needs a label (at most {MAX_LABEL} "
                "characters; label_en likewise)", **where)
        if optional not in ("true", "false"):
            raise DeploymentError(f"task context field {source!r}: optional is \"true\" or "
                                  f"\"false\", not {optional!r}", **where)
        found.append(ContextField(source, label, label_en, optional == "true"))
    if len(found) > MAX_FIELDS:
        raise DeploymentError(f"a task shows at most {MAX_FIELDS} context fields, not "
                              f"{len(found)}", filename=filename, element=element_id)
    return found


def from_catalog(entry: Mapping[str, Any]) -> list[ContextField]:
    """The fields stored in an element's catalog entry at deploy."""
    return [ContextField(f["source"], f["label"], f.get("label_en"),
                         f.get("optional") == "true")
            for f in entry.get(CATALOG_KEY) or ()]


_MISSING = object()


def lookup(data: Mapping[str, Any], source: str) -> Any:
    """The value at ``source`` in ``data``, or ``_MISSING``: a key absent, an index out of
    range or a step into a value that is neither a mapping nor a list."""
    value: Any = data
    for step in source.split("."):
        if isinstance(value, Mapping) and step in value:
            value = value[step]
        elif isinstance(value, list) and step.isdigit() and int(step) < len(value):
            value = value[int(step)]
        else:
            return _MISSING
    return value


def resolve(fields: list[ContextField], data: Mapping[str, Any]) -> list[ContextValue]:
    """Each field with its value in ``data`` (the task's data); an optional field with
    nothing there is left out."""
    values = []
    for item in fields:
        value = lookup(data, item.source)
        present = value is not _MISSING and value is not None and value != ""
        if item.optional and not present:
            continue
        values.append(ContextValue(item.source, item.label, item.label_en,
                                   value if present else None, present))
    return values
