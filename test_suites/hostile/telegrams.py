"""DSMR 5 telegrams with any values the test wants, under a valid CRC (what a hostile or broken meter, or
a line that was tampered with, could send)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from firmware.p1.crc16 import crc16_arc

START = 1_700_000_000  # 2023-11-14 22:13:20 UTC


def meter_time(ts: int) -> str:
    """The meter's clock text (local Belgian time, winter 'W') of UTC epoch ts."""
    t = time.gmtime(ts + 3600)
    return time.strftime("%y%m%d%H%M%S", t) + "W"


@dataclass
class Values:
    """What one telegram says (registers in Wh, powers in W, voltage in dV, current in A)."""

    ts: int = START
    import_wh: tuple[int, int] = (4_592_767, 6_664_174)
    export_wh: tuple[int, int] = (1_269_851, 439_646)
    import_w: int = 2673
    voltage: str = "230.1"
    current: str = "011"
    clock: str | None = None               # the 0-0:1.0.0 text, overriding ts
    extra: list[str] = field(default_factory=list)
    register_text: str | None = None        # overrides 1-0:1.8.1's text


def kwh(wh: int) -> str:
    """Wh as the meter writes kWh: 6.3 digits."""
    sign = "-" if wh < 0 else ""
    wh = abs(wh)
    return f"{sign}{wh // 1000:06d}.{wh % 1000:03d}"


def telegram(v: Values) -> bytes:
    """The telegram's bytes, CRC included."""
    lines = [
        "/ISk5\\2MT382-1000", "", "1-3:0.2.8(50)", f"0-0:1.0.0({v.clock or meter_time(v.ts)})",
        "0-0:96.1.1(4B384547303034303436333935353037)",
        f"1-0:1.8.1({v.register_text or kwh(v.import_wh[0])}*kWh)", f"1-0:1.8.2({kwh(v.import_wh[1])}*kWh)",
        f"1-0:2.8.1({kwh(v.export_wh[0])}*kWh)", f"1-0:2.8.2({kwh(v.export_wh[1])}*kWh)",
        "0-0:96.14.0(0002)", f"1-0:1.7.0({v.import_w // 1000:02d}.{v.import_w % 1000:03d}*kW)",
        "1-0:2.7.0(00.000*kW)", f"1-0:32.7.0({v.voltage}*V)", f"1-0:31.7.0({v.current}*A)", *v.extra, "!",
    ]
    body = "\r\n".join(lines).encode()
    return body + f"{crc16_arc(body):04X}\r\n".encode()
