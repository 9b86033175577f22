"""CRC-16/ARC for host tools, computed from the CRC's linearity (CPython only; same result as the device's).

The firmware (firmware/p1/crc16.py) uses the 256-entry byte table, a byte a step. On CPython a Python-level
step costs far more than the arithmetic, so host tools (decode, the simulator, the host figure of the
benchmark) may hand this function to `P1Stack(crc=...)` / `TelegramReader(crc=...)` instead: with init 0
and no final xor, the CRC of a message is the XOR of a fixed 16-bit constant per set bit, and that constant
depends only on the bit's distance from the end of the message. Output bit r is then the parity of
(message & MASK[r]), the message read as one big integer (last byte least significant): 16 AND + popcount
operations in C, no per-byte Python step and no big table thrashing the cache (16 masks of 4 KiB).
"""

from __future__ import annotations

from firmware.p1.crc16 import TABLE
from firmware.p1.crc16 import crc16_arc as crc16_arc_bytewise

MASK_BYTES = 4096  # the reader's default max_size; longer data takes the byte-wise path


def _apply(cols: list[int], c: int) -> int:
    """Apply the 16x16 bit matrix given by its columns (images of 1 << s) to c."""
    out = 0
    s = 0
    while c:
        if c & 1:
            out ^= cols[s]
        c >>= 1
        s += 1
    return out


def _masks(nbytes: int) -> tuple[int, ...]:
    """MASK[r]: bit 8p+k set when bit r of the CRC of (1 << k, then p zero bytes) is set.

    Built by doubling: the bits of the next L bytes are the first L bytes' seen through L more zero bytes
    (a linear map Z^L), so each new half is an XOR of the old masks; about 12 steps for 4 KiB (~1 ms).
    """
    t = TABLE
    masks = [0] * 16
    for k in range(8):
        c = t[1 << k]
        for r in range(16):
            if (c >> r) & 1:
                masks[r] |= 1 << k
    cols = [(1 << s >> 8) ^ t[(1 << s) & 0xFF] for s in range(16)]  # Z: one zero byte
    size = 1
    while size < nbytes:
        shift = 8 * size
        upper = [0] * 16
        for s in range(16):
            c = cols[s]
            m = masks[s]
            for r in range(16):
                if (c >> r) & 1:
                    upper[r] ^= m
        for r in range(16):
            masks[r] |= upper[r] << shift
        cols = [_apply(cols, c) for c in cols]  # Z^(2L)
        size *= 2
    keep = (1 << (8 * nbytes)) - 1
    return tuple([m & keep for m in masks])


_MASK = _masks(MASK_BYTES)


def crc16_arc(data: bytes | bytearray | memoryview, crc: int = 0) -> int:
    """CRC of `data`, continuing from `crc` (same result as firmware.p1.crc16.crc16_arc)."""
    m = _MASK
    n = len(data)
    if n > MASK_BYTES or n < 2:
        return crc16_arc_bytewise(data, crc)
    x = int.from_bytes(data, 'big')
    if crc:
        # a start value crc is the same as xor-ing it into the first two bytes (reflected CRC, init 0)
        x ^= ((crc & 0xFF) << (8 * (n - 1))) ^ ((crc >> 8) << (8 * (n - 2)))
    return (((x & m[0]).bit_count() & 1) | (((x & m[1]).bit_count() & 1) << 1)
            | (((x & m[2]).bit_count() & 1) << 2) | (((x & m[3]).bit_count() & 1) << 3)
            | (((x & m[4]).bit_count() & 1) << 4) | (((x & m[5]).bit_count() & 1) << 5)
            | (((x & m[6]).bit_count() & 1) << 6) | (((x & m[7]).bit_count() & 1) << 7)
            | (((x & m[8]).bit_count() & 1) << 8) | (((x & m[9]).bit_count() & 1) << 9)
            | (((x & m[10]).bit_count() & 1) << 10) | (((x & m[11]).bit_count() & 1) << 11)
            | (((x & m[12]).bit_count() & 1) << 12) | (((x & m[13]).bit_count() & 1) << 13)
            | (((x & m[14]).bit_count() & 1) << 14) | (((x & m[15]).bit_count() & 1) << 15))
