"""A real SMTP server on loopback for the e-mail tests (aiosmtpd): ``Mailbox`` keeps what it
received; ``SmtpServer`` starts and stops it on a port chosen beforehand, so a test can
point the app at the port while nothing listens there (an outage) and start it later."""

from __future__ import annotations

import socket
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from engine.mail import SmtpSettings

SENDER = "irpm@example.gov.cn"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Mailbox:
    """What an SMTP server on 127.0.0.1 received (aiosmtpd calls ``handle_DATA``);
    ``refuse``: addresses answered ``550`` at RCPT TO (no such mailbox)."""

    def __init__(self, port: int = 0, refuse: tuple[str, ...] = ()) -> None:
        self.received: list[EmailMessage] = []
        self.port = port
        self.refuse = refuse

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        if address in self.refuse:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        self.received.append(message)
        return "250 OK"

    def settings(self, **extra: Any) -> SmtpSettings:
        return SmtpSettings(host="127.0.0.1", port=self.port, sender=SENDER, **extra)


class SmtpServer:
    """``Mailbox`` served on ``port`` between ``start`` and ``stop``."""

    def __init__(self, mailbox: Mailbox) -> None:
        self.mailbox = mailbox
        self.controller: Controller | None = None

    def start(self) -> SmtpServer:
        self.controller = Controller(self.mailbox, hostname="127.0.0.1",
                                     port=self.mailbox.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None
