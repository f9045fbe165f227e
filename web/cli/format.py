"""Text in and out of ``irpm``: engine rows as aligned tables or JSON out; JSON, date-times
and durations in.

Times are shown in China time (+08:00), the time the programme's units work in; JSON carries
full ISO 8601 values with their offset so scripts never guess. Bad input raises ``Failure``:
one ``error: ...`` line on stderr and exit status 1, never a traceback.
"""

from __future__ import annotations

import calendar
import json
import re
import unicodedata
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from enum import Enum
from pathlib import Path
from typing import IO, Any

import click

from engine.errors import IrpmError, ValidationFailed
from engine.models import HumanTask, InstanceEvent, ProcessInstance

CHINA = timezone(timedelta(hours=8), "+08:00")


class Failure(click.ClickException):
    """A failure the user can act on: ``error: <message>`` on stderr, exit status 1."""

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"error: {self.format_message()}", file=file, err=file is None)


def describe(exc: IrpmError) -> str:
    """The error as one line; a rejected form names each bad field."""
    text = exc.message
    if isinstance(exc, ValidationFailed) and exc.errors:
        text += " — " + "; ".join(f"{path}: {msg}" for path, msg in _flatten(exc.errors))
    return " ".join(text.split())


def _flatten(errors: Any, prefix: str = "") -> Iterable[tuple[str, str]]:
    if isinstance(errors, Mapping):
        for key, value in errors.items():
            yield from _flatten(value, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(errors, list | tuple) and all(isinstance(e, str) for e in errors):
        yield prefix or "_schema", " ".join(errors)
    else:
        yield prefix or "_schema", str(errors)


# --------------------------------------------------------------------------- output


def jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(CHINA).isoformat()
    if isinstance(value, date | uuid.UUID | Path):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    return value


def dumps(value: Any) -> str:
    return json.dumps(jsonable(value), ensure_ascii=False, indent=2)


def cell(value: Any) -> str:
    if value is None or value == []:
        return "-"
    if isinstance(value, datetime):
        return value.astimezone(CHINA).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ",".join(cell(v) for v in value)
    if isinstance(value, Mapping):
        return json.dumps(jsonable(value), ensure_ascii=False, separators=(",", ":"))
    return " ".join(str(value).split())


def width(text: str) -> int:
    """Columns a terminal gives ``text``: CJK characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _clip(text: str, limit: int | None) -> str:
    if limit is None or width(text) <= limit:
        return text
    while width(text) > limit - 1:
        text = text[:-1]
    return text + "…"


@dataclass(frozen=True)
class Column:
    header: str
    key: str
    max_width: int | None = None
    #: What the cell shows, when it is not the row's ``key`` as it is.
    show: Callable[[Mapping[str, Any]], Any] | None = None

    def value(self, row: Mapping[str, Any]) -> Any:
        return self.show(row) if self.show else row.get(self.key)


def table(rows: Sequence[Mapping[str, Any]], columns: Sequence[Column]) -> str:
    cells = [[col.header for col in columns]]
    cells += [[_clip(cell(col.value(row)), col.max_width) for col in columns] for row in rows]
    widths = [max(width(line[i]) for line in cells) for i in range(len(columns))]
    return "\n".join(
        "  ".join(text + " " * (widths[i] - width(text)) for i, text in enumerate(line)).rstrip()
        for line in cells)


# --------------------------------------------------------------------------- engine rows


def instance_row(instance: ProcessInstance) -> dict[str, Any]:
    return {
        "id": instance.id, "process_id": instance.process_id, "key": instance.business_key,
        "status": str(instance.status), "started_at": instance.started_at,
        "started_by": instance.started_by, "updated_at": instance.updated_at,
        "completed_at": instance.completed_at, "error": instance.error_message,
        "error_element": instance.error_element,
    }


def task_row(task: HumanTask) -> dict[str, Any]:
    return {
        "id": task.id, "instance_id": task.instance_id, "element_id": task.element_id,
        "name": task.name, "lane": task.lane, "candidate_groups": task.candidate_groups,
        "candidate_users": task.candidate_users,
        "administrators_only": task.administrators_only, "assignee": task.assignee,
        "state": str(task.state), "created_at": task.created_at, "due_at": task.due_at,
        "completed_at": task.completed_at, "completed_by": task.completed_by,
    }


def _groups(row: Mapping[str, Any]) -> Any:
    """A task's candidate groups; an administrators' task (none, no users) says whose it is."""
    return row.get("candidate_groups") or (
        "(administrators)" if row.get("administrators_only") else [])


INSTANCE_COLUMNS = [Column("ID", "id"), Column("PROCESS", "process_id"), Column("KEY", "key"),
                    Column("STATUS", "status"), Column("STARTED", "started_at"),
                    Column("BY", "started_by"), Column("UPDATED", "updated_at")]
TASK_COLUMNS = [Column("TASK", "id"), Column("INSTANCE", "instance_id"),
                Column("NAME", "name"), Column("GROUPS", "candidate_groups", show=_groups),
                Column("USERS", "candidate_users"), Column("ASSIGNEE", "assignee"),
                Column("DUE", "due_at")]
VIEW_COLUMNS = {
    "done": [*TASK_COLUMNS[:3], Column("COMPLETED", "completed_at"), Column("BY", "completed_by")],
    "all": [*TASK_COLUMNS, Column("STATE", "state")],
}


def event_row(event: InstanceEvent) -> dict[str, Any]:
    return {"id": event.id, "at": event.at, "type": event.type, "actor": event.actor,
            "task_id": event.task_id, "element_id": event.element_id, "data": event.data}


# --------------------------------------------------------------------------- input


def parse_datetime(text: str) -> datetime:
    """ISO 8601 date or date-time; without an offset it is China time (+08:00)."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise Failure(f"'{text}' is not an ISO 8601 date-time; write e.g. 2011-01-04T09:00 "
                      "(China time) or 2011-01-04T01:00Z") from None
    return value.replace(tzinfo=CHINA) if value.tzinfo is None else value


