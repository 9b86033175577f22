# CRC-16/ARC (poly 0x8005 reflected = 0xA001, init 0, no final xor) as DSMR 4+ uses it: the 256-entry
# byte table, a byte a step.
#   crc16_arc(data, crc=0)     what the stack uses: crc16_native where it runs, else crc16_table
#   crc16_table(data, crc=0)   portable: a Python step per byte (CPython, the WebAssembly port)
#   crc16_native(data, crc=0)  the same loop compiled to machine code by MicroPython's viper emitter, on a
#                              port that has one for its CPU (the ESP32: xtensawin); None elsewhere
# The viper source is compiled at import (NATIVE_SRC, exec) rather than kept in a module of its own: a
# module with viper code does not compile at all for a port without a native emitter (the WebAssembly
# build the memory figures come from), and an image executed in place (frozen / ROMFS) need not carry
# native code. It is checked against the standard check value before it is used.
# (Host tools hand the stack hil/p1_fastcrc.py, same result.)
import sys


# TABLE[i]: CRC-16/ARC of the byte i (8 steps of: c = (c >> 1) ^ 0xA001 if c & 1 else c >> 1), written
# out as a constant tuple: mpy-cross keeps it with the code (in flash when frozen / in a ROMFS) instead of
# building 256 ints on the heap at import. test_suites/core tests it against the bitwise definition.
TABLE = (
    0x0000, 0xC0C1, 0xC181, 0x0140, 0xC301, 0x03C0, 0x0280, 0xC241,
    0xC601, 0x06C0, 0x0780, 0xC741, 0x0500, 0xC5C1, 0xC481, 0x0440,
    0xCC01, 0x0CC0, 0x0D80, 0xCD41, 0x0F00, 0xCFC1, 0xCE81, 0x0E40,
    0x0A00, 0xCAC1, 0xCB81, 0x0B40, 0xC901, 0x09C0, 0x0880, 0xC841,
    0xD801, 0x18C0, 0x1980, 0xD941, 0x1B00, 0xDBC1, 0xDA81, 0x1A40,
    0x1E00, 0xDEC1, 0xDF81, 0x1F40, 0xDD01, 0x1DC0, 0x1C80, 0xDC41,
    0x1400, 0xD4C1, 0xD581, 0x1540, 0xD701, 0x17C0, 0x1680, 0xD641,
    0xD201, 0x12C0, 0x1380, 0xD341, 0x1100, 0xD1C1, 0xD081, 0x1040,
    0xF001, 0x30C0, 0x3180, 0xF141, 0x3300, 0xF3C1, 0xF281, 0x3240,
    0x3600, 0xF6C1, 0xF781, 0x3740, 0xF501, 0x35C0, 0x3480, 0xF441,
    0x3C00, 0xFCC1, 0xFD81, 0x3D40, 0xFF01, 0x3FC0, 0x3E80, 0xFE41,
    0xFA01, 0x3AC0, 0x3B80, 0xFB41, 0x3900, 0xF9C1, 0xF881, 0x3840,
    0x2800, 0xE8C1, 0xE981, 0x2940, 0xEB01, 0x2BC0, 0x2A80, 0xEA41,
    0xEE01, 0x2EC0, 0x2F80, 0xEF41, 0x2D00, 0xEDC1, 0xEC81, 0x2C40,
    0xE401, 0x24C0, 0x2580, 0xE541, 0x2700, 0xE7C1, 0xE681, 0x2640,
    0x2200, 0xE2C1, 0xE381, 0x2340, 0xE101, 0x21C0, 0x2080, 0xE041,
    0xA001, 0x60C0, 0x6180, 0xA141, 0x6300, 0xA3C1, 0xA281, 0x6240,
    0x6600, 0xA6C1, 0xA781, 0x6740, 0xA501, 0x65C0, 0x6480, 0xA441,
    0x6C00, 0xACC1, 0xAD81, 0x6D40, 0xAF01, 0x6FC0, 0x6E80, 0xAE41,
    0xAA01, 0x6AC0, 0x6B80, 0xAB41, 0x6900, 0xA9C1, 0xA881, 0x6840,
    0x7800, 0xB8C1, 0xB981, 0x7940, 0xBB01, 0x7BC0, 0x7A80, 0xBA41,
    0xBE01, 0x7EC0, 0x7F80, 0xBF41, 0x7D00, 0xBDC1, 0xBC81, 0x7C40,
    0xB401, 0x74C0, 0x7580, 0xB541, 0x7700, 0xB7C1, 0xB681, 0x7640,
    0x7200, 0xB2C1, 0xB381, 0x7340, 0xB101, 0x71C0, 0x7080, 0xB041,
    0x5000, 0x90C1, 0x9181, 0x5140, 0x9301, 0x53C0, 0x5280, 0x9241,
    0x9601, 0x56C0, 0x5780, 0x9741, 0x5500, 0x95C1, 0x9481, 0x5440,
    0x9C01, 0x5CC0, 0x5D80, 0x9D41, 0x5F00, 0x9FC1, 0x9E81, 0x5E40,
    0x5A00, 0x9AC1, 0x9B81, 0x5B40, 0x9901, 0x59C0, 0x5880, 0x9841,
    0x8801, 0x48C0, 0x4980, 0x8941, 0x4B00, 0x8BC1, 0x8A81, 0x4A40,
    0x4E00, 0x8EC1, 0x8F81, 0x4F40, 0x8D01, 0x4DC0, 0x4C80, 0x8C41,
    0x4400, 0x84C1, 0x8581, 0x4540, 0x8701, 0x47C0, 0x4680, 0x8641,
    0x8201, 0x42C0, 0x4380, 0x8341, 0x4100, 0x81C1, 0x8081, 0x4040,
)


