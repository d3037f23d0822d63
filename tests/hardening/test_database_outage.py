"""PostgreSQL going away under a running service: 503 with Retry-After while it is gone,
answers again once it is back. The outage is real: the service reaches PostgreSQL through a
TCP relay that the test cuts (dropping every connection, refusing new ones) and restores."""

from __future__ import annotations

import asyncio
from urllib.parse import parse_qs, urlsplit

from auth_service.app import create_app as create_auth
from devstack.embedded import free_port
from tests.factories import auth_settings
from tests.infra import Infra
from tests.services import serving


class Relay:
    def __init__(self, database_url: str) -> None:
        parts = urlsplit(database_url)
        socket_dir = parse_qs(parts.query).get("host", [""])[0]
        self.port = parts.port or 5432
        self.unix_path = f"{socket_dir}/.s.PGSQL.{self.port}" if socket_dir.startswith("/") else ""
        self.host = parts.hostname or "127.0.0.1"
        self.listen_port = free_port()
        user = parts.username or "postgres"
        self.url = f"postgresql://{user}@127.0.0.1:{self.listen_port}{parts.path}"
        if parts.password:
            self.url = self.url.replace(f"{user}@", f"{user}:{parts.password}@")
        self.server: asyncio.Server | None = None
        self.writers: list[asyncio.StreamWriter] = []

    async def start(self) -> None:
        self.server = await asyncio.start_server(
            self._pipe, "127.0.0.1", self.listen_port, reuse_address=True
        )

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.unix_path:
            up_reader, up_writer = await asyncio.open_unix_connection(self.unix_path)
        else:
            up_reader, up_writer = await asyncio.open_connection(self.host, self.port)
        self.writers += [writer, up_writer]

        async def copy(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            try:
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                sink.close()

        await asyncio.gather(copy(reader, up_writer), copy(up_reader, writer))

    async def cut(self) -> None:
        assert self.server is not None
        self.server.close()
        for writer in self.writers:
            writer.transport.abort()
        self.writers.clear()
        await asyncio.sleep(0.1)  # let the service's connections see the reset


async def test_a_database_outage_is_a_503_with_retry_after(infra: Infra) -> None:
    relay = Relay(infra.database_url)
    await relay.start()
    app = create_auth(auth_settings(infra, DATABASE_URL=relay.url, DB_POOL_MIN="2"))
    async with serving(app) as client:
        async with client.get("/api/users") as response:
            assert response.status == 200, await response.text()

        await relay.cut()
        for _ in range(3):
            async with client.get("/api/users") as response:
                assert response.status == 503, await response.text()
                assert response.headers["Retry-After"] == "1"
                body = await response.json()
                assert body["errors"]["body"] == ["the database is unavailable, try again"]

        await relay.start()
        async with client.get("/api/users") as response:
            assert response.status == 200, await response.text()
        await relay.cut()
