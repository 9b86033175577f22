"""CRC-16/ARC for host tools: the `fastcrc` package (compiled), same result as the device's byte table.

The firmware (firmware/p1/crc16.py) computes the CRC with the 256-entry byte table, a Python step per byte,
as the ESP32 runs it. Host tools (decode, monitor, the simulator, the emulator's encoder, the host figure of
the P1 benchmark) hand this function to `P1Stack(crc=...)` / `TelegramReader(crc=...)` instead.
"""

from __future__ import annotations

from fastcrc import crc16


def crc16_arc(data: bytes | bytearray | memoryview, crc: int = 0) -> int:
    """CRC of `data`, continuing from `crc` (same result as firmware.p1.crc16.crc16_arc)."""
    return crc16.arc(data, crc) if crc else crc16.arc(data)
