# ESP-IDF Secure Boot v2 signature sector (RSA-3072): parse its blocks and verify one against a list of
# trusted key digests. Pure (hashlib, binascii.crc32 / zlib.crc32, rsapss); portable.
#
# A block (1216 bytes, little-endian, as espsecure writes it): magic 0xE7, version 2, 2 pad, SHA-256 of
# the signed data (32), RSA modulus n (384, LE), exponent e (u32), R^2 mod n (384; espsecure names it rinv), M' (u32), signature
# (384, LE), CRC-32 of the first 1196 bytes (u32), 16 zero bytes. The key digest is SHA-256 of bytes
# 36..812 (n, e, R^2 mod n, M'), as eFuses hold it. Up to 3 blocks; the rest of the 4 KiB sector is 0xFF.
#
#   check(sector, signed, trusted)   -> index of the trusted key that signed, OtaError(403) otherwise
#   key_digests(sector)              -> [(block index, key digest or None if the block is not valid)]
import hashlib
import struct

from firmware.ota import rsapss
from firmware.ota.errors import OtaError

from binascii import crc32

BLOCK = 1216
MAX_BLOCKS = 3
MAGIC = 0xE7
VERSION_RSA = 2
KEY_LEN = 384


def _valid(blk):
    if blk[0] != MAGIC or blk[1] != VERSION_RSA:
        return False
    for i in range(1200, BLOCK):  # the 16 pad bytes after the CRC are zero as espsecure writes them
        if blk[i]:
            return False
    return struct.unpack('<I', blk[1196:1200])[0] == crc32(blk[0:1196]) & 0xFFFFFFFF


def key_digests(sector):
    out = []
    for i in range(MAX_BLOCKS):
        blk = memoryview(sector)[i * BLOCK:(i + 1) * BLOCK]
        if len(blk) == BLOCK and _valid(blk):
            out.append((i, hashlib.sha256(blk[36:812]).digest()))
        else:
            out.append((i, None))
    return out


def _le_int(b):
    return int.from_bytes(bytes(reversed(bytes(b))), 'big')


def check(sector, signed, trusted):
    """Verify the first block whose key is trusted; OtaError(403) says why nothing verified."""
    if len(sector) < MAX_BLOCKS * BLOCK:
        raise OtaError(403, 'signature sector of %d bytes: expected %d' % (len(sector), 4096), 'signature')
    digest = hashlib.sha256(signed).digest()
    seen = []
    for i, kd in key_digests(sector):
        if kd is None:
            continue
        if kd not in trusted:
            seen.append('block %d: key %s... is not trusted by this board' % (i, _hex(kd[:8])))
            continue
        blk = memoryview(sector)[i * BLOCK:(i + 1) * BLOCK]
        if bytes(blk[4:36]) != digest:
            raise OtaError(403, 'signature block %d covers other data (digest %s..., manifest %s...): '
                           'image altered' % (i, _hex(blk[4:12]), _hex(digest[:8])), 'signature')
        n = _le_int(blk[36:420])
        e = struct.unpack('<I', blk[420:424])[0]
        sig = bytes(reversed(bytes(blk[812:1196])))
        why = rsapss.verify(n, e, sig, digest)
        if why is not None:
            raise OtaError(403, 'signature block %d (trusted key %s...): %s' % (i, _hex(kd[:8]), why),
                           'signature')
        return i
    if not seen:
        raise OtaError(403, 'image is not signed: expected a Secure Boot v2 RSA-3072 block after the '
                       'manifest, found no valid block (magic, version or CRC wrong)', 'signature')
    raise OtaError(403, 'no signature by a trusted key: ' + '; '.join(seen), 'signature')


def _hex(b):
    return ''.join(['%02x' % x for x in b])
