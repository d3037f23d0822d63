"""The web client in a real browser against the whole stack, and its API snapshot.

The browser run is `web/e2e/run.mjs` (playwright-core driving the system's Chromium): two
people sign up, publish, follow, like, comment and chat, live. It needs the built client
(`make install` with Node.js 20+) and /usr/bin/chromium; without them it is skipped, except
where WEB_TESTS_REQUIRED is set (CI), where a missing piece is a failure.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from devstack.stack import ROOT
from tests.infra import Infra
from tests.stack import WEB_DIR, Stack

E2E_DIR = ROOT / "web" / "e2e"
SCREENSHOTS = E2E_DIR / "screenshots"
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
SNAPSHOT = ROOT / "web" / "openapi.json"
# The run waits for a scheduled message (up to a minute and a half) besides its own steps.
BROWSER_TIMEOUT = 300.0


def missing_pieces() -> list[str]:
    missing = []
    if not (WEB_DIR / "index.html").is_file():
        missing.append(f"the web client is not built ({WEB_DIR}; `make install` with Node.js 20+)")
    if not CHROMIUM.is_file():
        missing.append(f"no Chromium at {CHROMIUM} (`apt-get install chromium`)")
    if shutil.which("node") is None:
        missing.append("no Node.js")
    if not (E2E_DIR / "node_modules" / "playwright-core").is_dir():
        missing.append("playwright-core is not installed in web/e2e (`make install`)")
    return missing


def require_browser() -> None:
    missing = missing_pieces()
    if not missing:
        return
    reason = "; ".join(missing)
    if os.environ.get("WEB_TESTS_REQUIRED"):
        pytest.fail(f"the browser tests must run here (WEB_TESTS_REQUIRED): {reason}")
    pytest.skip(reason)


@pytest.mark.timeout(BROWSER_TIMEOUT + 90)  # and the stack's start, when this test is first
async def test_two_people_use_the_web_client_end_to_end(running_stack: Stack, infra: Infra) -> None:
    require_browser()
    for old in SCREENSHOTS.glob("*.png"):  # only this run's pictures count
        old.unlink()
    process = await asyncio.create_subprocess_exec(
        "node",
        str(E2E_DIR / "run.mjs"),
        running_stack.url,
        infra.mail_api,
        str(SCREENSHOTS),
        cwd=E2E_DIR,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        output, _ = await asyncio.wait_for(process.communicate(), BROWSER_TIMEOUT)
    except TimeoutError:
        process.kill()
        output, _ = await process.communicate()
        pytest.fail(f"the browser run took over {BROWSER_TIMEOUT:.0f} s:\n{output.decode()}")
    text = output.decode()
    assert process.returncode == 0, text
    for page in ("home", "recipe", "editor", "profile", "chat"):
        assert (SCREENSHOTS / f"{page}.png").stat().st_size > 0, page


def normalised(document: Any) -> Any:
    return json.loads(json.dumps(document, sort_keys=True))


async def test_the_clients_api_snapshot_is_the_gateways_document(running_stack: Stack) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{running_stack.url}/api/openapi.json") as response,
    ):
        assert response.status == 200
        served = await response.json()
    committed = json.loads(SNAPSHOT.read_text())
    assert normalised(committed) == normalised(served), (
        "web/openapi.json is not the API the gateway serves: run `make web-api` (it writes "
        "the merged document of a fresh stack to web/openapi.json and regenerates the "
        "client's types with `npm run gen:api`), then review and commit both"
    )
