"""The plug's SmartMeter link with Peak Guard on, against a real loopback HTTP server: one GET reports the
plug and returns the reading and the table; a SmartMeter without the endpoint (404) makes it decide alone."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from firmware.apps.smartplug.meterlink import PATH, MeterLink
from firmware.control.peakguard import GuardSettings, PeakGuard, Table
from firmware.control.peakguard_coord import PATH as COORD
from firmware.control.peakguard_coord import REPORT_HEADER, QuarterTracker, meter_answer, query

T = 1736931900
READING = {"fresh": True, "seq": 3, "age_s": 0.2, "meter_ts": T, "import_wh": {"total": 11258941},
           "export_wh": {"total": 1709497}}


class _Meter(BaseHTTPRequestHandler):
    coord = True
    forbid = False          # answer 403 to reports (a SmartMeter that does not take them)
    table = Table()
    second = 10             # the SmartMeter's clock: a second per request
    requests: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        """The plain reading, or the coordination answer built by the firmware's own meter_answer."""
        self.requests.append(self.path)
        u = urlsplit(self.path)
        if u.path == PATH:
            status, body = 200, READING
        elif u.path == COORD and self.coord:
            args = {k: v[0] for k, v in parse_qs(u.query).items()}
            _Meter.second += 1
            status, body = meter_answer((T, 11258941, 1709497), {"import_w": 2673, "demand_w": 2500,
                                                                 "peak_w": 4100},
                                        QuarterTracker(), self.table, args, _Meter.second,
                                        bool(self.headers.get(REPORT_HEADER)) and not self.forbid)
        else:
            status, body = 404, {"error": "nothing here"}
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def server() -> Iterator[ThreadingHTTPServer]:
    """A SmartMeter stand-in on 127.0.0.1 answering with the firmware's coordination code."""
    _Meter.coord = True
    _Meter.forbid = False
    _Meter.table = Table()
    _Meter.second = 10
    _Meter.requests = []
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Meter)
    t = threading.Thread(target=srv.serve_forever, args=(0.02,), daemon=True)
    t.start()
    yield srv
    srv.shutdown()
    srv.server_close()


class _Hal:
    """The link's HAL as far as it uses it with a configured address: the wrapping milliseconds that date
    the readings it takes (firmware/apps/common/plausible.Follow); a second per look."""

    def __init__(self) -> None:
        self.ms = 0

    def ticks_ms(self) -> int:
        """Return the board's milliseconds."""
        self.ms += 1000
        return self.ms


def _guard() -> PeakGuard:
    s = GuardSettings()
    s.set("on", True)
    s.set("priority", 7)
    return PeakGuard(s, "smartplug-0a0b0c")


def test_guarded_plug_reports_and_reads_in_one_get(server: ThreadingHTTPServer) -> None:
    g = _guard()
    got: list[tuple[Any, ...]] = []
    link = MeterLink(_Hal(), lambda *a: got.append(a), "127.0.0.1:%d" % server.server_address[1],
                     log=lambda s: None)
    link.guard_query = lambda: query(g.report())
    assert asyncio.run(link.poll_once()) is True
    assert _Meter.requests[0].startswith(COORD + "?id=smartplug-0a0b0c&priority=7")
    t, imp, exp, extra = got[0]
    assert (t, imp, exp) == (T, 11258941, 1709497)
    assert extra["peak_w"] == 4100 and extra["import_w"] == 2673 and extra["demand_w"] == 2500
    assert extra["peers"] == []                  # the table as it stood before this second
    assert asyncio.run(link.poll_once()) is True
    assert [p["id"] for p in got[1][3]["peers"]] == ["smartplug-0a0b0c"]   # taken: the plug sent the header
    assert link.counters["coord"] == 2


def test_a_smartmeter_without_coordination_makes_the_plug_decide_alone(server: ThreadingHTTPServer) -> None:
    _Meter.coord = False
    g = _guard()
    got: list[tuple[Any, ...]] = []
    logs: list[str] = []
    link = MeterLink(_Hal(), lambda *a: got.append(a), "127.0.0.1:%d" % server.server_address[1],
                     log=logs.append)
    link.guard_query = lambda: query(g.report())
    assert asyncio.run(link.poll_once()) is False           # 404: noted once
    assert link.coord is False and "deciding alone" in logs[-1]
    assert asyncio.run(link.poll_once()) is True            # then the plain reading, without the table
    assert got == [(T, 11258941, 1709497)]
    assert _Meter.requests[-1] == PATH
    link.configure("127.0.0.1:%d" % server.server_address[1], 5)   # another SmartMeter: ask again
    _Meter.coord = True
    assert asyncio.run(link.poll_once()) is True and len(got[-1]) == 4


def test_a_smartmeter_refusing_the_report_makes_the_plug_decide_alone(server: ThreadingHTTPServer) -> None:
    _Meter.forbid = True
    g = _guard()
    got: list[tuple[Any, ...]] = []
    logs: list[str] = []
    link = MeterLink(_Hal(), lambda *a: got.append(a), "127.0.0.1:%d" % server.server_address[1],
                     log=logs.append)
    link.guard_query = lambda: query(g.report())
    assert asyncio.run(link.poll_once()) is False           # 403: noted once, nothing stored
    assert link.coord is False and "refused the report" in logs[-1] and "403" in logs[-1]
    assert _Meter.table.entries(10) == []
    assert asyncio.run(link.poll_once()) is True            # then the plain reading: the plug goes on
    assert got == [(T, 11258941, 1709497)]