def crc16_table(data, crc=0):
    """CRC of bytes/bytearray/memoryview `data`, continuing from `crc`, a byte a step."""
    t = TABLE
    for b in data:
        crc = (crc >> 8) ^ t[(crc ^ b) & 0xFF]
    return crc


# TABLE as 256 little-endian uint16 (a bytes constant: with the code, in flash when executed in place)
TABLE16 = (
    b'\x00\x00\xc1\xc0\x81\xc1\x40\x01\x01\xc3\xc0\x03\x80\x02\x41\xc2\x01\xc6\xc0\x06\x80\x07\x41\xc7'
    b'\x00\x05\xc1\xc5\x81\xc4\x40\x04\x01\xcc\xc0\x0c\x80\x0d\x41\xcd\x00\x0f\xc1\xcf\x81\xce\x40\x0e'
    b'\x00\x0a\xc1\xca\x81\xcb\x40\x0b\x01\xc9\xc0\x09\x80\x08\x41\xc8\x01\xd8\xc0\x18\x80\x19\x41\xd9'
    b'\x00\x1b\xc1\xdb\x81\xda\x40\x1a\x00\x1e\xc1\xde\x81\xdf\x40\x1f\x01\xdd\xc0\x1d\x80\x1c\x41\xdc'
    b'\x00\x14\xc1\xd4\x81\xd5\x40\x15\x01\xd7\xc0\x17\x80\x16\x41\xd6\x01\xd2\xc0\x12\x80\x13\x41\xd3'
    b'\x00\x11\xc1\xd1\x81\xd0\x40\x10\x01\xf0\xc0\x30\x80\x31\x41\xf1\x00\x33\xc1\xf3\x81\xf2\x40\x32'
    b'\x00\x36\xc1\xf6\x81\xf7\x40\x37\x01\xf5\xc0\x35\x80\x34\x41\xf4\x00\x3c\xc1\xfc\x81\xfd\x40\x3d'
    b'\x01\xff\xc0\x3f\x80\x3e\x41\xfe\x01\xfa\xc0\x3a\x80\x3b\x41\xfb\x00\x39\xc1\xf9\x81\xf8\x40\x38'
    b'\x00\x28\xc1\xe8\x81\xe9\x40\x29\x01\xeb\xc0\x2b\x80\x2a\x41\xea\x01\xee\xc0\x2e\x80\x2f\x41\xef'
    b'\x00\x2d\xc1\xed\x81\xec\x40\x2c\x01\xe4\xc0\x24\x80\x25\x41\xe5\x00\x27\xc1\xe7\x81\xe6\x40\x26'
    b'\x00\x22\xc1\xe2\x81\xe3\x40\x23\x01\xe1\xc0\x21\x80\x20\x41\xe0\x01\xa0\xc0\x60\x80\x61\x41\xa1'
    b'\x00\x63\xc1\xa3\x81\xa2\x40\x62\x00\x66\xc1\xa6\x81\xa7\x40\x67\x01\xa5\xc0\x65\x80\x64\x41\xa4'
    b'\x00\x6c\xc1\xac\x81\xad\x40\x6d\x01\xaf\xc0\x6f\x80\x6e\x41\xae\x01\xaa\xc0\x6a\x80\x6b\x41\xab'
    b'\x00\x69\xc1\xa9\x81\xa8\x40\x68\x00\x78\xc1\xb8\x81\xb9\x40\x79\x01\xbb\xc0\x7b\x80\x7a\x41\xba'
    b'\x01\xbe\xc0\x7e\x80\x7f\x41\xbf\x00\x7d\xc1\xbd\x81\xbc\x40\x7c\x01\xb4\xc0\x74\x80\x75\x41\xb5'
    b'\x00\x77\xc1\xb7\x81\xb6\x40\x76\x00\x72\xc1\xb2\x81\xb3\x40\x73\x01\xb1\xc0\x71\x80\x70\x41\xb0'
    b'\x00\x50\xc1\x90\x81\x91\x40\x51\x01\x93\xc0\x53\x80\x52\x41\x92\x01\x96\xc0\x56\x80\x57\x41\x97'
    b'\x00\x55\xc1\x95\x81\x94\x40\x54\x01\x9c\xc0\x5c\x80\x5d\x41\x9d\x00\x5f\xc1\x9f\x81\x9e\x40\x5e'
    b'\x00\x5a\xc1\x9a\x81\x9b\x40\x5b\x01\x99\xc0\x59\x80\x58\x41\x98\x01\x88\xc0\x48\x80\x49\x41\x89'
    b'\x00\x4b\xc1\x8b\x81\x8a\x40\x4a\x00\x4e\xc1\x8e\x81\x8f\x40\x4f\x01\x8d\xc0\x4d\x80\x4c\x41\x8c'
    b'\x00\x44\xc1\x84\x81\x85\x40\x45\x01\x87\xc0\x47\x80\x46\x41\x86\x01\x82\xc0\x42\x80\x43\x41\x83'
    b'\x00\x41\xc1\x81\x81\x80\x40\x40'
)

# the byte-table loop for viper: ptr8/ptr16 are raw loads, uint arithmetic stays in machine words
NATIVE_SRC = """
@micropython.viper
def crc16_loop(data, n: int, crc: int) -> int:
    p = ptr8(data)
    t = ptr16(TABLE16)
    c = uint(crc)
    i = 0
    while i < n:
        c = (c >> 8) ^ uint(t[(c ^ uint(p[i])) & 0xFF])
        i += 1
    return int(c)
"""


def _native():
    # sys.implementation._mpy >> 10: the native architecture of this MicroPython (0: none); CPython has no _mpy
    if getattr(sys.implementation, '_mpy', 0) >> 10 == 0:
        return None
    env = {'TABLE16': TABLE16}
    try:
        exec(NATIVE_SRC, env)
    except Exception:  # a port built without the viper emitter: the table loop it is
        return None
    loop = env['crc16_loop']

    def crc16_native(data, crc=0):
        """CRC of bytes/bytearray/memoryview `data`, continuing from `crc`, in machine code."""
        return loop(data, len(data), crc)

    return crc16_native if crc16_native(b'123456789') == 0xBB3D else None


crc16_native = _native()
crc16_arc = crc16_native or crc16_table
