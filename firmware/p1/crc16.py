# CRC-16/ARC (poly 0x8005 reflected = 0xA001, init 0, no final xor) as DSMR 4+ uses it: the 256-entry
# byte table, a byte a step, as the device runs it. (Host tools may use hil/p1_fastcrc.py, same result.)


def _step8(c):
    for _ in range(8):
        if c & 1:
            c = (c >> 1) ^ 0xA001
        else:
            c >>= 1
    return c


TABLE = tuple([_step8(i) for i in range(256)])


def crc16_arc(data, crc=0):
    """CRC of bytes/bytearray/memoryview `data`, continuing from `crc`, a byte a step."""
    t = TABLE
    for b in data:
        crc = (crc >> 8) ^ t[(crc ^ b) & 0xFF]
    return crc
