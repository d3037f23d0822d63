"""Mails wait in auth's database, not in a process: a restart while SMTP is down loses none."""

from __future__ import annotations

import asyncio
import logging
import time

import aiohttp
import pytest

from auth_service.app import create_app as create_auth
from devstack.embedded import free_port, start_mailcatcher
from devstack.stack import wait_ready
from tests.factories import auth_settings, register
from tests.infra import Infra
from tests.mail import token_in, wait_for_mail
from tests.services import serving


async def mails_to(mail_api: str, to: str, subject: str) -> int:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{mail_api}/api/v1/search", params={"query": f"to:{to}"}) as response,
    ):
        listing = await response.json()
    return sum(subject.lower() in m["Subject"].lower() for m in listing["messages"])


async def test_a_reset_mail_asked_for_while_smtp_is_down_arrives_once_after_a_restart(
    infra: Infra, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    smtp_port = free_port()  # nothing listens there yet: SMTP is down
    settings = auth_settings(infra, SMTP_HOST="127.0.0.1", SMTP_PORT=str(smtp_port))
    async with serving(create_auth(settings)) as auth:
        await register(auth, "jake")
        response = await auth.post("/api/auth/password-reset", json={"email": "jake@example.com"})
        assert response.status == 202
        await asyncio.sleep(1)  # a try or two against the closed port
    # auth_service restarted, and only then SMTP comes up.
    http_port = free_port()
    mail_api = f"http://127.0.0.1:{http_port}"
    catcher = start_mailcatcher(smtp_port, http_port)
    try:
        wait_ready(f"{mail_api}/api/v1/messages", 20, catcher)
        async with serving(create_auth(settings)):
            text = await wait_for_mail(mail_api, "jake@example.com", "Reset", timeout=30)
            await wait_for_mail(mail_api, "jake@example.com", "Confirm", timeout=30)
            await asyncio.sleep(1.5)  # time for a duplicate to show up, if one were sent
            assert await mails_to(mail_api, "jake@example.com", "Reset") == 1
            assert await mails_to(mail_api, "jake@example.com", "Confirm") == 1
    finally:
        catcher.terminate()
        catcher.wait(10)
    assert token_in(text) not in caplog.text


async def test_mail_is_delivered_once_by_one_of_two_replicas(infra: Infra) -> None:
    settings = auth_settings(infra)
    async with serving(create_auth(settings)) as first, serving(create_auth(settings)):
        await register(first, "jake")
        for _ in range(3):
            await first.post("/api/auth/password-reset", json={"email": "jake@example.com"})
        await wait_for_mail(infra.mail_api, "jake@example.com", "Confirm")
        deadline = time.monotonic() + 10
        while await mails_to(infra.mail_api, "jake@example.com", "Reset") < 3:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.1)
        await asyncio.sleep(1)
        assert await mails_to(infra.mail_api, "jake@example.com", "Reset") == 3
        assert await mails_to(infra.mail_api, "jake@example.com", "Confirm") == 1
