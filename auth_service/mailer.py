"""E-mail sent in the background over SMTP, retried, never failing the request that asked."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid

import aiosmtplib

from auth_service.settings import AuthSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    text: str


class Mailer:
    def __init__(self, settings: AuthSettings, attempts: int = 5, first_delay: float = 0.5) -> None:
        self._settings = settings
        self._queue: asyncio.Queue[Mail] = asyncio.Queue(maxsize=10_000)
        self._attempts = attempts
        self._first_delay = first_delay

    def send_later(self, mail: Mail) -> None:
        try:
            self._queue.put_nowait(mail)
        except asyncio.QueueFull:
            log.error("mail queue full; mail dropped", extra={"subject": mail.subject})

    async def _send(self, mail: Mail) -> None:
        settings = self._settings
        message = EmailMessage()
        message["From"] = settings.mail_from
        message["To"] = mail.to
        message["Subject"] = mail.subject
        message["Message-ID"] = make_msgid(domain="chopchop.local")
        message.set_content(mail.text)
        await aiosmtplib.send(
            message,
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username or None,
            password=settings.smtp_password.get() or None,
            start_tls=settings.smtp_tls,
            timeout=10,
        )

    async def run(self) -> None:
        while True:
            mail = await self._queue.get()
            delay = self._first_delay
            for attempt in range(1, self._attempts + 1):
                try:
                    await self._send(mail)
                    break
                except (aiosmtplib.SMTPException, OSError) as exc:
                    if attempt == self._attempts:
                        # The address is not logged: it is personal data.
                        log.error("mail not delivered", extra={"subject": mail.subject})
                    else:
                        log.warning("mail retried", extra={"error": repr(exc), "attempt": attempt})
                        await asyncio.sleep(delay)
                        delay *= 2
