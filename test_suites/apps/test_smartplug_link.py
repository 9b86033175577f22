"""The plug's HTTP client and SmartMeter link against real loopback servers: answers, refusals, silence."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from firmware.apps.smartplug.httpget import HttpError, get
from firmware.apps.smartplug.meterlink import PATH, MeterLink

READING = (b'{"fresh": true, "seq": 3, "age_s": 0.2, "meter_ts": 1705309620, '
           b'"import_wh": {"total": 11258941}, "export_wh": {"total": 1709497}}')


class _Meter(BaseHTTPRequestHandler):
    answers: dict[str, tuple[int, bytes]] = {}
    requests: list[tuple[str, str]] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        """Answer from the table (404 when the path is not in it)."""
        self.requests.append((self.path, self.request_version))
        status, body = self.answers.get(self.path, (404, b'{"error": "nothing here"}'))
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def server() -> Iterator[ThreadingHTTPServer]:
    """A SmartMeter stand-in on 127.0.0.1 (a real HTTP server)."""
    _Meter.answers = {PATH: (200, READING)}
    _Meter.requests = []
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Meter)
    t = threading.Thread(target=srv.serve_forever, args=(0.02,), daemon=True)
    t.start()
    yield srv
    srv.shutdown()
    srv.server_close()


class _Hal:
    def __init__(self, answer: tuple[str, int] | None) -> None:
        self.answer = answer
        self.lookups = 0

    def ticks_ms(self) -> int:
        """Return the HAL's wrapping milliseconds (the link dates the readings it takes)."""
        return int(time.monotonic() * 1000) & 0x3FFFFFFF

    async def mdns_resolve(self, host: str, timeout_ms: int = 3000) -> tuple[str, int] | None:
        self.lookups += 1
        assert host == "smartmeter"
        return self.answer


def test_get_reads_a_real_server(server: ThreadingHTTPServer) -> None:
    port = server.server_address[1]
    assert asyncio.run(get("127.0.0.1", port, PATH)) == (200, READING)
    status, body = asyncio.run(get("127.0.0.1", port, "/nope"))
    assert status == 404 and b"nothing here" in body
    assert _Meter.requests[0] == (PATH, "HTTP/1.0")
    _Meter.answers["/big"] = (200, b"x" * 5000)
    with pytest.raises(HttpError, match="at most 2048 bytes, Content-Length says 5000"):
        asyncio.run(get("127.0.0.1", port, "/big"))


def test_get_refused_and_silent() -> None:
    with socket.socket() as s:                     # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(OSError):
        asyncio.run(get("127.0.0.1", port, PATH))
    with socket.socket() as silent:                # accepts, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        with pytest.raises(HttpError, match="expected a response within 0.3 s"):
            asyncio.run(get("127.0.0.1", silent.getsockname()[1], PATH, timeout_s=0.3))


def test_link_finds_the_meter_by_mdns_and_hands_on_readings(server: ThreadingHTTPServer) -> None:
    port = server.server_address[1]
    got: list[tuple[int, int, int]] = []
    logs: list[str] = []
    hal = _Hal(None)
    link = MeterLink(hal, lambda t, i, e: got.append((t, i, e)), None, log=logs.append)
    assert asyncio.run(link.poll_once()) is False          # nobody answers for smartmeter.local
    assert link.counters["unresolved"] == 1 and "smartmeter.local" in link.last_error
    hal.answer = ("127.0.0.1", port)
    assert asyncio.run(link.poll_once()) is True
    assert got == [(1705309620, 11258941, 1709497)] and link.addr == ("127.0.0.1", port)
    assert link.source == "mdns" and link.last_error is None
    _Meter.answers[PATH] = (503, b'{"fresh": false, "seq": 3, "error": "no current meter reading: stale"}')
    assert asyncio.run(link.poll_once()) is False
    assert link.counters["not_current"] == 1 and "stale" in link.last_error
    assert len(got) == 1


def test_link_with_a_configured_address_never_asks_mdns(server: ThreadingHTTPServer) -> None:
    port = server.server_address[1]
    hal = _Hal(("10.9.9.9", 80))
    got: list[tuple[int, int, int]] = []
    link = MeterLink(hal, lambda t, i, e: got.append((t, i, e)), f"127.0.0.1:{port}", log=lambda s: None)
    assert asyncio.run(link.poll_once()) is True
    assert hal.lookups == 0 and link.source == "config" and len(got) == 1
    _Meter.answers[PATH] = (200, b'{"fresh": true, "meter_ts": 5}')
    assert asyncio.run(link.poll_once()) is False
    assert link.counters["bad"] == 1 and "expected integers" in link.last_error
