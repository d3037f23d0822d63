"""E-mail through a table: queued in the account change's transaction, sent by a job.

A mail is a row of `mail_outbox`, written in the transaction that creates its token, so it
exists exactly when the change does and survives a restart of auth_service or an SMTP
outage. A job in every replica takes due mails with `FOR UPDATE SKIP LOCKED` (each mail goes
to one replica), sends each, and marks it sent; a failure schedules the next try with a
doubling delay (`first_delay`, up to `max_delay`) until `max_attempts`.

Once: a mail is marked sent after SMTP accepted it, in the transaction that holds its lock.
A crash between the two sends it again on the next run; the copy carries the same
Message-ID, so that mail clients and a reader can tell it for a duplicate. The text carries a
token, so it is blanked once sent and never logged (nor are addresses: personal data).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid

import aiosmtplib
import asyncpg

from auth_service.settings import AuthSettings
from shared.service.jobs import Job

log = logging.getLogger(__name__)

SMTP_TIMEOUT = 10.0


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    text: str


_QUEUE = """
INSERT INTO mail_outbox (message_id, to_address, subject, body) VALUES ($1, $2, $3, $4)
"""
_DUE = """
SELECT id, message_id, to_address, subject, body, attempts FROM mail_outbox
WHERE sent_at IS NULL AND next_attempt_at <= now() AND attempts < $1
ORDER BY next_attempt_at LIMIT $2
FOR UPDATE SKIP LOCKED
"""
_SENT = "UPDATE mail_outbox SET sent_at = now(), body = '' WHERE id = $1"
_FAILED = """
UPDATE mail_outbox SET attempts = attempts + 1,
    next_attempt_at = now() + make_interval(secs => $2)
WHERE id = $1
"""


class Mailer:
    def __init__(
        self,
        settings: AuthSettings,
        *,
        batch_size: int = 20,
        interval: float = 1.0,
        first_delay: float = 0.5,
        max_delay: float = 60.0,
        max_attempts: int = 30,
    ) -> None:
        self._settings = settings
        self._first_delay = first_delay
        self._max_delay = max_delay
        self._max_attempts = max_attempts
        self._pool: asyncpg.Pool | None = None
        self.job = Job("mail", self.send_due, interval, batch_size)

    def bind(self, pool: asyncpg.Pool) -> Job:
        """The sending job, over the service's pool."""
        self._pool = pool
        return self.job

    async def queue(self, connection: asyncpg.Connection, mail: Mail) -> None:
        """Queues a mail in the caller's transaction; `wake` once it committed."""
        message_id = make_msgid(domain="chopchop.local")
        await connection.execute(_QUEUE, message_id, mail.to, mail.subject, mail.text)

    def wake(self) -> None:
        self.job.wake()

    async def send_due(self) -> int:
        assert self._pool is not None, "Mailer.bind was not called"
        async with self._pool.acquire() as connection, connection.transaction():
            rows = await connection.fetch(_DUE, self._max_attempts, self.job.batch_size)
            for row in rows:
                try:
                    await self._send(row)
                except (aiosmtplib.SMTPException, OSError) as exc:
                    delay = min(self._first_delay * 2 ** row["attempts"], self._max_delay)
                    await connection.execute(_FAILED, row["id"], delay)
                    attempt = row["attempts"] + 1
                    if attempt >= self._max_attempts:
                        log.error("mail not delivered", extra={"mail_id": row["id"]})
                    else:
                        log.warning(
                            "mail retried",
                            extra={
                                "mail_id": row["id"],
                                "attempt": attempt,
                                "error": type(exc).__name__,
                            },
                        )
                else:
                    await connection.execute(_SENT, row["id"])
        return len(rows)

    async def _send(self, row: asyncpg.Record) -> None:
        settings = self._settings
        message = EmailMessage()
        message["From"] = settings.mail_from
        message["To"] = row["to_address"]
        message["Subject"] = row["subject"]
        message["Message-ID"] = row["message_id"]
        message.set_content(row["body"])
        await aiosmtplib.send(
            message,
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username or None,
            password=settings.smtp_password.get() or None,
            start_tls=settings.smtp_tls,
            timeout=SMTP_TIMEOUT,
        )