_ISO_DURATION = re.compile(r"P(?!$)(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?"
                           r"(?:T(?=\d)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?",
                           re.IGNORECASE)
_SHORT_DURATION = re.compile(r"(?:\d+\s*[wdhms]\s*)+", re.IGNORECASE)
_SHORT_UNITS = {"w": "weeks", "d": "days", "h": "hours", "m": "minutes", "s": "seconds"}


@dataclass(frozen=True)
class Duration:
    """Calendar months (years count 12) plus a fixed span."""

    months: int
    span: timedelta

    def after(self, start: datetime) -> datetime:
        local = start.astimezone(CHINA)
        index = local.month - 1 + self.months
        year, month = local.year + index // 12, index % 12 + 1
        day = min(local.day, calendar.monthrange(year, month)[1])
        return local.replace(year=year, month=month, day=day) + self.span


def parse_duration(text: str) -> Duration:
    """``P7D``, ``PT36H``, ``P1M`` (ISO 8601) or ``7d``, ``36h``, ``1d12h``, ``90m``."""
    raw = text.strip()
    iso = _ISO_DURATION.fullmatch(raw)
    if iso:
        y, mo, w, d, h, mi, s = (float(g) if g else 0 for g in iso.groups())
        return Duration(int(y) * 12 + int(mo),
                        timedelta(weeks=w, days=d, hours=h, minutes=mi, seconds=s))
    if _SHORT_DURATION.fullmatch(raw):
        parts: dict[str, float] = {}
        for amount, unit in re.findall(r"(\d+)\s*([wdhms])", raw, re.IGNORECASE):
            key = _SHORT_UNITS[unit.lower()]
            parts[key] = parts.get(key, 0) + int(amount)
        return Duration(0, timedelta(**parts))
    raise Failure(f"'{text}' is not a duration; write ISO 8601 (P7D, PT2H, P1M) or e.g. "
                  "7d, 36h, 1d12h")


class DateTimeType(click.ParamType):
    name = "ISO_DATETIME"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> datetime:
        return value if isinstance(value, datetime) else parse_datetime(str(value))


class DurationType(click.ParamType):
    name = "DURATION"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> Duration:
        return value if isinstance(value, Duration) else parse_duration(str(value))


class JsonObjectType(click.ParamType):
    """A JSON object, inline or ``@file.json``."""

    name = "JSON"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> dict[str, Any]:
        if isinstance(value, dict):
            return value
        label = f"--{param.name}" if param is not None and param.name else "the value"
        text = str(value)
        if text.startswith("@"):
            try:
                text = Path(text[1:]).read_text(encoding="utf-8")
            except OSError as exc:
                raise Failure(f"{label}: cannot read {text[1:]}: {exc.strerror}") from None
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError as exc:
            raise Failure(f"{label} is not valid JSON: {exc.msg} at line {exc.lineno} column "
                          f"{exc.colno}") from None
        if not isinstance(parsed, dict):
            raise Failure(f"{label} must be a JSON object, e.g. '{{\"approved\": true}}'")
        return parsed


ISO_DATETIME = DateTimeType()
DURATION = DurationType()
JSON_OBJECT = JsonObjectType()
