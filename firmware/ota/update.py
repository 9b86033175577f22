# One upload, fed as it arrives: the head (manifest + signature sectors, 8 KiB) is buffered and checked
# before a single byte is written; then the payload streams into the slot folder through the ustar reader
# with running SHA-256 sums; finish() accepts it only when the length and the signed hash match.
# Portable; memory: the 8 KiB head buffer, one 512-byte tar header, the caller's chunk (docs/ota.md).
#
#   u = Update(device, trusted, prepare, flavor)
#       device: see manifest.refusal; trusted: list of 32-byte key digests
#       prepare(update) -> slot folder: called once the head passed (empties the inactive slot)
#       flavor: 'mpy' (ESP32) or 'py' (emulated boards): which payload folder is installed
#   u.feed(chunk)      OtaError on the first problem (400 malformed, 403 signature, 409/413/507 policy)
#   u.finish()         -> identity (hex SHA-256 of manifest sector + payload); OtaError if incomplete/altered
#   u.phase            'head', 'payload', 'tail', 'done'; u.received bytes so far; u.manifest and
#                      u.head_digest (hex SHA-256 of the manifest sector) once the head passed
import hashlib

from firmware.ota import manifest as mf
from firmware.ota import sigblock
from firmware.ota.errors import OtaError
from firmware.ota.untar import Untar


class Update:
    def __init__(self, device, trusted, prepare, flavor):
        self.device = device
        self.trusted = trusted
        self.prepare = prepare
        self.flavor = flavor
        self.head = bytearray(mf.HEAD_LEN)
        self.phase = 'head'
        self.received = 0
        self.manifest = None
        self.key_index = None
        self.head_digest = ''
        self.left = 0
        self.tar = None
        self.h_payload = None
        self.h_identity = None

    def _check_head(self):
        head = self.head
        m = mf.parse(memoryview(head)[0:mf.SECTOR])
        why = mf.refusal(m, self.device)
        if why is not None:
            raise why
        self.key_index = sigblock.check(memoryview(head)[mf.SECTOR:], memoryview(head)[0:mf.SECTOR],
                                        self.trusted)
        self.manifest = m
        self.head_digest = mf.hexlify(hashlib.sha256(memoryview(head)[0:mf.SECTOR]).digest())
        self.h_payload = hashlib.sha256()
        self.h_identity = hashlib.sha256(memoryview(head)[0:mf.SECTOR])
        self.head = None  # the 8 KiB go back to the heap before the payload streams
        self.left = m.payload_len
        self.tar = Untar(self.prepare(self), self.flavor)
        self.phase = 'payload' if self.left else 'tail'

    def feed(self, chunk):
        mv = memoryview(chunk)
        i = 0
        n = len(mv)
        while i < n:
            if self.phase == 'head':
                k = min(mf.HEAD_LEN - self.received, n - i)
                self.head[self.received:self.received + k] = mv[i:i + k]
                self.received += k
                i += k
                if self.received == mf.HEAD_LEN:
                    self._check_head()
            elif self.phase == 'payload':
                k = min(self.left, n - i)
                part = mv[i:i + k]
                self.h_payload.update(part)
                self.h_identity.update(part)
                self.tar.feed(part)
                self.left -= k
                self.received += k
                i += k
                if not self.left:
                    self.phase = 'tail'
            else:
                raise OtaError(400, 'image longer than its manifest says: byte %d follows a payload of %d '
                               'bytes (padded or concatenated image)' % (self.received + 1,
                                                                        self.manifest.payload_len), 'payload')

    def expected_len(self):
        return mf.HEAD_LEN + (self.manifest.payload_len if self.manifest else 0)

    def finish(self):
        if self.phase == 'head':
            raise OtaError(400, 'image truncated: %d bytes came, the head alone is %d' % (self.received,
                                                                                   mf.HEAD_LEN))
        if self.phase == 'payload':
            raise OtaError(400, 'image truncated: %d bytes came, the manifest announces %d'
                           % (self.received, self.expected_len()), 'payload')
        got = self.h_payload.digest()
        if got != self.manifest.payload_sha256:
            raise OtaError(403, 'payload SHA-256 %s... does not match the signed manifest\'s %s...: image '
                           'altered or corrupted' % (mf.hexlify(got[:8]),
                                                     mf.hexlify(self.manifest.payload_sha256[:8])), 'verify')
        self.tar.close()
        self.phase = 'done'
        return mf.hexlify(self.h_identity.digest())

    def abort(self):
        if self.tar is not None:
            self.tar.abort()
