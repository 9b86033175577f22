# The module's TLS identity and server context (docs/security.md "HTTPS"). Portable: MicroPython's `ssl`
# (ESP32: mbedTLS) and CPython's take the same calls here.
#
#   CERT_FILE, KEY_FILE              PEM files in flash (hal.flash_root), put there at provisioning by the
#                                    host (hil/devcert.py): MicroPython cannot make a key pair
#   pem_der(pem) -> bytes | None     the DER of the first CERTIFICATE block of a PEM text (bytes)
#   fingerprint_text(pem) -> 'AB:CD:..' | None   SHA-256 of that DER: what the label shows, a client pins
#   load(root) -> (ctx, fingerprint, None) | (None, None, why)
#                                    ssl.SSLContext(PROTOCOL_TLS_SERVER) with the flash's key and
#                                    certificate; why: no identity in flash, or one ssl refuses
#
# The key is read by ssl only (load_cert_chain takes the paths on both interpreters); this module never
# keeps it in a Python object.
import binascii
import hashlib

from firmware.apps.common.boot import TLS_CERT_FILE as CERT_FILE
from firmware.apps.common.boot import TLS_KEY_FILE as KEY_FILE

_BEGIN = b'-----BEGIN CERTIFICATE-----'
_END = b'-----END CERTIFICATE-----'


def pem_der(pem):
    i = pem.find(_BEGIN)
    if i < 0:
        return None
    j = pem.find(_END, i)
    if j < 0:
        return None
    body = pem[i + len(_BEGIN):j].replace(b'\r', b'').replace(b'\n', b'').replace(b' ', b'')
    if not body:
        return None
    try:
        der = binascii.a2b_base64(body)
    except ValueError:
        return None
    return der or None     # characters outside base64 decode to nothing on both interpreters


def fingerprint_text(pem):
    der = pem_der(pem)
    if der is None:
        return None
    h = binascii.hexlify(hashlib.sha256(der).digest()).decode().upper()
    return ':'.join([h[i:i + 2] for i in range(0, len(h), 2)])


def _path(root, name):
    root = root.rstrip('/')
    return root + '/' + name if root else name


def load(root):
    cert_path = _path(root, CERT_FILE)
    key_path = _path(root, KEY_FILE)
    try:
        with open(cert_path, 'rb') as f:
            pem = f.read()
        with open(key_path, 'rb'):
            pass
    except OSError:
        return None, None, ('no TLS identity in flash (%s, %s): provision the module (hil flash, or hil '
                            'board run on an emulated board)' % (CERT_FILE, KEY_FILE))
    fp = fingerprint_text(pem)
    if fp is None:
        return None, None, '%s: expected a PEM certificate' % CERT_FILE
    try:
        import ssl
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert_path, key_path)
    except Exception as e:  # ssl refused the pair (a damaged or foreign key): HTTPS stays off, logged
        from firmware.errtext import what
        return None, None, 'the TLS key or certificate was refused: ' + what(e)
    return ctx, fp, None
