"""Signing keys: RSA-3072 keys made and read with `cryptography`; the rig's test key in an ignored folder.

Keys are never committed: `hil image keygen FILE` makes a release key wherever its owner keeps it; the rig
test key (`.keys/rig-test.pem` at the repository root, ignored by git) is made on first use, and every
emulated board of the rig trusts it, so the rig can install the very bytes it certifies.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from .sbv2 import KEY_BITS, key_digest

ROOT = Path(__file__).resolve().parents[2]
RIG_KEY = ROOT / ".keys" / "rig-test.pem"


def generate(path: Path) -> rsa.RSAPrivateKey:
    """Write a new RSA-3072 private key (PEM, mode 0600) to path and return it; refuse to overwrite."""
    if path.exists():
        raise FileExistsError(f"{path} exists: refusing to overwrite a signing key")
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    try:
        os.link(tmp, path)  # atomic, and fails if another process made the key first
    except FileExistsError:
        raise FileExistsError(f"{path} exists: refusing to overwrite a signing key") from None
    finally:
        tmp.unlink()
    return key


def load_private(path: Path) -> rsa.RSAPrivateKey:
    """Read a PEM private key; ValueError says what the file holds if it is not RSA-3072."""
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey) or key.key_size != KEY_BITS:
        raise ValueError(f"{path}: expected an RSA-{KEY_BITS} private key, found {type(key).__name__}")
    return key


def public_pem(key: rsa.RSAPrivateKey) -> bytes:
    """Return the public key as PEM (what `espsecure verify-signature` reads)."""
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)


def rig_key(path: Path = RIG_KEY) -> rsa.RSAPrivateKey:
    """Return the rig test key, making it on first use (safe when several processes race)."""
    if not path.exists():
        try:
            return generate(path)
        except FileExistsError:
            pass
    return load_private(path)


def digest_hex(key: rsa.RSAPrivateKey) -> str:
    """Return the hex key digest a board lists in ota/trusted_keys."""
    return key_digest(key.public_key()).hex()
