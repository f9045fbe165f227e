"""An event's data as the instance page shows it: key / value lines in real characters (not
JSON with ``\\uXXXX`` escapes), times in the page's time zone, stored files as references
the page links — rather than the raw JSON the log keeps."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from engine.file_inputs import is_reference

__all__ = ["Detail", "event_details", "shown"]

_ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


@dataclass(frozen=True)
class Detail:
    """One line: ``kind`` is ``time`` (``value`` a datetime), ``file`` (a stored file's
    reference), ``text`` (a string to print as it is)."""

    key: str
    kind: str
    value: Any


def event_details(data: Any) -> list[Detail]:
    if not isinstance(data, dict):
        return [] if data is None else [Detail("", "text", shown(data))]
    lines: list[Detail] = []
    for key, value in data.items():
        items = value if isinstance(value, list) and value and all(
            is_reference(v) for v in value) else [value]
        for item in items:
            lines.append(_detail(str(key), item))
    return lines


def _detail(key: str, value: Any) -> Detail:
    if is_reference(value):
        return Detail(key, "file", value)
    moment = _time(value)
    if moment is not None:
        return Detail(key, "time", moment)
    return Detail(key, "text", shown(value))


def _time(value: Any) -> datetime | None:
    """An ISO time the engine wrote (``due_at``…); naive ones are UTC, as the engine's."""
    if not isinstance(value, str) or not _ISO_TIME.match(value):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def shown(value: Any) -> str:
    """A value in real characters: strings as they are, ``—`` for null and for an empty
    list or object (a task offered to no user by name, say), anything else as compact JSON
    without ASCII escapes."""
    if isinstance(value, str):
        return value
    if value is None or value == [] or value == {}:
        return "—"
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "), default=str)
