"""ESP-IDF Secure Boot v2 signature blocks (RSA-3072-PSS-SHA256), written with `cryptography`.

The block is byte for byte what `espsecure sign-data --version 2` writes (tests/ota check both ways):
magic 0xE7, version 2, SHA-256 of the signed data, the key's modulus, exponent, R^2 mod n and M' (the
RSA peripheral's Montgomery constants, little-endian), the signature (little-endian), a CRC-32 and 16
zero bytes. A signature sector holds up to three blocks and is padded to 4 KiB with 0xFF.
"""

from __future__ import annotations

import hashlib
import struct
import zlib

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa, utils

BLOCK = 1216
MAX_BLOCKS = 3
SECTOR = 4096
KEY_BITS = 3072
PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)


def _le(n: int, size: int) -> bytes:
    return n.to_bytes(size, "little")


def key_material(pub: rsa.RSAPublicKey) -> bytes:
    """Return bytes 36..812 of a block for this key: n, e, R^2 mod n, M' (what the key digest covers)."""
    nums = pub.public_numbers()
    if pub.key_size != KEY_BITS:
        raise ValueError(f"RSA key of {pub.key_size} bits: Secure Boot v2 here uses {KEY_BITS}-bit keys")
    n = nums.n
    rinv = (1 << (2 * KEY_BITS)) % n  # the field espsecure calls "rinv" holds R^2 mod n (R = 2^3072)
    m_prime = (-pow(n, -1, 1 << 32)) & 0xFFFFFFFF
    return _le(n, 384) + struct.pack("<I", nums.e) + _le(rinv, 384) + struct.pack("<I", m_prime)


def key_digest(pub: rsa.RSAPublicKey) -> bytes:
    """Return the SHA-256 key digest a board trusts (as the ESP32's eFuse holds it)."""
    return hashlib.sha256(key_material(pub)).digest()


def block_from_signature(data_digest: bytes, pub: rsa.RSAPublicKey, signature: bytes) -> bytes:
    """Return a block for a signature made elsewhere (an HSM); it is checked first."""
    pub.verify(signature, data_digest, PSS, utils.Prehashed(hashes.SHA256()))
    body = struct.pack("<BBxx32s", 0xE7, 2, data_digest) + key_material(pub)[:776] + signature[::-1]
    body += struct.pack("<I", zlib.crc32(body) & 0xFFFFFFFF)
    return body + b"\x00" * 16


def sign_block(data: bytes, key: rsa.RSAPrivateKey) -> bytes:
    """Return one signature block over data (the 4 KiB manifest sector)."""
    digest = hashlib.sha256(data).digest()
    sig = key.sign(digest, PSS, utils.Prehashed(hashes.SHA256()))
    return block_from_signature(digest, key.public_key(), sig)


def blocks(sector: bytes) -> list[bytes]:
    """Return the valid blocks of a signature sector (magic, version and CRC right), in order."""
    out = []
    for i in range(MAX_BLOCKS):
        b = sector[i * BLOCK:(i + 1) * BLOCK]
        if len(b) == BLOCK and b[0] == 0xE7 and b[1] == 2 and \
                struct.unpack("<I", b[1196:1200])[0] == zlib.crc32(b[:1196]) & 0xFFFFFFFF:
            out.append(b)
        else:
            break
    return out


def block_key_digest(block: bytes) -> bytes:
    """Return the key digest of a block."""
    return hashlib.sha256(block[36:812]).digest()


def verify_block(block: bytes, data: bytes) -> bool:
    """Whether the block is a valid signature of data by the key it carries."""
    if block[4:36] != hashlib.sha256(data).digest():
        return False
    n = int.from_bytes(block[36:420], "little")
    e = struct.unpack("<I", block[420:424])[0]
    pub = rsa.RSAPublicNumbers(e, n).public_key()
    try:
        pub.verify(block[812:1196][::-1], block[4:36], PSS, utils.Prehashed(hashes.SHA256()))
    except Exception:
        return False
    return True


def sector(block_list: list[bytes]) -> bytes:
    """Return a 4 KiB signature sector holding these blocks (0xFF after them)."""
    if len(block_list) > MAX_BLOCKS:
        raise ValueError(f"{len(block_list)} signature blocks: a sector holds at most {MAX_BLOCKS}")
    body = b"".join(block_list)
    return body + b"\xff" * (SECTOR - len(body))
