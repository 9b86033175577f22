"""A SmartMeter (or something posing as one) that answers absurd readings: the plug's link refuses them,
counts them, and never writes an absurd Daily Energy day."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from smartplug_rig import plug_board, status, wait_for

from hil.board_process import BoardProcess

T0 = 1_700_000_000


class FakeMeter(BaseHTTPRequestHandler):
    """Answers GET /api/plug/v1/reading with `reading` (set by the test)."""

    reading: dict[str, Any] = {}

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        """Serve the current reading."""
        body = json.dumps(self.reading).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        """Quiet."""


def reading(ts: int | float, imp: int | float, exp: int = 0) -> dict[str, Any]:
    """A fresh reading as the SmartMeter serves it."""
    return {"fresh": True, "seq": 1, "age_s": 0.1, "meter_ts": ts, "import_wh": {"total": imp},
            "export_wh": {"total": exp}}


@pytest.fixture
def fake() -> Iterator[ThreadingHTTPServer]:
    """The fake SmartMeter on loopback."""
    srv = ThreadingHTTPServer(("127.0.0.1", 0), FakeMeter)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.fixture
def linked(tmp_path: Path, fake: ThreadingHTTPServer) -> Iterator[BoardProcess]:
    """A plug polling the fake meter every 0.5 s, after one good reading."""
    FakeMeter.reading = reading(T0, 11_256_941)
    b = plug_board(tmp_path, meter={"address": f"127.0.0.1:{fake.server_address[1]}", "poll_s": 0.5})
    with b:
        b.start()
        wait_for(lambda: status(b)["meter"]["counters"]["ok"], lambda n: n >= 1, 10, "a first reading", b)
        yield b


@pytest.mark.parametrize("case", ["timestamp 1e30", "registers 1e30 after a gap", "registers backwards"])
def test_absurd_readings_are_refused(case: str, linked: BoardProcess) -> None:
    day0 = status(linked)["daily_day"]
    if case == "timestamp 1e30":
        FakeMeter.reading = reading(10**30, 11_256_950)
    elif case == "registers 1e30 after a gap":
        FakeMeter.reading = reading(T0 + 3600, 10**30)
    else:
        FakeMeter.reading = reading(T0 + 5, 11_000_000)
    wait_for(lambda: status(linked)["meter"]["counters"]["implausible"], lambda n: n >= 2, 10,
             "refusals", linked)
    st = status(linked)
    assert "reading refused" in st["meter"]["last_error"]
    assert st["daily_day"] == day0
    assert st["meter_reading"] is None or st["meter_reading"][0] == T0
    # real readings go on being taken afterwards (not "stale" behind an absurd clock)
    ok = st["meter"]["counters"]["ok"]
    FakeMeter.reading = reading(T0 + 10, 11_256_960)
    wait_for(lambda: status(linked)["meter"]["counters"]["ok"], lambda n: n > ok, 10, "a real reading",
             linked)
