"""A client that leaves /events frees its place at once, not at the next write (issue 15)."""

from __future__ import annotations

import asyncio

import aiohttp
from test_web_common import with_server

from firmware.apps.common.web import Web


async def _gone(web: Web, timeout: float) -> None:
    """Wait until the hub has no client (the condition, not a fixed time)."""
    async def poll() -> None:
        while web.hub.clients:
            await asyncio.sleep(0.01)
    await asyncio.wait_for(poll(), timeout)


def test_a_closed_event_stream_frees_its_place_without_any_write() -> None:
    async def t(web: Web, url: str, s: aiohttp.ClientSession) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", web.port)
        writer.write(b"GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"event: ping"), 5)
        assert b"200" in head.split(b"\r\n")[0] and len(web.hub.clients) == 1
        async with s.get(url + "/events") as r:
            assert r.status == 503  # the one place is taken
        writer.close()  # the browser tab closes; nothing is published, no ping loop runs
        await _gone(web, 5)
        assert web.hub.counters["clients_gone"] == 1 and web.hub.counters["clients_dropped"] == 0
        async with s.get(url + "/events") as r:
            assert r.status == 200  # the place is free again

    asyncio.run(with_server(t, max_clients=1))
