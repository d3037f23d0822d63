"""Reading the mail catcher (or a Mailpit) the way a user reads their inbox."""

from __future__ import annotations

import asyncio
import re

import aiohttp


async def clear_mailbox(mail_api: str) -> None:
    async with aiohttp.ClientSession() as session, session.delete(f"{mail_api}/api/v1/messages"):
        pass


async def wait_for_mail(mail_api: str, to: str, subject: str, timeout: float = 10.0) -> str:
    """The text of the newest mail to `to` whose subject contains `subject`."""
    deadline = asyncio.get_running_loop().time() + timeout
    async with aiohttp.ClientSession() as session:
        while asyncio.get_running_loop().time() < deadline:
            params = {"query": f"to:{to}"}
            async with session.get(f"{mail_api}/api/v1/search", params=params) as response:
                listing = await response.json()
            for summary in listing["messages"]:
                if subject.lower() in summary["Subject"].lower():
                    async with session.get(f"{mail_api}/api/v1/message/{summary['ID']}") as r:
                        return str((await r.json())["Text"])
            await asyncio.sleep(0.05)
    raise AssertionError(f"no mail {subject!r} to {to} within {timeout} s")


def token_in(text: str) -> str:
    match = re.search(r"token=([A-Za-z0-9_-]+)", text)
    assert match, text
    return match.group(1)
