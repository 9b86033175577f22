# A streaming ustar reader that writes the members under one top folder into a slot folder, in bounded
# memory (one 512-byte header buffer; file data goes straight to the open file). Portable (os only).
#
#   t = Untar(dest, top)     top: 'mpy' on the ESP32 (compiled modules), 'py' on emulated boards
#   t.feed(chunk)            any chunking; OtaError(400) on a bad header, an unsafe path or a link
#   t.close()                OtaError(400) unless the archive ended properly; t.files, t.bytes written
import os

from firmware.ota.errors import OtaError

BLOCK = 512


def _octal(b, what, where):
    s = bytes(b).rstrip(b'\x00 ').lstrip(b' ')
    if not s:
        return 0
    v = 0
    for c in s:
        if c < 0x30 or c > 0x37:
            raise OtaError(400, 'payload archive: %s of the member at offset %d is %r, expected octal digits'
                           % (what, where, s), 'payload')
        v = v * 8 + (c - 0x30)
    return v


def _text(b):
    n = 0
    while n < len(b) and b[n]:
        n += 1
    return bytes(b[:n]).decode()


def safe_path(name, where):
    """The member's path parts; OtaError(400) for absolute paths, '..' or empty parts."""
    if name.startswith('/'):
        raise OtaError(400, 'payload archive: member "%s" at offset %d has an absolute path' % (name, where),
                       'payload')
    parts = [p for p in name.split('/') if p not in ('', '.')]
    for p in parts:
        if p == '..' or '\\' in p:
            raise OtaError(400, 'payload archive: member "%s" at offset %d leaves its folder' % (name, where),
                           'payload')
    if not parts:
        raise OtaError(400, 'payload archive: member at offset %d has an empty name' % where, 'payload')
    return parts


def makedirs(path):
    cur = '/' if path.startswith('/') else ''
    for p in path.split('/'):
        if not p:
            continue
        cur = cur + p if (not cur or cur.endswith('/')) else cur + '/' + p
        try:
            os.mkdir(cur)
        except OSError:
            pass


class Untar:
    def __init__(self, dest, top):
        self.dest = dest.rstrip('/')
        self.top = top
        self.hdr = bytearray(BLOCK)
        self.hn = 0
        self.offset = 0          # archive offset of the next byte fed
        self.left = 0            # data bytes left in the current member
        self.pad = 0             # padding bytes after it
        self.f = None
        self.zeros = 0
        self.ended = False
        self.files = 0
        self.bytes = 0

    def feed(self, chunk):
        mv = memoryview(chunk)
        i = 0
        n = len(mv)
        while i < n:
            if self.left:
                k = min(self.left, n - i)
                if self.f is not None:
                    self.f.write(mv[i:i + k])
                    self.bytes += k
                self.left -= k
                i += k
                self.offset += k
                if not self.left and self.f is not None:
                    self.f.close()
                    self.f = None
            elif self.pad:
                k = min(self.pad, n - i)
                self.pad -= k
                i += k
                self.offset += k
            else:
                k = min(BLOCK - self.hn, n - i)
                self.hdr[self.hn:self.hn + k] = mv[i:i + k]
                self.hn += k
                i += k
                self.offset += k
                if self.hn == BLOCK:
                    self.hn = 0
                    self._header(self.offset - BLOCK)

    def _header(self, where):
        h = self.hdr
        if self.ended:
            for b in h:
                if b:
                    raise OtaError(400, 'payload archive: data after its end marker at offset %d' % where,
                                   'payload')
            return
        if not any(h):
            self.zeros += 1
            if self.zeros == 2:
                self.ended = True
            return
        if self.zeros:
            raise OtaError(400, 'payload archive: a lone zero block before offset %d' % where, 'payload')
        if bytes(h[257:262]) != b'ustar':
            raise OtaError(400, 'payload archive: expected a ustar header at offset %d' % where, 'payload')
        stored = _octal(h[148:156], 'checksum', where)
        s = 0
        for j in range(BLOCK):
            s += 32 if 148 <= j < 156 else h[j]
        if s != stored:
            raise OtaError(400, 'payload archive: header checksum %d at offset %d, computed %d'
                           % (stored, where, s), 'payload')
        name = _text(h[0:100])
        prefix = _text(h[345:500])
        if prefix:
            name = prefix + '/' + name
        parts = safe_path(name, where)
        kind = h[156]
        size = _octal(h[124:136], 'size', where)
        if kind == 0x35:  # '5' a folder
            return
        if kind not in (0, 0x30):
            raise OtaError(400, 'payload archive: member "%s" at offset %d is not a regular file (type 0x%02x)'
                           % (name, where, kind), 'payload')
        self.left = size
        self.pad = (BLOCK - size % BLOCK) % BLOCK
        if parts[0] != self.top or len(parts) < 2:
            return  # the other runtime's files: hashed, not written
        rel = '/'.join(parts[1:])
        path = self.dest + '/' + rel
        d = path.rsplit('/', 1)[0]
        makedirs(d)
        self.f = open(path, 'wb')
        self.files += 1
        if not size:
            self.f.close()
            self.f = None

    def close(self):
        if self.f is not None:
            self.f.close()
            self.f = None
        if not self.ended or self.left or self.pad or self.hn:
            raise OtaError(400, 'payload archive ends early at offset %d (member data or end marker missing)'
                           % self.offset, 'payload')

    def abort(self):
        if self.f is not None:
            try:
                self.f.close()
            except OSError:
                pass
            self.f = None
