"""Separation of duties (回避): who must not perform a human task, written in its BPMN.

"Nobody may check, review or supervise their own post — this is an integrity system": a
互相查 is done by colleagues, not by the post holder; a head does not 领导点 his own post; a
principal does not hold the 廉政谈话 with himself. A user task says so in the spiffworkflow
property ``excludes`` — comma-separated entries, each one of

=========================== ===============================================================
entry                       excludes
=========================== ===============================================================
``lane:<role>``             whoever the runtime's resolver makes of that lane for this
                            task's data (``lane:post_holder``: the holder of the post the
                            task is about — the programme's ``post:<post_code>``)
``performer:<element_id>``  whoever completed that step earlier in this instance (four eyes)
``user:<login>``            one login
``group:<group>``           everyone in a group
=========================== ===============================================================

or ``=expression``: evaluated in the sandbox against the task data, it gives a list (or a
comma-separated text) of such entries; a bare name is a login.

The excluded users and groups are stored with the task (``task_candidate`` rows of kind
``ex_user`` / ``ex_group``) and the one access rule (``engine.services.task_access``) takes
them out of the candidates: they do not see the task in their lists, cannot claim or complete
it, and nobody can delegate or reassign it to them. When the rule takes *everyone* out of a
lane (``engine.execution.escalation``), the task goes one level up through the runtime's
``escalation`` hook.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .assignment import CandidateResolver, Candidates, TaskContext, split_items

__all__ = ["EXCLUDES", "KINDS", "Excluded", "Rule", "parse_entries", "parse_property",
           "resolve"]

#: The BPMN property (``spiffworkflow:property name="excludes"``).
EXCLUDES = "excludes"
#: What an entry may name; see the module docstring.
KINDS = ("lane", "performer", "user", "group")


@dataclass(frozen=True)
class Rule:
    """One entry of ``excludes``: ``kind:value``."""

    kind: str
    value: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"


def _entry(text: str, *, bare_is_user: bool) -> Rule:
    kind, sep, value = text.partition(":")
    kind, value = kind.strip(), value.strip()
    if not sep:
        if bare_is_user and kind:
            return Rule("user", kind)
        raise ValueError(f"'{text}' is not an exclusion: write kind:value with kind one of "
                         f"{', '.join(KINDS)} (e.g. lane:post_holder)")
    if kind not in KINDS:
        raise ValueError(f"'{text}': unknown kind '{kind}'; use one of {', '.join(KINDS)}")
    if not value or any(c.isspace() for c in value):
        raise ValueError(f"'{text}': {kind}: needs a name without spaces")
    return Rule(kind, value)


def parse_entries(value: Any, *, bare_is_user: bool = False) -> tuple[Rule, ...]:
    """The entries of a comma-separated text or a list of texts; ``ValueError`` says which
    entry is wrong and why. ``bare_is_user``: a name without ``kind:`` is a login (what an
    expression may give)."""
    if value is None:
        return ()
    items = split_items(value, "exclusions")
    rules: dict[Rule, None] = {}
    for item in items:
        if not isinstance(item, str):
            raise ValueError(f"an exclusion must be text, not {type(item).__name__}")
        if item.strip():
            rules[_entry(item.strip(), bare_is_user=bare_is_user)] = None
    return tuple(rules)


def parse_property(raw: str) -> tuple[Rule, ...] | str:
    """The property as written: its entries, or the expression after ``=`` (checked and
    evaluated when a task is created). ``ValueError`` for a malformed entry or an empty
    expression."""
    text = raw.strip()
    if text.startswith("="):
        if not text[1:].strip():
            raise ValueError("excludes '=' needs an expression after it")
        return text[1:].strip()
    return parse_entries(text)


@dataclass(frozen=True)
class Excluded:
    """Who a task excludes: logins and groups, and the entries that named them (for the
    refusals and the task's history)."""

    users: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    rules: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.users or self.groups)


#: The logins that completed an element earlier in the instance (``performer:``).
Performers = Callable[[str], set[str]]


def resolve(ctx: TaskContext, evaluate: Any, resolver: CandidateResolver,
            performers: Performers) -> Excluded | None:
    """The task's exclusions (None: it has no ``excludes``). A lane resolves as the task's
    own lane would (``resolver``: the runtime's), for this task's data; an error (a lane the
    data cannot scope, an expression that fails) is the diagram's, like a bad lane."""
    raw = ctx.element.get("properties", {}).get(EXCLUDES)
    if raw is None or not raw.strip():
        return None
    parsed = parse_property(raw)
    rules = (parse_entries(evaluate(parsed), bare_is_user=True) if isinstance(parsed, str)
             else parsed)
    users: set[str] = set()
    groups: set[str] = set()
    for rule in rules:
        if rule.kind == "user":
            users.add(rule.value)
        elif rule.kind == "group":
            groups.add(rule.value)
        elif rule.kind == "performer":
            users |= performers(rule.value)
        else:
            lane = TaskContext({"lane": rule.value, "properties": {},
                                "name": ctx.element.get("name")},
                               ctx.data, ctx.process_id, ctx.business_key)
            found: Candidates = resolver(lane, evaluate)
            users |= set(found.users)
            groups |= set(found.groups)
    return Excluded(tuple(sorted(users)), tuple(sorted(groups)),
                    tuple(str(r) for r in rules))
