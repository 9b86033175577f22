"""A module's own TLS identity: a per-device key and self-signed certificate, made on the host.

MicroPython's `ssl` on the ESP32 can serve TLS but cannot make a key pair, so the host does it at
provisioning, as a factory would (`hil flash` for a board on a serial port, `hil board run` for an
emulated board whose flash has none yet): an ECDSA P-256 key (mbedTLS in MicroPython's ESP32 build has
the curve; a handshake costs far less than with RSA) and a certificate naming the module (`<name>`,
`<name>.local`), valid until 9999-12-31 (RFC 5280's "no end": the module has no clock it could trust at
boot). Both go into the module's flash as PEM (`tls_key.pem`, `tls_cert.pem`, firmware/apps/common/tls.py);
the key never leaves the flash folder (nothing in the repository holds one: tests make theirs).

The certificate's SHA-256 fingerprint is what a client pins (docs/security.md): it is printed at
provisioning and on the module's console at every boot, as the device label would carry it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import os
from collections.abc import Sequence
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from firmware.apps.common.tls import CERT_FILE, KEY_FILE, fingerprint_text

NOT_AFTER = dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=dt.timezone.utc)


def make_identity(name: str, extra_names: Sequence[str] = ()) -> tuple[bytes, bytes]:
    """Return (key PEM, certificate PEM) of a new P-256 key and its self-signed certificate for `name`.

    extra_names: more DNS names or IP addresses the certificate names (an emulated board: 127.0.0.1).
    """
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name),
                         x509.NameAttribute(NameOID.ORGANIZATION_NAME, "bChain SmartHome")])
    sans: list[x509.GeneralName] = [x509.DNSName(name), x509.DNSName(name + ".local")]
    for n in extra_names:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(n)))
        except ValueError:
            sans.append(x509.DNSName(n))
    now = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=1)   # a client's clock a little behind
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (x509.CertificateBuilder()
            .subject_name(subject).issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(NOT_AFTER)
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False, key_agreement=False,
                                         key_cert_sign=False, crl_sign=False, encipher_only=False,
                                         decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(ski, critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski),
                           critical=False)
            .sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return key_pem, cert.public_bytes(serialization.Encoding.PEM)


def fingerprint(cert_pem: bytes) -> str:
    """SHA-256 of the certificate's DER as 'AB:CD:...' (what the label shows and a client pins)."""
    der = x509.load_pem_x509_certificate(cert_pem).public_bytes(serialization.Encoding.DER)
    return ":".join(f"{b:02X}" for b in hashlib.sha256(der).digest())


def provision(flash: Path | str, name: str, extra_names: Sequence[str] = ()) -> tuple[str | None, bool]:
    """Give a flash folder its TLS identity unless it has one: (fingerprint, whether it was made now).

    The key file is created with mode 0600 and written before the certificate (a folder with a
    certificate always has its key). A folder with either file keeps what it has (a module keeps its key
    for life; a damaged identity is the firmware's to report, `https: off`): then the fingerprint is the
    certificate's, or None when it is unreadable.
    """
    flash = Path(flash)
    flash.mkdir(parents=True, exist_ok=True)
    key_path, cert_path = flash / KEY_FILE, flash / CERT_FILE
    if key_path.exists() or cert_path.exists():
        try:
            return fingerprint_text(cert_path.read_bytes()), False
        except FileNotFoundError:
            return None, False
    key_pem, cert_pem = make_identity(name, extra_names)
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key_pem)
    tmp = cert_path.with_name(cert_path.name + ".tmp")
    tmp.write_bytes(cert_pem)
    tmp.replace(cert_path)
    return fingerprint(cert_pem), True
