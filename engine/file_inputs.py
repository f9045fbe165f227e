"""File inputs of a task form: what react-jsonschema-form renders as a file upload — a string
with ``format: data-url``, or an array of them — read the way IRPM keeps files.

rjsf sends the file itself, base64 in the string (``data:<type>;name=<name>;base64,…``).
IRPM keeps no bytes in task data: the file goes into the evidence store
(``engine.services.evidence``) and the data holds a *reference* to it — ``{"id", "name",
"size", "sha256", "media_type"}`` — so a task's data stays small, the file is handed out
only to those who may see the task, and scripts still see who sent what.

``normalise_file_input`` is how ``engine.forms.normalise`` rewrites such a field: an object
of the reference's shape, still marked ``format: data-url`` so the task page knows it is a
file input (``format`` asserts nothing about objects). ``file_fields`` finds the form's
file inputs (properties of the form itself, single or arrays), ``decode`` reads a data-url
within a size bound and ``accepts`` applies the ui-schema's ``ui:options.accept``.
"""

from __future__ import annotations

import base64
import binascii
import re
import urllib.parse
from dataclasses import dataclass
from typing import Any

__all__ = ["DATA_URL", "REFERENCE_KEYS", "FileField", "NotADataUrl", "accepts", "decode",
           "file_fields", "is_file_schema", "is_reference", "nested_file_inputs",
           "normalise_file_input"]

DATA_URL = "data-url"
#: The keys of a file reference in task data, and their JSON types.
REFERENCE_KEYS = {"id": "integer", "name": "string", "size": "integer", "sha256": "string",
                  "media_type": "string"}
_DATA_URL = re.compile(r"^data:(?P<type>[^;,]*)(?P<params>(?:;[^;,]*)*?)(?P<b64>;base64)?,",
                       re.IGNORECASE)


def _is_data_url_string(spec: Any) -> bool:
    return (isinstance(spec, dict) and spec.get("format") == DATA_URL
            and spec.get("type", "string") == "string")


def normalise_file_input(spec: dict[str, Any]) -> dict[str, Any]:
    """A ``format: data-url`` string schema as the schema of its reference (title,
    description and the like kept); any other schema unchanged."""
    if not _is_data_url_string(spec):
        return spec
    kept = {k: v for k, v in spec.items()
            if k not in ("type", "format", "default", "minLength", "maxLength", "pattern",
                         "contentMediaType", "contentEncoding")}
    return {**kept, "type": "object", "format": DATA_URL,
            "properties": {key: {"type": kind} for key, kind in REFERENCE_KEYS.items()},
            "required": list(REFERENCE_KEYS), "additionalProperties": False}


def is_file_schema(spec: Any) -> bool:
    """A (normalised) schema of one file reference."""
    return isinstance(spec, dict) and spec.get("format") == DATA_URL \
        and spec.get("type") == "object"


@dataclass(frozen=True)
class FileField:
    name: str
    #: An array of files (rjsf's ``files``) rather than one.
    multiple: bool
    max_items: int | None
    #: ``ui:options.accept``: file name endings (``.pdf``) and media types (``image/*``).
    accept: tuple[str, ...]


def _accept(ui: Any) -> tuple[str, ...]:
    options = ui.get("ui:options") if isinstance(ui, dict) else None
    given = options.get("accept") if isinstance(options, dict) else None
    if isinstance(given, str):
        given = given.split(",")
    if not isinstance(given, list):
        return ()
    return tuple(str(item).strip().lower() for item in given if str(item).strip())


def file_fields(schema: dict[str, Any] | None, ui: dict[str, Any] | None = None
                ) -> dict[str, FileField]:
    """The file inputs among the (normalised) form's own properties, by name."""
    found: dict[str, FileField] = {}
    properties = (schema or {}).get("properties") or {}
    ui = ui if isinstance(ui, dict) else {}
    for name, spec in properties.items():
        if is_file_schema(spec):
            found[name] = FileField(name, False, None, _accept(ui.get(name)))
        elif isinstance(spec, dict) and spec.get("type") == "array" \
                and is_file_schema(spec.get("items")):
            most = spec.get("maxItems")
            found[name] = FileField(name, True, most if isinstance(most, int) else None,
                                    _accept(ui.get(name)))
    return found


def _nested(spec: Any, path: str) -> list[str]:
    """The paths of file inputs inside ``spec`` (a property's schema) and below it."""
    if not isinstance(spec, dict):
        return []
    if is_file_schema(spec):
        return [path]
    found = []
    for name, sub in (spec.get("properties") or {}).items():
        found.extend(_nested(sub, f"{path}.{name}"))
    if isinstance(spec.get("items"), dict):
        found.extend(_nested(spec["items"], f"{path}.[]"))
    return found


def nested_file_inputs(schema: dict[str, Any]) -> list[str]:
    """File inputs the form has below its own properties (in an object, or in the rows of a
    list of objects): the page and the checks of stored files take only the form's own
    properties (one file or a list of files), so deploy refuses these."""
    found = []
    for name, spec in (schema.get("properties") or {}).items():
        if name in file_fields(schema) or not isinstance(spec, dict):
            continue
        found.extend(_nested(spec, name))
    return found


def is_reference(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == set(REFERENCE_KEYS)


def accepts(accept: tuple[str, ...], filename: str, media_type: str) -> bool:
    """Whether a file named ``filename`` of ``media_type`` (read from its content) is one
    the field's ``accept`` list allows (an empty list allows all)."""
    if not accept:
        return True
    name, kind = filename.lower(), media_type.lower()
    for item in accept:
        if item.startswith(".") and name.endswith(item):
            return True
        if item.endswith("/*") and kind.startswith(item[:-1]):
            return True
        if item == kind:
            return True
    return False


class NotADataUrl(ValueError):
    """The text is not a base64 data-url, or is larger than allowed."""


def decode(text: str, max_bytes: int) -> tuple[str, bytes]:
    """``(file name, content)`` of an rjsf data-url; the content is not decoded when the
    text is longer than ``max_bytes`` could make (``NotADataUrl("too large")``)."""
    match = _DATA_URL.match(text)
    if match is None or not match.group("b64"):
        raise NotADataUrl("not a data-url")
    payload = text[match.end():]
    if len(payload) > 4 * ((max_bytes + 1 + 2) // 3) + 4:
        raise NotADataUrl("too large")
    name = ""
    for param in match.group("params").split(";"):
        key, _sep, value = param.partition("=")
        if key.strip().lower() == "name":
            name = urllib.parse.unquote(value)
    try:
        content = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise NotADataUrl("not a data-url") from None
    if len(content) > max_bytes:
        raise NotADataUrl("too large")
    return name, content
