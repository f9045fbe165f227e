"""POST /messages: send a BPMN message from outside — to the instances waiting for it whose
correlation matches, and as a new instance of every process whose message start event
catches it — or to one named instance. POST /signals: a signal, to every instance waiting
for it or to one (``engine.services.signals``; same rule, audited as ``signal.send``).

One engine service behind it (``engine.services.messages.send``), the one ``irpm messages
send`` calls too. Administrators only, checked before the body is read (403 for anyone
else, whatever they sent): a message moves instances on past what their process decided,
like the console's administrative acts. A personal API token acts as its owner, so an
administrator's token may send; IRPM's tokens carry no narrower scopes. Each send is
written to the audit log (``message.send``) in the transaction that delivers it.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma

from engine.services import messages, signals

from ..runtime import runtime
from .base import Blueprint, actor
from .instance_admin import administrators_only

bp = Blueprint("messages", __name__, url_prefix="/messages",
               description="BPMN messages sent from outside (administrators)")


class MessageSchema(ma.Schema):
    name = ma.fields.String(required=True, validate=ma.validate.Length(
        min=1, max=messages.MAX_NAME), metadata={"description": "the message's name"})
    payload = ma.fields.Dict(keys=ma.fields.String(), load_default=dict, metadata={
        "description": "the message's data, as a catch's messageVariable receives it"})
    correlation = ma.fields.Dict(keys=ma.fields.String(), load_default=dict, metadata={
        "description": "correlation property → the value expected (it must agree with "
                       "what the property's retrieval expression reads from the payload)"})
    instance_id = ma.fields.Integer(validate=ma.validate.Range(min=1), metadata={
        "description": "only this instance may catch it (else: every correlated waiting "
                       "instance, and a new instance of each message-start process)"})


class SentSchema(ma.Schema):
    name = ma.fields.String(required=True)
    correlations = ma.fields.Dict(required=True, metadata={
        "description": "correlation key → {property: value}, as computed from the payload"})
    caught = ma.fields.List(ma.fields.Integer(), required=True, metadata={
        "description": "the waiting instances that caught it"})
    started = ma.fields.List(ma.fields.Integer(), required=True, metadata={
        "description": "the instances its message start events started"})


@bp.route("", methods=["POST"])
@administrators_only
@bp.arguments(MessageSchema)
@bp.response(200, SentSchema)
@bp.refuses(401, 403, 404, 409, 422)
def send(body: dict[str, Any]) -> messages.SentMessage:
    """Send a message (administrators)."""
    with runtime().uow() as uow:
        return messages.send(uow, body["name"], body["payload"], actor(),
                             correlation=body["correlation"],
                             instance_id=body.get("instance_id"))


signals_bp = Blueprint("signals", __name__, url_prefix="/signals",
                       description="BPMN signals sent from outside (administrators)")


class SignalSchema(ma.Schema):
    name = ma.fields.String(required=True, validate=ma.validate.Length(
        min=1, max=messages.MAX_NAME), metadata={"description": "the signal's name"})
    payload = ma.fields.Dict(keys=ma.fields.String(), load_default=dict, metadata={
        "description": "the signal's data"})
    instance_id = ma.fields.Integer(validate=ma.validate.Range(min=1), metadata={
        "description": "only this instance (else: every instance waiting for the signal)"})


class CaughtSchema(ma.Schema):
    caught = ma.fields.List(ma.fields.Integer(), required=True, metadata={
        "description": "the instances that caught it"})


@signals_bp.route("", methods=["POST"])
@administrators_only
@signals_bp.arguments(SignalSchema)
@signals_bp.response(200, CaughtSchema)
@signals_bp.refuses(401, 403, 404, 409, 422)
def send_signal(body: dict[str, Any]) -> dict[str, list[int]]:
    """Send a signal (administrators)."""
    with runtime().uow() as uow:
        return {"caught": signals.send_signal(uow, body["name"], body["payload"], actor(),
                                              instance_id=body.get("instance_id"))}
