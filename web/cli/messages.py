"""``irpm messages send NAME`` — send a BPMN message from the shell: to the instances
waiting for it whose correlation matches and as a new instance of every process whose
message start event catches it, or (``--instance``) to one instance. ``irpm signals send
NAME`` — a signal, to every instance waiting for it or to one.

The same engine service as ``POST /api/v1/messages`` (``engine.services.messages.send``):
administrators only, audited as ``message.send``; the actor is the administrator named by
``--user``/``--by`` (IRPM_USER) or the shell operator ``shell:<login>``.
"""

from __future__ import annotations

import json
from typing import Any

import click

from engine.services import messages as messages_service
from engine.services import signals as signals_service

from .format import JSON_OBJECT, Failure
from .state import State, operator, operator_option, pass_state


@click.group()
def messages() -> None:
    """BPMN messages sent from outside (administrators)."""


def _correlation(values: tuple[str, ...]) -> dict[str, Any]:
    """``property=value`` pairs; a value that reads as a JSON number, true/false or a
    quoted string is taken as that, anything else as text."""
    found: dict[str, Any] = {}
    for item in values:
        prop, sep, text = item.partition("=")
        if not sep or not prop.strip():
            raise Failure(f"--correlate {item!r}: write property=value, e.g. order_id=A-1")
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            value = text
        found[prop.strip()] = value if isinstance(value, str | int | float | bool) else text
    return found


@messages.command("send")
@click.argument("name")
@click.option("--payload", type=JSON_OBJECT, metavar="JSON",
              help="The message's data: a JSON object, inline or @file.json.")
@click.option("--correlate", "correlate", multiple=True, metavar="PROPERTY=VALUE",
              help="A correlation property's expected value (repeatable); it must agree "
                   "with what the property reads from the payload.")
@click.option("--instance", "instance_id", type=click.IntRange(min=1),
              help="Only this instance may catch it.")
@operator_option
@pass_state
def messages_send(state: State, name: str, payload: dict[str, Any] | None,
                  correlate: tuple[str, ...], instance_id: int | None,
                  operator_name: str | None) -> None:
    """Send message NAME (audited)."""
    correlation = _correlation(correlate)
    with state.rt.uow() as uow:
        sent = messages_service.send(uow, name, payload, operator(uow, operator_name),
                                     correlation=correlation, instance_id=instance_id)
    reached = ", ".join(str(i) for i in sent.caught) or "none"
    started = ", ".join(str(i) for i in sent.started) or "none"
    state.say({"name": sent.name, "correlations": sent.correlations, "caught": sent.caught,
               "started": sent.started},
              f"message '{name}' caught by instance(s) {reached}; started instance(s) "
              f"{started}")


@click.group()
def signals() -> None:
    """BPMN signals sent from outside (administrators)."""


@signals.command("send")
@click.argument("name")
@click.option("--payload", type=JSON_OBJECT, metavar="JSON",
              help="The signal's data: a JSON object, inline or @file.json.")
@click.option("--instance", "instance_id", type=click.IntRange(min=1),
              help="Only this instance (else every instance waiting for the signal).")
@operator_option
@pass_state
def signals_send(state: State, name: str, payload: dict[str, Any] | None,
                 instance_id: int | None, operator_name: str | None) -> None:
    """Send signal NAME (audited)."""
    with state.rt.uow() as uow:
        caught = signals_service.send_signal(uow, name, payload, operator(uow, operator_name),
                                             instance_id=instance_id)
    state.say({"name": name, "caught": caught}, f"signal '{name}' caught by instance(s) "
              f"{', '.join(str(i) for i in caught)}")
