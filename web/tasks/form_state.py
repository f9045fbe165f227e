"""What the task page renders a form from (``FormState``): the raw values and the engine's
errors, keyed by input path and said in the user's language.

The engine (marshmallow) reports errors nested like the data (``{"risks": {1:
{"description": [...]}}}``) and in English; ``flatten_errors`` keys them by the inputs' data
paths (``risks.1.description``) and ``describe`` rewrites each message for the person
filling the form in ("Enter a whole number."), saying a missing value once. Errors no input
shows go above the form.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from .schema_form import Field, dom_id, pattern, walk


def flatten_errors(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """The engine's nested errors (``{"risks": {1: {"description": [...]}}}``) keyed by
    path (``risks.1.description``)."""
    out: dict[str, list[str]] = {}
    if isinstance(messages, Mapping):
        for key, value in messages.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            for sub, found in flatten_errors(value, path).items():
                out.setdefault(sub, []).extend(found)
    elif isinstance(messages, list | tuple):
        for message in messages:
            if isinstance(message, Mapping | list | tuple):
                for sub, found in flatten_errors(message, prefix).items():
                    out.setdefault(sub, []).extend(found)
            else:
                out.setdefault(prefix or "_schema", []).append(str(message))
    elif messages is not None:
        out.setdefault(prefix or "_schema", []).append(str(messages))
    return out


_REQUIRED = {"Missing data for required field.", "Field may not be null.", "required"}
_RULES: list[tuple[re.Pattern[str], Any]] = [
    (re.compile(r"^Not a valid integer\.$"), lambda f, m: _("Enter a whole number.")),
    (re.compile(r"^Not a valid (number|float)\.$"), lambda f, m: _("Enter a number.")),
    (re.compile(r"^Not a valid boolean\.$"), lambda f, m: _("Choose yes or no.")),
    (re.compile(r"^Must be one of: "), lambda f, m: _("Choose one of the options.")),
    (re.compile(r"^Not a valid date\.$"), lambda f, m: _("Enter a date (year-month-day).")),
    (re.compile(r"^Not a valid datetime\.$"), lambda f, m: _("Enter a date and a time.")),
    (re.compile(r"^Shorter than minimum length (\d+)\.$"),
     lambda f, m: (_("Add at least %(min)d.", min=int(m.group(1))) if _is_list(f) else
                   _("Enter at least %(min)d characters.", min=int(m.group(1))))),
    (re.compile(r"^Longer than maximum length (\d+)\.$"),
     lambda f, m: (_("Add at most %(max)d.", max=int(m.group(1))) if _is_list(f) else
                   _("Enter at most %(max)d characters.", max=int(m.group(1))))),
    (re.compile(r"^Length must be between (\d+) and (\d+)\.$"),
     lambda f, m: (_("Add %(min)d to %(max)d.", min=int(m.group(1)), max=int(m.group(2)))
                   if _is_list(f) else
                   _("Enter %(min)d to %(max)d characters.", min=int(m.group(1)),
                     max=int(m.group(2))))),
    (re.compile(r"^Must be greater than or equal to (\S+) and less than or equal to (\S+)\.$"),
     lambda f, m: _("Enter a value from %(min)s to %(max)s.", min=m.group(1), max=m.group(2))),
    (re.compile(r"^Must be greater than or equal to (\S+)\.$"),
     lambda f, m: _("Enter %(min)s or more.", min=m.group(1))),
    (re.compile(r"^Must be less than or equal to (\S+)\.$"),
     lambda f, m: _("Enter %(max)s or less.", max=m.group(1))),
    (re.compile(r"^(Unknown field\.|invalid field name)$"),
     lambda f, m: _("This field is not part of the form.")),
    (re.compile(r"^too large$"), lambda f, m: _("The form is too large to be sent.")),
    (re.compile(r"^not a file of this task$"),
     lambda f, m: _("This file was not uploaded to this task; upload it again.")),
    (re.compile(r"^level (\d) is below the floor of post (\S+): its post rule demands level "
                r"(\d) — “(.*)” \(post_grading\)\. "),
     lambda f, m: _("Level %(level)s is below what the post rule demands for post %(post)s "
                    "(level %(floor)s): “%(sentence)s”. A review may raise the level, or "
                    "lower it to level %(floor)s at most.", level=m.group(1), post=m.group(2),
                    floor=m.group(3), sentence=m.group(4))),
    # jsonschema's (engine.forms judges the rest of the schema with it).
    (re.compile(r"^.* does not match '.*'$"),
     lambda f, m: _("This value does not have the form asked for.")),
    (re.compile(r"^.* is not valid under any of the given schemas$|^.* is not one of \[|"
                r"^.* was expected$|^.* is valid under each of "),
     lambda f, m: _("This value is not valid.")),
    (re.compile(r"^Not a valid (string|list)\.$|^Invalid (input )?type\.$|^not an object$"),
     lambda f, m: _("This value is not valid.")),
]
REQUIRED_MESSAGE = _l("This field is required.")


def _is_list(f: Field | None) -> bool:
    return f is not None and f.kind == "array"


def describe(f: Field | None, messages: list[str]) -> list[str]:
    """The engine's (marshmallow's) messages for one field, in the user's language; a
    missing value is said once, whatever else was wrong."""
    if any(m in _REQUIRED for m in messages):
        return [str(REQUIRED_MESSAGE)]
    out: list[str] = []
    for message in messages:
        text = message
        for rule, say in _RULES:
            match = rule.match(message)
            if match:
                text = str(say(f, match))
                break
        if text not in out:
            out.append(text)
    return out


@dataclass
class FormState:
    """What the page renders the form from: the raw values and the errors by path."""

    fields: list[Field]
    raw: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)
    #: Errors no input shows (e.g. the form as a whole is too large).
    general: list[str] = field(default_factory=list)

    @classmethod
    def with_errors(cls, fields: list[Field], raw: dict[str, Any],
                    engine_errors: Any) -> FormState:
        by_pattern = dict(walk(fields))
        state = cls(fields, raw)
        for path, messages in flatten_errors(engine_errors).items():
            target = by_pattern.get(pattern(path))
            if target is None:
                state.general.extend(m for m in describe(None, messages)
                                     if m not in state.general)
            else:
                state.errors[path] = describe(target, messages)
        return state

    def _get(self, path: str) -> Any:
        current: Any = self.raw
        for part in path.split("."):
            if isinstance(current, dict):
                current = current.get(part)
            elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
                current = current[int(part)]
            else:
                return None
        return current

    def value(self, path: str) -> str:
        value = self._get(path)
        return value if isinstance(value, str) else ""

    def files(self, path: str) -> list[dict[str, Any]]:
        """The file references a file input holds (one or several)."""
        value = self._get(path)
        values = value if isinstance(value, list) else [value]
        return [v for v in values if isinstance(v, dict)]
    def conditions(self, f: Field, path: str) -> list[tuple[str, str]]:
        """``f.shown_when`` with each sibling named by its path beside ``path``."""
        parent = path.rpartition(".")[0]
        return [(f"{parent}.{name}" if parent else name, value)
                for name, value in f.shown_when]

    def shown(self, f: Field, path: str) -> bool:
        """Whether ``f`` at ``path`` is shown for the values typed: always, unless it is
        asked for only by some siblings' answers and none of them has its value."""
        when = self.conditions(f, path)
        return not when or any(self.value(sibling) == value for sibling, value in when)

    def rows(self, path: str) -> int:
        value = self._get(path)
        return len(value) if isinstance(value, list) else 0

    def field_errors(self, path: str) -> list[str]:
        return self.errors.get(path, [])

    def has_errors(self) -> bool:
        return bool(self.errors or self.general)

    def error_links(self) -> list[tuple[str, str, str]]:
        """(input id, field, message) for the summary above the form: it stands away from
        the inputs, so each message comes with the field it is about ("廉政风险点 1 · 风险描述").
        """
        return [(dom_id(path), self.label(path), message)
                for path, messages in self.errors.items() for message in messages]

    def label(self, path: str) -> str:
        """The field at ``path`` as a person finds it: its title, after the row it is in
        (``risks.0.category`` -> "风险点 1 · 风险类别")."""
        known = dict(walk(self.fields))
        parts = path.split(".")
        shown = []
        for position, part in enumerate(parts):
            f = known.get(pattern(".".join(parts[:position + 1])))
            last = position == len(parts) - 1
            if part.isdigit():
                shown.append(f"{f.title if f else ''} {int(part) + 1}".strip())
            elif last or (f is not None and f.kind == "object"):
                shown.append(f.title if f else part)
        return " · ".join(shown)
