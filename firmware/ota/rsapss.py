# RSASSA-PSS verification (RFC 8017 section 8.1.2) with MGF1-SHA256 and a 32-byte salt, from pow() and
# hashlib.sha256 only: what MicroPython on the ESP32 has. Pure; portable.
#
#   verify(n, e, sig, mhash) -> None, or the reason the signature is not valid (a short text)
import hashlib


def _mgf1(seed, length):
    out = bytearray()
    c = 0
    while len(out) < length:
        h = hashlib.sha256(seed)
        h.update(bytes((c >> 24 & 0xFF, c >> 16 & 0xFF, c >> 8 & 0xFF, c & 0xFF)))
        out.extend(h.digest())
        c += 1
    return out[:length]


def _bits(n):
    # int.bit_length() is missing in MicroPython
    b = 0
    while n >> (b + 64):
        b += 64
    while n >> b:
        b += 1
    return b


def verify(n, e, sig, mhash, salt_len=32):
    k = len(sig)
    mod_bits = _bits(n)
    if (mod_bits + 7) // 8 != k:
        return 'signature of %d bytes for a %d-bit key' % (k, mod_bits)
    s = int.from_bytes(sig, 'big')
    if s >= n:
        return 'signature value not below the modulus'
    em_bits = mod_bits - 1
    em_len = (em_bits + 7) // 8
    em = pow(s, e, n).to_bytes(k, 'big')
    if em_len < k:  # the modulus is a whole number of bytes: the first byte of the block must be 0
        if em[0] != 0:
            return 'encoded message overflows the modulus'
        em = em[1:]
    hlen = 32
    if em_len < hlen + salt_len + 2:
        return 'key too short for PSS with SHA-256'
    if em[-1] != 0xBC:
        return 'encoded message does not end in 0xbc'
    db_len = em_len - hlen - 1
    h = em[db_len:db_len + hlen]
    top = 8 * em_len - em_bits
    mask = (0xFF >> top) if top else 0xFF
    if em[0] & ~mask & 0xFF:
        return 'encoded message has its leftmost bits set'
    db = _mgf1(h, db_len)
    for i in range(db_len):
        db[i] ^= em[i]
    db[0] &= mask
    pad = db_len - salt_len - 1
    for i in range(pad):
        if db[i]:
            return 'PSS padding is not zero'
    if db[pad] != 1:
        return 'PSS separator is not 0x01'
    m2 = hashlib.sha256(b'\x00' * 8)
    m2.update(mhash)
    m2.update(db[db_len - salt_len:])
    if m2.digest() != h:
        return 'PSS hash mismatch (wrong key or altered data)'
    return None
