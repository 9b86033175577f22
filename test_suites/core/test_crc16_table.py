"""The CRC-16/ARC byte table written out in firmware/p1/crc16.py against its bitwise definition."""
from firmware.p1.crc16 import TABLE, TABLE16, crc16_arc, crc16_native, crc16_table


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


def test_the_native_table_is_the_same_table():
    assert len(TABLE16) == 512
    for i in range(256):
        assert TABLE16[2 * i] | TABLE16[2 * i + 1] << 8 == TABLE[i], i


def test_the_crc_in_use_is_the_table_loop_or_its_native_twin():
    # crc16_native is None where the port has no native emitter (CPython, the WebAssembly port)
    assert crc16_arc is (crc16_native or crc16_table)
    data = bytes([(i * 37 + 11) & 0xFF for i in range(300)])
    for n in (0, 1, 2, 3, 299, 300):
        assert crc16_arc(data[:n]) == crc16_table(data[:n]) == _bitwise(data[:n]), n
        assert crc16_arc(bytearray(data[:n]), 0xBEEF) == crc16_table(data[:n], 0xBEEF), n
