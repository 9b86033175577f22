"""The CRC-16/ARC byte table written out in firmware/p1/crc16.py against its bitwise definition."""
from firmware.p1.crc16 import TABLE, crc16_arc


def _bitwise(data: bytes) -> int:
    crc = 0
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def test_each_entry_is_the_crc_of_its_byte():
    assert len(TABLE) == 256
    for i in range(256):
        assert TABLE[i] == _bitwise(bytes([i])), i


def test_the_check_value_of_crc16_arc():
    assert crc16_arc(b"123456789") == 0xBB3D == _bitwise(b"123456789")
