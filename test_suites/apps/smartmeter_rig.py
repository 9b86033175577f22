"""A SmartMeter rig for the app tests: the P1 emulator on a real pty pair, the board as a real process.

`MeterRig(tmp_path).start()` starts a meter (profile, registers and load as given) writing telegrams to a
pty and a SmartMeter board reading the other end and serving HTTP on 127.0.0.1. Every telegram the
emulator sends is recorded with the values a careful reader would show for it (`expected`), keyed by the
meter's clock, so a test can compare what the board serves with what the meter state held.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from firmware.storage import Store
from hil.board_process import BoardProcess
from hil.emulators.p1.faults import FaultInjector
from hil.emulators.p1.profiles import get_profile
from hil.emulators.p1.source import ConstantLoad, Telegram, TelegramSource, new_meter
from hil.emulators.p1.writer import P1Writer, line_format

START = 1_700_000_000            # 2023-11-14 22:13:20 UTC: winter time, tariff 2 (night)
MANUAL_IMPORT_WH = (4_592_767, 6_664_174)
MANUAL_EXPORT_WH = (1_269_851, 439_646)
NETWORKS = {"HomeNet": "correct horse"}


def dec_text(value: Decimal, decimals: int) -> str:
    """Return value with exactly `decimals` decimals, rounded half away from zero (as the page does)."""
    q = Decimal(1).scaleb(-decimals)
    return str(value.quantize(q, rounding=ROUND_HALF_UP))


class RecordingSource(TelegramSource):
    """A TelegramSource that keeps, for every telegram, the page rows its meter state should give."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """As TelegramSource."""
        super().__init__(*args, **kwargs)
        self.expected: dict[int, dict[str, Any]] = {}

    def next(self) -> Telegram:
        """Produce the next telegram and record what it shows."""
        tg = super().next()
        m = self.meter
        rows: dict[str, str] = {}
        for i, t in enumerate(("1", "2")):
            rows[f"Energy Consumed Tariff {t}"] = dec_text(Decimal(m.import_wh[i]) / 1000, 3) + " kWh"
            rows[f"Energy Produced Tariff {t}"] = dec_text(Decimal(m.export_wh[i]) / 1000, 3) + " kWh"
        rows["Power Consumed"] = dec_text(Decimal(m.import_w) / 1000, 3) + " kW"
        rows["Power Produced"] = dec_text(Decimal(m.export_w) / 1000, 3) + " kW"
        sends_failures = "failures" in self.profile.lines
        rows["Electricity Failures"] = str(m.power_failures) if sends_failures else ""
        rows["Long Electricity Failures"] = str(m.long_power_failures) if sends_failures else ""
        for i in range(3):
            has = i < m.phases
            rows[f"Voltage Phase {i + 1}"] = (dec_text(Decimal(m.voltage_dv[i]) / 10, 1) + " V"
                                              if has and "voltage" in self.profile.lines else "")
            rows[f"Current Phase {i + 1}"] = (dec_text(Decimal(m.current_ca[i]) / 100, 1) + " A"
                                              if has and "current" in self.profile.lines else "")
        self.expected[tg.meter_ts] = {"rows": rows, "import_wh": m.import_wh, "export_wh": m.export_wh,
                                      "import_w": m.import_w, "export_w": m.export_w, "index": tg.index,
                                      "data": tg.data}
        return tg


def provision(flash: Path, ssid: str = "HomeNet", password: str = "correct horse") -> None:
    """Store WiFi credentials in a board's flash, as a Save in the portal would."""
    flash.mkdir(parents=True, exist_ok=True)
    assert Store(str(flash)).save("wifi.json", {"ssid": ssid, "password": password})


class MeterRig:
    """P1 emulator + SmartMeter board."""

    def __init__(self, tmp: Path, *, profile: str = "emucs17-3p", import_w: float = 2673, export_w: float = 0,
                 import_wh: tuple[int, int] = MANUAL_IMPORT_WH, export_wh: tuple[int, int] = MANUAL_EXPORT_WH,
                 period_s: float | None = None, time_scale: float = 1.0, provisioned: bool = True,
                 extra: list[str] | None = None, voltage_v: float | tuple[float, ...] = 230.0,
                 load: Callable[[int], Any] | None = None) -> None:
        """Build (nothing runs before start())."""
        prof = get_profile(profile)
        meter = new_meter(prof, START, import_wh=import_wh, export_wh=export_wh, voltage_v=voltage_v)
        self.source = RecordingSource(prof, meter, load or ConstantLoad(import_w, export_w, 60),
                                      period_s=period_s)
        self.injector = FaultInjector(line_format(self.source), prof.crc)
        self.writer = P1Writer(self.source, injector=self.injector, time_scale=time_scale)
        self.flash = tmp / "flash"
        if provisioned:
            provision(self.flash)
        self.board = BoardProcess("smartmeter", self.flash, p1=self.writer.connect_to,
                                  networks=dict(NETWORKS), extra=extra or [])

    def start(self, timeout: float = 20.0) -> MeterRig:
        """Start the meter, then the board."""
        self.writer.start()
        self.board.start(timeout)
        return self

    def close(self) -> None:
        """Kill the board and stop the meter."""
        self.board.kill()
        self.writer.stop()

    def __enter__(self) -> MeterRig:
        """Use as a context manager."""
        return self

    def __exit__(self, *exc: object) -> None:
        """Close the rig."""
        self.close()

    def pull_cable(self, periods: int, cut: int = 300) -> None:
        """Pull the P1 cable `cut` bytes into the next telegram; plug it back `periods` periods later.

        The pty stays open (a closed pty's name can be handed to the next test's line, and a board
        reopening it would read another rig's bytes): the line just goes quiet, as a pulled cable does.
        """
        self.injector.inject("cable_pull", telegrams=periods, cut=cut)

    def status(self) -> dict[str, Any]:
        """GET /api/status."""
        code, body = self.board.get_json("/api/status")
        assert code == 200, body
        return body


def wait_for(cond: Callable[[], Any], timeout: float, what: str, interval: float = 0.05) -> Any:
    """Poll cond() until it returns something true; AssertionError naming `what` after timeout."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = cond()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what} (last: {last!r})")
