"""E-mail through SMTP, when it is configured — and only after the transaction committed.

Nothing here touches the database. ``SmtpSettings.from_env()`` reads the ``IRPM_SMTP_*``
variables; without a host (or a sender) e-mail is off and ``send`` does nothing. ``send``
opens one connection for a batch of messages, upgrades it with STARTTLS when asked, logs in
when a user is given, and never raises: a failure is logged (logger ``engine.mail``) and the
messages are dropped — a notification that could not be e-mailed is still in the app.

=========================== ========== ====================================================
variable                    default    meaning
=========================== ========== ====================================================
``IRPM_SMTP_HOST``          —          the SMTP server; unset: no e-mail
``IRPM_SMTP_PORT``          ``25``     its port (587 with STARTTLS is common)
``IRPM_SMTP_USER``          —          log in as this user (with the password)
``IRPM_SMTP_PASSWORD``      —
``IRPM_SMTP_FROM``          —          the sender address; unset: no e-mail
``IRPM_SMTP_STARTTLS``      off        ``1``: upgrade the connection with STARTTLS
``IRPM_SMTP_TIMEOUT``       ``10``     seconds to wait for the server
``IRPM_BASE_URL``           —          the app's address, for links in e-mails
=========================== ========== ====================================================
"""

from __future__ import annotations

import logging
import os
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
    host: str | None = None
    port: int = 25
    user: str | None = None
    password: str | None = None
    sender: str | None = None
    starttls: bool = False
    timeout: float = 10.0
    #: The app's address (``https://irpm.example.gov.cn``), for links; None: no links.
    base_url: str | None = None

    @property
    def enabled(self) -> bool:
        return bool(self.host and self.sender)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SmtpSettings:
        env = os.environ if environ is None else environ
        return cls.from_mapping({key: value for key, value in env.items()
                                 if key.startswith("IRPM_SMTP_") or key == "IRPM_BASE_URL"})

    @classmethod
    def from_mapping(cls, values: Mapping[str, object]) -> SmtpSettings:
        """From ``IRPM_SMTP_*`` keys (environment strings or a Flask config's values)."""
        def text(key: str) -> str | None:
            value = values.get(key)
            return str(value).strip() or None if value is not None else None

        port, timeout = text("IRPM_SMTP_PORT"), text("IRPM_SMTP_TIMEOUT")
        starttls = values.get("IRPM_SMTP_STARTTLS")
        return cls(host=text("IRPM_SMTP_HOST"), port=int(port) if port else 25,
                   user=text("IRPM_SMTP_USER"), password=text("IRPM_SMTP_PASSWORD"),
                   sender=text("IRPM_SMTP_FROM"),
                   starttls=starttls is True or str(starttls or "").lower() in TRUE,
                   timeout=float(timeout) if timeout else 10.0,
                   base_url=(text("IRPM_BASE_URL") or "").rstrip("/") or None)


def message(settings: SmtpSettings, mail: Mail) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = formataddr(("廉政风险防范管理 IRPM", settings.sender or ""))
    msg["To"] = mail.to
    msg["Subject"] = mail.subject
    msg["Message-ID"] = make_msgid(domain=(settings.sender or "irpm").rpartition("@")[2])
    msg.set_content(mail.body)
    return msg


def send(settings: SmtpSettings, mails: Iterable[Mail]) -> int:
    """Send ``mails`` over one connection; how many the server accepted. Never raises."""
    batch = list(mails)
    if not batch or not settings.enabled:
        return 0
    sent = 0
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
                    sent += 1
                except smtplib.SMTPRecipientsRefused:
                    log.warning("e-mail to %s refused by %s", mail.to, settings.host)
    except (OSError, smtplib.SMTPException):
        log.exception("e-mail through %s:%s failed (%d of %d sent)", settings.host,
                      settings.port, sent, len(batch))
    return sent
