"""CRC-16/ARC: the host's CRC (hil/p1_fastcrc.py, the fastcrc package) and the device's byte table
(firmware/p1/crc16.py) both equal a bit-at-a-time reference."""

from hypothesis import given, settings
from hypothesis import strategies as st

from firmware.p1.crc16 import crc16_arc as crc16_arc_bytewise
from hil.p1_fastcrc import crc16_arc


def reference(data: bytes, crc: int = 0) -> int:
    """CRC-16/ARC one bit at a time, straight from its definition (reflected poly 0xA001)."""
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def test_check_value() -> None:
    assert crc16_arc(b"123456789") == 0xBB3D  # the catalogue's check value for CRC-16/ARC
    assert crc16_arc_bytewise(b"123456789") == 0xBB3D


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=1200), st.integers(0, 0xFFFF))
def test_agrees_with_reference(data: bytes, start: int) -> None:
    want = reference(data, start)
    assert crc16_arc(data, start) == want
    assert crc16_arc(bytearray(data), start) == want
    assert crc16_arc(memoryview(data), start) == want
    assert crc16_arc_bytewise(data, start) == want


def test_lengths_up_to_past_the_largest_telegram() -> None:
    data = bytes((i * 151 + 7) & 0xFF for i in range(4099))
    for n in (0, 1, 2, 3, 4095, 4096, 4097, 4099):
        assert crc16_arc(data[:n]) == reference(data[:n]), n
        assert crc16_arc(data[:n], 0x1234) == reference(data[:n], 0x1234), n
