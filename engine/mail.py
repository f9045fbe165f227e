"""E-mail through SMTP, when it is configured — and only after the transaction committed.

Nothing here touches the database: the outbox that keeps mails until they are sent, and
retries them, is ``engine.services.mail_outbox``. ``SmtpSettings`` are what the engine's
settings read from the ``IRPM_SMTP_*`` variables (``engine.settings``; the web app reads its
own config the same way, ``SmtpSettings.from_mapping``); without a host (or a sender) e-mail
is off and ``deliver`` does nothing. ``deliver`` opens one connection for a batch of messages,
upgrades it with STARTTLS when asked, logs in when a user is given, and never raises: it says,
per message, whether the server took it, and if not why and whether trying again could help
(a refusal with a 5xx code is permanent; an outage, a timeout or a 4xx reply is not). Failures
are logged too (logger ``engine.mail``).
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, make_msgid

log = logging.getLogger(__name__)

TRUE = ("1", "true", "yes", "on")


@dataclass(frozen=True)
class Mail:
    """One message to one address."""

    to: str
    subject: str
    body: str


@dataclass(frozen=True)
class SmtpSettings:
    #: IRPM_SMTP_HOST — the SMTP server; None: no e-mail.
    host: str | None = None
    #: IRPM_SMTP_PORT — its port (587 with STARTTLS is common).
    port: int = 25
    #: IRPM_SMTP_USER, IRPM_SMTP_PASSWORD — log in as this user.
    user: str | None = None
    password: str | None = None
    #: IRPM_SMTP_FROM — the sender address; None: no e-mail.
    sender: str | None = None
    #: IRPM_SMTP_STARTTLS — upgrade the connection with STARTTLS.
    starttls: bool = False
    #: IRPM_SMTP_TIMEOUT — seconds to wait for the server.
    timeout: float = 10.0
    #: IRPM_BASE_URL — the app's address (``https://irpm.example.gov.cn``), for links; None:
    #: no links.
    base_url: str | None = None
    #: IRPM_SMTP_MAX_ATTEMPTS — attempts per mail before the outbox gives it up.
    max_attempts: int = 8
    #: IRPM_SMTP_RETRY_SECONDS — seconds before the first retry (then ×4 each time, at most
    #: ``mail_outbox.MAX_RETRY_DELAY``).
    retry_seconds: float = 60.0

    @property
    def enabled(self) -> bool:
        return bool(self.host and self.sender)

    @classmethod
    def from_mapping(cls, values: Mapping[str, object]) -> SmtpSettings:
        """From ``IRPM_SMTP_*`` and ``IRPM_BASE_URL`` keys: environment strings
        (``engine.settings``) or a Flask config's values (``web.notifications``)."""
        def text(key: str) -> str | None:
            value = values.get(key)
            return str(value).strip() or None if value is not None else None

        defaults = cls()
        port, timeout = text("IRPM_SMTP_PORT"), text("IRPM_SMTP_TIMEOUT")
        attempts, retry = text("IRPM_SMTP_MAX_ATTEMPTS"), text("IRPM_SMTP_RETRY_SECONDS")
        starttls = values.get("IRPM_SMTP_STARTTLS")
        return cls(host=text("IRPM_SMTP_HOST"), port=int(port) if port else defaults.port,
                   user=text("IRPM_SMTP_USER"), password=text("IRPM_SMTP_PASSWORD"),
                   sender=text("IRPM_SMTP_FROM"),
                   starttls=starttls is True or str(starttls or "").lower() in TRUE,
                   timeout=float(timeout) if timeout else defaults.timeout,
                   base_url=(text("IRPM_BASE_URL") or "").rstrip("/") or None,
                   max_attempts=max(1, int(attempts)) if attempts else defaults.max_attempts,
                   retry_seconds=max(1.0, float(retry)) if retry else defaults.retry_seconds)


def message(settings: SmtpSettings, mail: Mail) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = formataddr(("廉政风险防范管理 IRPM", settings.sender or ""))
    msg["To"] = mail.to
    msg["Subject"] = mail.subject
    msg["Message-ID"] = make_msgid(domain=(settings.sender or "irpm").rpartition("@")[2])
    msg.set_content(mail.body)
    return msg


@dataclass(frozen=True)
class Failure:
    """Why the server did not take a message; ``permanent``: trying again will not help."""

    error: str
    permanent: bool = False


def _text(value: object) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def _refusal(exc: smtplib.SMTPException) -> Failure:
    """A message-level refusal: permanent for a 5xx reply to the recipient or the message
    (no such mailbox, rejected); a refused sender is the configuration's fault (IRPM_SMTP_FROM),
    so its mails are tried again once that is fixed."""
    code: object = getattr(exc, "smtp_code", None)
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [c for c, _m in exc.recipients.values()]
        code = min(codes) if codes else None
        detail = "; ".join(f"{who}: {c} {_text(m)}" for who, (c, m) in exc.recipients.items())
    else:
        detail = f"{code} {_text(getattr(exc, 'smtp_error', b''))}"
    permanent = (isinstance(code, int) and 500 <= code < 600
                 and not isinstance(exc, smtplib.SMTPSenderRefused))
    return Failure(f"{type(exc).__name__}: {detail}".strip()[:1000], permanent)


def deliver(settings: SmtpSettings, mails: Iterable[Mail]) -> list[Failure | None]:
    """Send ``mails`` over one connection; per message, None if the server took it, else
    the ``Failure``. Never raises. A failure of the connection (refused, timed out, lost,
    TLS or login refused) fails every message not yet sent, as temporary."""
    batch = list(mails)
    outcomes: list[Failure | None] = []
    if not batch or not settings.enabled:
        return [Failure("e-mail is not configured")] * len(batch)
    try:
        assert settings.host is not None
        with smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout) as smtp:
            if settings.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if settings.user:
                smtp.login(settings.user, settings.password or "")
            for mail in batch:
                try:
                    smtp.send_message(message(settings, mail))
                    outcomes.append(None)
                except (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError,
                        smtplib.SMTPSenderRefused) as exc:
                    refusal = _refusal(exc)
                    log.warning("e-mail to %s refused by %s: %s", mail.to, settings.host,
                                refusal.error)
                    outcomes.append(refusal)  # smtplib has reset the transaction
    except (OSError, smtplib.SMTPException) as exc:
        sent = sum(o is None for o in outcomes)
        log.exception("e-mail through %s:%s failed (%d of %d sent)", settings.host,
                      settings.port, sent, len(batch))
        failure = Failure(f"{type(exc).__name__}: {exc}"[:1000] or type(exc).__name__)
        outcomes += [failure] * (len(batch) - len(outcomes))
    return outcomes


def send(settings: SmtpSettings, mails: Iterable[Mail]) -> int:
    """Send ``mails`` over one connection; how many the server accepted. Never raises."""
    batch = list(mails)
    if not batch or not settings.enabled:
        return 0
    return sum(outcome is None for outcome in deliver(settings, batch))
