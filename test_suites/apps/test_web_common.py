"""The shared web layer (firmware/apps/common) in-process on a real loopback socket: a small device with a
sensor, a switch and a number; the ESPHome REST actions, the event stream's pings, a client that stops
reading, and the error answers."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

from firmware.apps.common import entities as ents
from firmware.apps.common.events import EventHub
from firmware.apps.common.web import Web
from firmware.fixed import Dec


class Device:
    """A sensor, a switch and a bounded number (0 ... 100)."""

    title = "testdev"

    def __init__(self) -> None:
        self.temp = ents.Entity("sensor", "Temperature", "°C", 1)
        self.relay = ents.Entity("switch", "Relay")
        self.level = ents.Entity("number", "Level")
        self.entities = [self.temp, self.relay, self.level]
        self.values: dict[str, Any] = {"temp": Dec(2154, 2), "relay": False, "level": 5}
        self.acts: list[tuple[str, str, dict[str, Any]]] = []

    def state(self, e: ents.Entity) -> tuple[str, Any]:
        if e is self.temp:
            return ents.sensor_state(self.values["temp"], 1, "°C")
        if e is self.relay:
            return ents.switch_state(self.values["relay"])
        return str(self.values["level"]), self.values["level"]

    def act(self, e: ents.Entity, method: str, params: dict[str, Any]) -> tuple[int, str] | None:
        self.acts.append((e.oid, method, dict(params)))
        if e is self.relay and method == "toggle":
            self.values["relay"] = not self.values["relay"]
            return None
        if e is self.level and method == "set":
            v = params.get("value")
            try:
                n = int(v)
            except (TypeError, ValueError):
                return 400, f"level: expected an integer 0 ... 100, got {v!r}"
            if not 0 <= n <= 100:
                return 400, f"level: expected 0 ... 100, got {n}"
            self.values["level"] = n
            return None
        return 404, f"{e.domain} {e.oid} has no action {method!r}"

    def warnings(self) -> list[str]:
        return ["level above 50"] if self.values["level"] > 50 else []


async def with_server(
    test: Callable[[Web, str, aiohttp.ClientSession], Awaitable[None]], **hub_kw: Any
) -> None:
    dev = Device()
    web = Web(dev, EventHub(**hub_kw), log=lambda m: None)
    ready = asyncio.Event()
    server = asyncio.create_task(web.serve("127.0.0.1", 0, lambda port: ready.set()))
    await asyncio.wait_for(ready.wait(), 5)
    try:
        async with aiohttp.ClientSession() as session:
            await test(web, f"http://127.0.0.1:{web.port}", session)
    finally:
        for c in list(web.hub.clients):  # end the streams still open, then the server
            web.hub.unsubscribe(c)
        await asyncio.sleep(0.05)
        web.app.shutdown()
        server.cancel()
        await asyncio.gather(server, return_exceptions=True)


async def sse_events(resp: aiohttp.ClientResponse, n: int, timeout: float) -> list[tuple[str, str]]:
    """Up to n (event, data) pairs, or fewer when timeout passes first."""
    out: list[tuple[str, str]] = []
    event = data = None
    try:
        async with asyncio.timeout(timeout):
            async for raw in resp.content:
                line = raw.decode().rstrip("\n")
                if line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: "):
                    data = line[6:]
                elif line == "" and event is not None:
                    out.append((event, data or ""))
                    event = data = None
                    if len(out) >= n:
                        return out
    except TimeoutError:
        pass
    return out


def test_rest_actions_change_state_and_errors_change_nothing() -> None:
    async def t(web: Web, url: str, s: aiohttp.ClientSession) -> None:
        dev = web.dev
        async with s.post(url + "/switch/relay/toggle") as r:
            assert r.status == 200 and await r.json() == {"id": "switch-relay", "state": "ON", "value": True}
        async with s.post(url + "/switch/Relay/toggle") as r:  # by name
            assert (await r.json())["state"] == "OFF"
        async with s.post(url + "/number/level/set?value=42") as r:
            assert r.status == 200 and (await r.json())["value"] == 42
        async with s.post(url + "/number/level/set", json={"value": 7}) as r:
            assert r.status == 200 and dev.values["level"] == 7
        async with s.post(url + "/number/level/set", data={"value": "8"}) as r:  # a form
            assert r.status == 200 and dev.values["level"] == 8
        for kw, word in (
            ({"params": {"value": "101"}}, "0 ... 100"),
            ({"params": {"value": "x"}}, "integer"),
            ({"data": b"{oops", "headers": {"Content-Type": "application/json"}}, "malformed JSON"),
            ({"data": b"[1]", "headers": {"Content-Type": "application/json"}}, "an array"),
        ):
            async with s.post(url + "/number/level/set", **kw) as r:
                assert r.status == 400 and word in (await r.json())["error"], kw
        async with s.post(url + "/number/level/set", data=b"x" * 2000) as r:
            assert r.status == 413 and "expected at most 1024" in (await r.json())["error"]
        assert dev.values["level"] == 8 and len(dev.acts) == 7  # the 400 JSON and 413 never reached act
        async with s.post(url + "/switch/relay/explode") as r:
            assert r.status == 404 and "no action 'explode'" in (await r.json())["error"]
        async with s.get(url + "/sensor/temperature") as r:
            assert await r.json() == {"id": "sensor-temperature", "state": "21.5 °C", "value": 21.54}
        async with s.get(url + "/sensor/Temperature") as r:
            assert r.status == 200
        async with s.get(url + "/sensor/humidity") as r:
            assert r.status == 404 and "expected one of temperature" in (await r.json())["error"]
        async with s.get(url + "/text_sensor/x") as r:
            assert r.status == 404 and "no text_sensor entities" in (await r.json())["error"]
        async with s.delete(url + "/sensor/temperature") as r:
            assert r.status == 405 and "DELETE" in (await r.json())["error"]
        async with s.post(url + "/update", data=b"\x00" * 100) as r:
            assert r.status == 503 and "OTA is not available" in (await r.json())["error"]  # no HAL here
        async with s.get(url + "/wifi") as r:
            assert r.status == 404  # no portal on this device
        c = web.counters
        assert c["client_errors"] >= 10 and c["too_large"] == 1 and c["server_errors"] == 0

    asyncio.run(with_server(t))


def test_page_and_events_follow_the_device() -> None:
    async def t(web: Web, url: str, s: aiohttp.ClientSession) -> None:
        async with s.get(url + "/") as r:
            html = await r.text()
        assert "<title>testdev Web Server</title>" in html
        assert (
            '<tr class="switch" id="switch-relay"><td>Relay</td><td>OFF</td><td><button>Toggle</button>'
            in html
        )
        async with s.get(url + "/events") as r:
            assert r.headers["Content-Type"] == "text/event-stream"
            first = await sse_events(r, 4, 5)
            assert first[0][0] == "ping" and json.loads(first[0][1])["title"] == "testdev"  # ESPHome's config
            assert [json.loads(d)["id"] for _, d in first[1:]] == [
                "sensor-temperature",
                "switch-relay",
                "number-level",
            ]
            web.publish()  # nothing changed since the snapshot... but the hub has not seen these states yet
            web.dev.values["temp"] = Dec(2200, 2)
            web.dev.values["level"] = 60
            web.publish()
            got = await sse_events(r, 7, 3)
        states = [json.loads(d) for k, d in got if k == "state"]
        assert {"id": "sensor-temperature", "name_id": "sensor/Temperature", "name": "Temperature",
                "state": "22.0 °C", "value": 22.0} in states
        assert ("warnings", '["level above 50"]') in got
        web.publish()
        queued = [len(c.queue) for c in web.hub.clients]
        web.publish()
        assert [len(c.queue) for c in web.hub.clients] == queued  # unchanged: nothing published

    asyncio.run(with_server(t))


def test_pings_are_periodic_and_a_client_that_stops_reading_is_cut_off() -> None:
    async def t(web: Web, url: str, s: aiohttp.ClientSession) -> None:
        pinger = asyncio.create_task(web.hub.ping_loop(0.1))
        try:
            async with s.get(url + "/events") as r:
                got = await sse_events(r, 7, 3)
            assert [k for k, _ in got[4:6]] == ["ping", "ping"]
            # a stream nobody reads: tiny receive buffer, never read
            reader, writer = await asyncio.open_connection("127.0.0.1", web.port, limit=256)
            writer.transport.get_extra_info("socket").setsockopt(
                __import__("socket").SOL_SOCKET, __import__("socket").SO_RCVBUF, 256
            )
            writer.write(b"GET /events HTTP/1.1\r\n\r\n")
            await writer.drain()
            big = "x" * 16000
            for _ in range(2000):
                web.hub.publish("state", big)
                await asyncio.sleep(0.001)
                if web.hub.counters["clients_dropped"]:
                    break
            assert web.hub.counters["clients_dropped"] >= 1 and len(web.hub.clients) == 0
            writer.close()
            # the board still serves and a new stream is welcome
            async with s.get(url + "/events") as r:
                assert (await sse_events(r, 1, 3))[0][0] == "ping"
        finally:
            pinger.cancel()

    asyncio.run(with_server(t, max_queue=16))


def test_event_stream_limit_answers_503() -> None:
    async def t(web: Web, url: str, s: aiohttp.ClientSession) -> None:
        r1 = await s.get(url + "/events")
        await sse_events(r1, 1, 3)
        async with s.get(url + "/events") as r2:
            assert r2.status == 503 and "at most 1" in (await r2.json())["error"]
        async with s.head(url + "/events") as r3:
            assert r3.status == 200  # HEAD takes no place
        r1.close()
        for _ in range(50):  # the closed stream is noticed on a write
            web.hub.publish("ping", "")
            await asyncio.sleep(0.05)
            if not web.hub.clients:
                break
        async with s.get(url + "/events") as r4:
            assert r4.status == 200

    asyncio.run(with_server(t, max_clients=1))
