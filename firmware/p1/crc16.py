# CRC-16/ARC (poly 0x8005 reflected = 0xA001, init 0, no final xor) as DSMR 4+ uses it.
#
# The device uses the 256-entry byte table. Hosts with memory to spare (CPython) also build a
# 65536-entry table that takes two bytes a step: same function, same results, half the steps.
import sys


def _step8(c):
    for _ in range(8):
        if c & 1:
            c = (c >> 1) ^ 0xA001
        else:
            c >>= 1
    return c


TABLE = tuple([_step8(i) for i in range(256)])


def _step16(v):
    c = (v >> 8) ^ TABLE[v & 0xFF]
    return (c >> 8) ^ TABLE[c & 0xFF]


_T16 = None
if sys.implementation.name == 'cpython' and sys.byteorder == 'little':
    _T16 = tuple([_step16(v) for v in range(65536)])


def crc16_arc_bytewise(data, crc=0):
    """CRC of bytes/bytearray/memoryview `data`, continuing from `crc`, a byte a step."""
    t = TABLE
    for b in data:
        crc = (crc >> 8) ^ t[(crc ^ b) & 0xFF]
    return crc


def crc16_arc(data, crc=0):
    """CRC of bytes/bytearray/memoryview `data`, continuing from `crc`."""
    t16 = _T16
    if t16 is None:
        return crc16_arc_bytewise(data, crc)
    n = len(data)
    even = n & ~1
    mv = memoryview(data)
    for w in mv[:even].cast('H'):
        crc = t16[crc ^ w]
    if n & 1:
        crc = (crc >> 8) ^ TABLE[(crc ^ data[n - 1]) & 0xFF]
    return crc
