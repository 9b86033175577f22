# CRC-16/ARC (poly 0x8005 reflected = 0xA001, init 0, no final xor) as DSMR 4+ uses it.

def _make_table():
    t = []
    for i in range(256):
        c = i
        for _ in range(8):
            if c & 1:
                c = (c >> 1) ^ 0xA001
            else:
                c >>= 1
        t.append(c)
    return tuple(t)


TABLE = _make_table()


def crc16_arc(data, crc=0):
    """CRC of bytes/bytearray/memoryview `data`, continuing from `crc`."""
    t = TABLE
    for b in data:
        crc = (crc >> 8) ^ t[(crc ^ b) & 0xFF]
    return crc
