"""Which instances, and which message start events, a message reaches.

Correlation is SpiffWorkflow's (``MessageEventDefinition``): a message's correlations are
``{key: {property: value}}``, each property's retrieval expression evaluated on the payload
(by the thrower for a thrown message; here, for a message sent from outside, with the
deployed catch events' properties — and the catch evaluates them on the payload again).
A waiting catch takes the message when it has no correlation values to compare, or when
one of the message's keys is equal to the catching workflow's (``catches``). The
``message_wait`` rows hold what is compared, so matching needs no workflow loaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.message import (
    CorrelationProperty,
    MessageEventDefinition,
)
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from sqlalchemy import func, select

from ..db import UnitOfWork
from ..errors import ValidationFailed
from ..execution.checkout import load_definition
from ..models import ACTIVE_STATUSES, MessageWait, ProcessDefinition, ProcessInstance

Correlations = dict[str, dict[str, Any]]


@dataclass(frozen=True)
class MessageUse:
    """Where the latest deployed versions use message ``name``."""

    #: The correlation properties the message has in them (by property name).
    properties: dict[str, CorrelationProperty]
    #: The definitions whose start event catches it: (definition id, process id).
    starts: list[tuple[int, str]]
    #: Whether any of them uses the message at all (catches or throws it).
    known: bool


def message_use(uow: UnitOfWork, name: str) -> MessageUse:
    """Message ``name`` in the latest version of every deployed process (their specs come
    from the runtime's spec cache, so this loads each definition once per process)."""
    latest = (select(ProcessDefinition.process_id,
                     func.max(ProcessDefinition.version).label("version"))
              .group_by(ProcessDefinition.process_id).subquery())
    rows = uow.session.execute(
        select(ProcessDefinition.id, ProcessDefinition.process_id)
        .join(latest, (latest.c.process_id == ProcessDefinition.process_id)
              & (latest.c.version == ProcessDefinition.version))
        .order_by(ProcessDefinition.process_id)).all()
    properties: dict[str, CorrelationProperty] = {}
    starts: list[tuple[int, str]] = []
    known = False
    for definition_id, process_id in rows:
        spec, subprocess_specs = load_definition(uow, definition_id).bundle
        for one in [spec, *subprocess_specs.values()]:
            for task_spec in one.task_specs.values():
                found = _messages(getattr(task_spec, "event_definition", None), name)
                known = known or bool(found)
                properties.update(properties_of(found))
        if any(_messages(s.event_definition, name) for s in spec.bpmn_start_events):
            starts.append((definition_id, process_id))
    return MessageUse(properties, starts, known)


def message_only_start(spec: Any) -> list[str]:
    """The messages that start ``spec`` when each of its start events is a message start
    event (then only a message can start it); else none."""
    starts = [s.event_definition for s in spec.bpmn_start_events]
    if starts and all(isinstance(d, MessageEventDefinition) for d in starts):
        return sorted({d.name for d in starts})
    return []


def _messages(definition: Any, name: str) -> list[MessageEventDefinition]:
    """The message definitions named ``name`` in ``definition``: a plain one, or one of a
    multiple or parallel-multiple event's — SpiffWorkflow starts a participant whose start
    event is a multiple holding the message (``MultipleEventDefinition.__eq__`` matches any
    of its members in ``EventManager.update_collaboration``), so IRPM starts it too."""
    if isinstance(definition, MultipleEventDefinition):
        return [found for member in definition.event_definitions
                for found in _messages(member, name)]
    if isinstance(definition, MessageEventDefinition) and definition.name == name:
        return [definition]
    return []


def properties_of(definitions: list[Any]) -> dict[str, CorrelationProperty]:
    """The correlation properties of message definitions, by property name."""
    return {p.name: p for d in definitions for p in d.correlation_properties}


def correlations_of(uow: UnitOfWork, properties: dict[str, CorrelationProperty],
                    payload: dict[str, Any], given: dict[str, Any]) -> Correlations:
    """The correlations of a message sent from outside: each correlation property's
    retrieval expression evaluated on ``payload``, as ``MessageEventDefinition`` does on a
    throw — and as the catch does again, so a correlated message must carry its values in
    the payload. ``given`` names values the sender expects (``{property: value}``): each
    must be a property of the message and agree with the payload.

    Refused (``ValidationFailed``, naming the property and the fix) otherwise.
    """
    unknown = sorted(set(given) - set(properties))
    if unknown:
        have = ", ".join(sorted(properties)) or "none"
        raise ValidationFailed(
            f"message correlation names {', '.join(unknown)}, which the message does not "
            f"have (its correlation properties: {have})",
            {"correlation": [f"unknown property: {n}" for n in unknown]})
    environment = uow.runtime.script_engine.environment
    correlations: Correlations = {}
    for prop in properties.values():
        try:
            value = environment.evaluate(prop.retrieval_expression, dict(payload))
        except Exception as exc:  # the sandbox's errors: NameError, KeyError, ...
            raise ValidationFailed(
                f"correlation property {prop.name} is read from the payload by "
                f"'{prop.retrieval_expression}', which fails on it ({exc}); the receiver "
                "reads it there too, so put it into the payload",
                {"payload": [f"{prop.name}: missing"]}) from exc
        if prop.name in given and given[prop.name] != value:
            raise ValidationFailed(
                f"correlation property {prop.name} is {given[prop.name]!r} in the correlation "
                f"but {value!r} in the payload; make them agree",
                {"correlation": [f"{prop.name}: differs from the payload"]})
        for key in prop.correlation_keys:
            correlations.setdefault(key, {})[prop.name] = value
    return correlations


def correlates(event: Correlations, waiting: Correlations | None) -> bool:
    """SpiffWorkflow's ``MessageEventDefinition.catches`` on the stored values: a catch
    with nothing to compare takes any message; else one of the message's keys must equal
    the catching workflow's."""
    if not waiting:
        return True
    return any(event.get(key) == waiting.get(key) for key in event)


def waiting_receivers(uow: UnitOfWork, name: str, correlations: Correlations,
                      exclude: int | None = None, *, kind: str = "message",
                      event_starts: bool = False) -> list[int]:
    """The active instances (id order) with a waiting catch of message (or signal)
    ``name`` that correlates — with ``event_starts``, or an event subprocess whose start
    event catches it (``engine.messaging.event_subprocesses``: from outside only)."""
    kinds = [kind, f"{kind}_start"] if event_starts else [kind]
    stmt = (select(MessageWait.instance_id, MessageWait.correlations)
            .join(ProcessInstance, ProcessInstance.id == MessageWait.instance_id)
            .where(MessageWait.kind.in_(kinds), MessageWait.name == name,
                   ProcessInstance.status.in_(ACTIVE_STATUSES)))
    found = {iid for iid, waiting in uow.session.execute(stmt)
             if iid != exclude and correlates(correlations, waiting)}
    return sorted(found)
