# The image manifest: parse its fixed little-endian layout and decide whether this device may install it.
# Pure (struct only). Layout (docs/ota.md): a 4 KiB manifest sector (the first MANIFEST_LEN bytes used,
# the rest 0xFF), a 4 KiB Secure Boot v2 signature sector over the manifest sector, then the payload.
#
#   m = parse(sector)                        -> Manifest; OtaError(400) says which field is wrong
#   (the host writes manifests: hil/image/container.py pack_manifest)
#   refusal(m, device) -> None | OtaError    the first policy check that fails (409/413/507), in order:
#                                            module, hardware, ABI, size, free space, counter, version
#   version_text(v)                          (1, 2, 3, 4) -> '1.2.3+4'
import struct

from firmware.ota.errors import OtaError

MAGIC = b'BCHF'
FORMAT_VERSION = 1
SECTOR = 4096
HEAD_LEN = 2 * SECTOR           # manifest sector + signature sector: all that is checked before a write
LAYOUT = '<4sHH16sHHIHHHHBBHI32sI20s'
MANIFEST_LEN = struct.calcsize(LAYOUT)  # 104
KIND_MPY_TAR = 1                # ustar of firmware modules: mpy/... (.mpy for the ESP32), py/... (sources)
KINDS = (KIND_MPY_TAR,)


class Manifest:
    def __init__(self, module, hw_min, hw_max, counter, version, kind, flags, abi, payload_len,
                 payload_sha256, min_runtime, commit):
        self.module = module
        self.hw_min = hw_min
        self.hw_max = hw_max
        self.counter = counter
        self.version = version
        self.kind = kind
        self.flags = flags
        self.abi = abi
        self.payload_len = payload_len
        self.payload_sha256 = payload_sha256
        self.min_runtime = min_runtime
        self.commit = commit

    def as_dict(self):
        return {'module': self.module, 'hw': [self.hw_min, self.hw_max], 'security_counter': self.counter,
                'version': version_text(self.version), 'payload_kind': self.kind, 'mpy_abi': self.abi,
                'payload_len': self.payload_len, 'payload_sha256': hexlify(self.payload_sha256),
                'source_commit': hexlify(self.commit)}


def hexlify(b):
    return ''.join(['%02x' % x for x in b])


def version_text(v):
    return '%d.%d.%d+%d' % (v[0], v[1], v[2], v[3])


def parse(sector):
    """Manifest of a manifest sector; OtaError(400) names the first field that is not as expected."""
    if len(sector) < SECTOR:
        raise OtaError(400, 'image head: expected a %d-byte manifest sector, got %d bytes' % (SECTOR, len(sector)))
    if bytes(sector[0:4]) != MAGIC:
        raise OtaError(400, 'image: expected magic %r at offset 0, found %r (not a bChain firmware image)'
                       % (MAGIC, bytes(sector[0:4])))
    f = struct.unpack(LAYOUT, bytes(sector[0:MANIFEST_LEN]))
    if f[1] != FORMAT_VERSION:
        raise OtaError(400, 'manifest format %d: this loader reads format %d' % (f[1], FORMAT_VERSION))
    if f[2] != MANIFEST_LEN:
        raise OtaError(400, 'manifest length %d: expected %d' % (f[2], MANIFEST_LEN))
    for i in range(MANIFEST_LEN, SECTOR):
        if sector[i] != 0xFF:
            raise OtaError(400, 'manifest sector: byte %d is 0x%02x, expected 0xff padding' % (i, sector[i]))
    raw = f[3]
    n = 0
    while n < 16 and raw[n] != 0:
        n += 1
    for i in range(n, 16):
        if raw[i] != 0:
            raise OtaError(400, 'manifest module field: expected NUL padding after %r' % raw[:n])
    for i in range(n):
        if not (0x61 <= raw[i] <= 0x7A or 0x30 <= raw[i] <= 0x39 or raw[i] == 0x2D):
            raise OtaError(400, 'manifest module field: expected [a-z0-9-], found byte 0x%02x' % raw[i])
    if n == 0:
        raise OtaError(400, 'manifest module field is empty: expected smartmeter or smartplug')
    module = raw[:n].decode()
    if f[4] > f[5]:
        raise OtaError(400, 'manifest hardware range %d..%d is empty' % (f[4], f[5]))
    if f[11] not in KINDS:
        raise OtaError(400, 'manifest payload kind %d: this loader installs kinds %r' % (f[11], KINDS))
    return Manifest(module, f[4], f[5], f[6], (f[7], f[8], f[9], f[10]), f[11], f[12], f[13], f[14],
                    bytes(f[15]), f[16], bytes(f[17]))


def refusal(m, device):
    """The first reason this device must not install m, as an OtaError, or None.

    device: dict with module, hw (int), abi (int, .mpy version | sub-version << 8), max_payload (bytes
    a slot holds), free (bytes free for the slot), floor (lowest security counter accepted), installed
    (version tuple of the running image or None), allow_downgrade (bool)."""
    if m.module != device['module']:
        return OtaError(409, 'image is for a %s, this is a %s: nothing was changed' % (m.module, device['module']))
    hw = device['hw']
    if not m.hw_min <= hw <= m.hw_max:
        return OtaError(409, 'image is for %s hardware %d..%d, this board is hardware %d: nothing was changed'
                        % (m.module, m.hw_min, m.hw_max, hw))
    if m.abi & 0xFF != device['abi'] & 0xFF:
        return OtaError(409, 'image bytecode ABI %d.%d, this MicroPython loads %d.%d: nothing was changed'
                        % (m.abi & 0xFF, (m.abi >> 8) & 3, device['abi'] & 0xFF, (device['abi'] >> 8) & 3))
    if m.payload_len > device['max_payload']:
        return OtaError(413, 'image payload of %d bytes: a slot holds at most %d' % (m.payload_len,
                                                                                    device['max_payload']))
    if m.payload_len > device['free']:
        return OtaError(507, 'image payload of %d bytes: only %d bytes free in flash' % (m.payload_len,
                                                                                      device['free']))
    if m.counter < device['floor']:
        return OtaError(409, 'image security counter %d is below this board\'s floor %d (a revoked release): '
                        'nothing was changed' % (m.counter, device['floor']))
    inst = device.get('installed')
    if inst is not None and tuple(m.version) < tuple(inst) and not device.get('allow_downgrade'):
        return OtaError(409, 'image version %s is older than the running %s: send allow_downgrade=1 to '
                        'install it anyway' % (version_text(m.version), version_text(inst)))
    return None
