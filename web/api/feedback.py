"""POST /feedback: a member of the public comments on a post during publicity (群众提) —
the one operation anyone may call.

The suggestion, ``{text, contact?}``, is delivered as the message ``public_suggestion`` to
the post's waiting cycle (process ``IRPM_FEEDBACK_PROCESS``, business key = the post's
code), where it reaches the discipline officer's inbox; when no cycle of the post waits
for one, nothing is kept and the answer is 409. Each address may send
``IRPM_FEEDBACK_LIMIT`` requests per ``IRPM_FEEDBACK_WINDOW`` seconds, with those it sends through
the publicity page, counted in the database (``web.ratelimit``; 429 after that, with
``Retry-After``). ``website`` is a honeypot: people leave it empty (a form hides it), and a
request that fills it in is answered as if delivered but dropped.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import wraps
from typing import Any

import marshmallow as ma
from flask import current_app, request

from engine.errors import Conflict, NotFound
from engine.programme.services import feedback, organisation

from ..ratelimit import FeedbackLimiter
from ..runtime import runtime
from .base import Blueprint, public
from .errors import ApiError

bp = Blueprint("feedback", __name__, url_prefix="/feedback",
               description="Public feedback on a post during publicity (no sign-in)")

MESSAGE = feedback.MESSAGE


class FeedbackSchema(ma.Schema):
    post = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=64),
                            metadata={"description": "the post's code"})
    text = ma.fields.String(required=True, validate=ma.validate.Length(
        min=1, max=feedback.MAX_TEXT))
    contact = ma.fields.String(validate=ma.validate.Length(max=feedback.MAX_CONTACT),
                               metadata={"description": "optional: how to reach the sender"})
    website = ma.fields.String(validate=ma.validate.Length(max=500), metadata={
        "description": "leave empty (a trap for robots)"})


class ReceivedSchema(ma.Schema):
    status = ma.fields.String(required=True, metadata={"description": "received"})
    message = ma.fields.String(required=True)


def limiter() -> FeedbackLimiter:
    found: FeedbackLimiter = current_app.extensions["irpm_api"]["feedback_limiter"]
    return found


def rate_limited(view: Callable[..., Any]) -> Callable[..., Any]:
    """Count every request of an address — valid or not — before reading it."""
    @wraps(view)
    def limited(*args: Any, **kwargs: Any) -> Any:
        wait = limiter().hit(request.remote_addr or "unknown")
        if wait is not None:
            raise ApiError(429, "rate_limited", "Too much feedback from your address; please "
                           "try again later.", headers={"Retry-After": str(math.ceil(wait))})
        return view(*args, **kwargs)
    return limited


def _deliver(post_code: str, text: str, contact: str | None) -> None:
    """Through the service the publicity page uses too (engine.programme.services.feedback): stored
    and delivered as the message ``public_suggestion``; not kept when no cycle takes it."""
    process = current_app.config["IRPM_FEEDBACK_PROCESS"]
    refused = (f"Post {post_code} is not taking feedback now: feedback is accepted while "
               "its risks are being found and during publicity.")
    with runtime().uow() as uow:
        organisation.get_post(uow, post_code)  # an unknown post: 404
        try:
            feedback.submit_feedback(
                uow, post_code, text, contact, process=process, keep_undelivered=False,
                address_hash=feedback.hash_address(request.remote_addr,
                                                   current_app.secret_key or ""))
        except (NotFound, Conflict) as exc:
            raise ApiError(409, "not_accepting_feedback", refused) from exc


@bp.route("", methods=["POST"])
@public
@rate_limited
@bp.arguments(FeedbackSchema)
@bp.response(202, ReceivedSchema)
@bp.refuses(404, 409, 422, 429)
@bp.doc(security=[])
def send_feedback(body: dict[str, Any]) -> Any:
    """Send feedback on a post during publicity (no sign-in needed)"""
    received = {"status": "received", "message": "Thank you. Your feedback was received."}
    if body.get("website"):
        return received
    text = body["text"].strip()
    if not text:
        raise ApiError(422, "validation_failed", "The request has invalid fields; see errors.",
                       errors={"text": ["must not be blank"]})
    _deliver(body["post"].strip(), text, body.get("contact"))
    return received
