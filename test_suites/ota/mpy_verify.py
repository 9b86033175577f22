# Portable checks of the OTA verification core, run under the real MicroPython interpreter (WebAssembly
# port) by test_mpy_verify.py, which copies this module as test_ota_mpy.py next to the images it made:
# good.bchfw (signed by the trusted key), untrusted.bchfw, flipped_payload.bchfw and trusted.txt.
# Each test's time is what the runner reports; one install prints everything it allocated (the WebAssembly
# port does not collect during a run, so that is an upper bound of the heap the update path needs).
import gc
import hashlib
import os
import sys

from firmware.ota import manifest as mf
from firmware.ota import sigblock
from firmware.ota.errors import OtaError
from firmware.ota.update import Update

HERE = __file__.rsplit('/', 1)[0]
CHUNK = 1024


def _read(name):
    with open(HERE + '/' + name, 'rb') as f:
        return f.read()


def _trusted():
    h = _read('trusted.txt').decode().strip()
    return [bytes([int(h[i:i + 2], 16) for i in range(0, 64, 2)])]


def _abi():
    return getattr(sys.implementation, '_mpy', 6) & 0xFF


def _device():
    return {'module': 'smartmeter', 'hw': 1, 'abi': _abi(), 'max_payload': 1 << 20, 'free': 1 << 22,
            'floor': 0, 'installed': None, 'allow_downgrade': False}


def _head(name):
    with open(HERE + '/' + name, 'rb') as f:
        return f.read(mf.HEAD_LEN)


def test_signature_verifies():
    head = _head('good.bchfw')
    assert sigblock.check(memoryview(head)[mf.SECTOR:], memoryview(head)[:mf.SECTOR], _trusted()) == 0


def test_untrusted_key_refused():
    head = _head('untrusted.bchfw')
    try:
        sigblock.check(memoryview(head)[mf.SECTOR:], memoryview(head)[:mf.SECTOR], _trusted())
    except OtaError as e:
        assert e.status == 403 and 'not trusted' in e.message
    else:
        raise AssertionError('an untrusted key was accepted')


def test_flipped_signature_refused():
    head = bytearray(_head('good.bchfw'))
    head[mf.SECTOR + 900] ^= 1   # inside the signature; the block CRC is fixed up so the RSA check decides
    import binascii
    import struct
    blk = memoryview(head)[mf.SECTOR:mf.SECTOR + 1216]
    blk[1196:1200] = struct.pack('<I', binascii.crc32(blk[0:1196]) & 0xFFFFFFFF)
    try:
        sigblock.check(memoryview(head)[mf.SECTOR:], memoryview(head)[:mf.SECTOR], _trusted())
    except OtaError as e:
        assert e.status == 403 and 'signature block 0' in e.message, e.message
    else:
        raise AssertionError('a flipped signature was accepted')


def _install(name, dest, sample=False):
    def prepare(u):
        try:
            os.mkdir(dest)
        except OSError:
            pass
        return dest
    gc.collect()
    base = gc.mem_alloc()
    peak = 0
    u = Update(_device(), _trusted(), prepare, 'mpy')
    buf = bytearray(CHUNK)
    with open(HERE + '/' + name, 'rb') as f:
        while True:
            n = f.readinto(buf)
            if not n:
                break
            u.feed(memoryview(buf)[:n])
            if sample:  # everything allocated so far (the WebAssembly port does not collect in a run)
                used = gc.mem_alloc() - base
                if used > peak:
                    peak = used
    ident = u.finish()
    return ident, peak


def test_whole_image_installs():
    ident, _ = _install('good.bchfw', '/tmp_ota_slot0')
    assert ident == _read('identity.txt').decode().strip()


def test_whole_image_installs_in_bounded_heap():
    ident, peak = _install('good.bchfw', '/tmp_ota_slot', True)
    want = _read('identity.txt').decode().strip()
    assert ident == want, (ident, want)
    assert len(os.listdir('/tmp_ota_slot/firmware')) > 3
    with open('/tmp_ota_slot/firmware/ota/manifest.mpy', 'rb') as f:
        assert f.read(2) == b'M\x06'
    print('OTA-ALLOC %d' % peak)
    chunks = os.stat(HERE + '/good.bchfw')[6] // CHUNK
    assert peak < chunks * 1024, (peak, chunks)  # under 1 KiB of short-lived objects per 1 KiB chunk


def test_flipped_payload_refused_at_the_end():
    try:
        _install('flipped_payload.bchfw', '/tmp_ota_slot2')
    except OtaError as e:
        assert e.status in (400, 403), e.message
    else:
        raise AssertionError('a flipped payload byte was accepted')


def test_sha256_matches_hashlib_of_whole_payload():
    data = _read('good.bchfw')
    m = mf.parse(memoryview(data)[:mf.SECTOR])
    assert hashlib.sha256(memoryview(data)[mf.HEAD_LEN:]).digest() == m.payload_sha256
