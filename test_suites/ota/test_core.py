"""The OTA verification core (firmware/ota), exhaustively on CPython: every check, every chunking, every
bit flip and truncation. The same code runs under MicroPython in test_mpy_verify.py."""

from __future__ import annotations

import os
import tarfile
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from firmware.ota import manifest as mf
from firmware.ota import rsapss
from firmware.ota.errors import OtaError
from firmware.ota.update import Update

from . import images

DEVICE = {"module": "smartmeter", "hw": 1, "abi": 6, "max_payload": 1 << 20, "free": 1 << 22, "floor": 0,
          "installed": None, "allow_downgrade": False}
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def good():
    return images.make()


class Slot:
    """A prepare() that records whether anything was written."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.calls = 0

    def __call__(self, upd: Update) -> str:
        self.calls += 1
        d = self.root / f"slot{self.calls}"
        d.mkdir(parents=True)
        return str(d)


def install(data: bytes, root: Path, device=None, chunk: int = 1024, trusted=None) -> tuple[str, Slot]:
    slot = Slot(root)
    u = Update(device or DEVICE, images.trusted() if trusted is None else trusted, slot, "py")
    for i in range(0, len(data), chunk):
        u.feed(data[i:i + chunk])
    return u.finish(), slot


def refused(data: bytes, root: Path, device=None, chunk: int = 997, trusted=None) -> tuple[OtaError, Slot]:
    slot = Slot(root)
    u = Update(device or DEVICE, images.trusted() if trusted is None else trusted, slot, "py")
    with pytest.raises(OtaError) as e:
        for i in range(0, len(data), chunk):
            u.feed(data[i:i + chunk])
        u.finish()
    return e.value, slot


def test_good_image_installs_its_runtime_files_only(good, tmp_path):
    ident, slot = install(good.to_bytes(), tmp_path)
    assert ident == good.identity and slot.calls == 1
    files = sorted(p.relative_to(tmp_path / "slot1").as_posix() for p in (tmp_path / "slot1").rglob("*.py"))
    assert files == ["firmware/m0.py", "firmware/m1.py", "firmware/m2.py"]
    assert not list((tmp_path / "slot1").rglob("*.mpy"))
    assert (tmp_path / "slot1/firmware/m1.py").read_bytes() == dict(images.members())["py/firmware/m1.py"]


@FAST
@given(chunk=st.integers(1, 9000))
def test_any_chunking_gives_the_same_install(good, tmp_path_factory, chunk):
    root = tmp_path_factory.mktemp("c")
    ident, _ = install(good.to_bytes(), root, chunk=chunk)
    assert ident == good.identity


@FAST
@given(pos=st.integers(0, mf.MANIFEST_LEN - 1), bit=st.integers(0, 7))
def test_bit_flip_in_manifest_refused_before_writing(good, tmp_path_factory, pos, bit):
    data = bytearray(good.to_bytes())
    data[pos] ^= 1 << bit
    e, slot = refused(bytes(data), tmp_path_factory.mktemp("m"))
    assert e.status in (400, 403, 409, 413, 507) and slot.calls == 0


@FAST
@given(pos=st.integers(mf.SECTOR, mf.SECTOR + 1215), bit=st.integers(0, 7))
def test_bit_flip_in_signature_block_refused_before_writing(good, tmp_path_factory, pos, bit):
    data = bytearray(good.to_bytes())
    data[pos] ^= 1 << bit
    e, slot = refused(bytes(data), tmp_path_factory.mktemp("s"))
    assert e.status == 403 and slot.calls == 0


@FAST
@given(pos=st.integers(0, 10**9), bit=st.integers(0, 7))
def test_bit_flip_in_payload_refused(good, tmp_path_factory, pos, bit):
    data = bytearray(good.to_bytes())
    pos = mf.HEAD_LEN + pos % len(good.payload)
    data[pos] ^= 1 << bit
    e, _ = refused(bytes(data), tmp_path_factory.mktemp("p"))
    assert e.status in (400, 403)


@FAST
@given(cut=st.integers(0, 10**9))
def test_truncated_upload_refused(good, tmp_path_factory, cut):
    data = good.to_bytes()
    data = data[:cut % len(data)]
    e, slot = refused(data, tmp_path_factory.mktemp("t"))
    assert e.status == 400 and "truncated" in e.message
    assert slot.calls == (1 if len(data) >= mf.HEAD_LEN else 0)


def test_padded_upload_refused(good, tmp_path):
    e, _ = refused(good.to_bytes() + b"\x00", tmp_path)
    assert e.status == 400 and "longer than its manifest" in e.message


def test_untrusted_and_unsigned_refused(good, tmp_path):
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    e, slot = refused(images.make(key=stranger).to_bytes(), tmp_path)
    assert e.status == 403 and "not trusted" in e.message and slot.calls == 0
    unsigned = good.manifest_sector + b"\xff" * mf.SECTOR + good.payload
    e, _ = refused(unsigned, tmp_path)
    assert e.status == 403 and "not signed" in e.message
    e, _ = refused(good.to_bytes(), tmp_path, trusted=[])
    assert e.status == 403


@pytest.mark.parametrize("image, device, status, words", [
    (dict(module="smartplug"), {}, 409, "image is for a smartplug, this is a smartmeter"),
    (dict(hw=(2, 3)), {}, 409, "hardware 2..3, this board is hardware 1"),
    (dict(abi=5), {}, 409, "bytecode ABI 5.0, this MicroPython loads 6"),
    (dict(), {"max_payload": 100}, 413, "a slot holds at most 100"),
    (dict(), {"free": 100}, 507, "only 100 bytes free"),
    (dict(counter=3), {"floor": 4}, 409, "security counter 3 is below this board's floor 4"),
    (dict(version=(1, 0, 0, 0)), {"installed": (1, 2, 0, 0)}, 409, "older than the running 1.2.0+0"),
])
def test_policy_refusals_before_any_write(tmp_path, image, device, status, words):
    e, slot = refused(images.make(**image).to_bytes(), tmp_path, {**DEVICE, **device})
    assert e.status == status and words in e.message and slot.calls == 0


def test_downgrade_with_flag_and_equal_counter_accepted(tmp_path):
    img = images.make(version=(1, 0, 0, 0), counter=4)
    ident, _ = install(img.to_bytes(), tmp_path, {**DEVICE, "installed": (1, 2, 0, 0), "floor": 4,
                                                  "allow_downgrade": True})
    assert ident == img.identity


@pytest.mark.parametrize("tar, words", [
    (images.evil_tar("py/../../boot.py"), "leaves its folder"),
    (images.evil_tar("/py/firmware/x.py"), "absolute path"),
    (images.evil_tar("py/firmware/x.py", tarfile.SYMTYPE, linkname="/etc/passwd"), "not a regular file"),
    (images.evil_tar("py/firmware/x.py", tarfile.LNKTYPE, linkname="py/a"), "not a regular file"),
])
def test_unsafe_payload_members_refused(tmp_path, tar, words):
    e, _ = refused(images.make(raw_payload=tar).to_bytes(), tmp_path)
    assert e.status == 400 and words in e.message
    assert not (tmp_path.parent / "boot.py").exists()


def test_payload_not_a_tar_refused(tmp_path):
    e, _ = refused(images.make(raw_payload=os.urandom(3000)).to_bytes(), tmp_path)
    assert e.status == 400 and "ustar" in e.message


@FAST
@given(msg=st.binary(min_size=0, max_size=64))
def test_rsapss_accepts_cryptography_signatures_and_rejects_others(msg):
    import hashlib

    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding, utils

    from hil.image import sbv2

    key = images.rig_key()
    digest = hashlib.sha256(msg).digest()
    sig = key.sign(digest, sbv2.PSS, utils.Prehashed(hashes.SHA256()))
    n = key.public_key().public_numbers().n
    assert rsapss.verify(n, 65537, sig, digest) is None
    other = hashlib.sha256(msg + b"!").digest()
    assert rsapss.verify(n, 65537, sig, other) is not None
    v15 = key.sign(digest, padding.PKCS1v15(), utils.Prehashed(hashes.SHA256()))
    assert rsapss.verify(n, 65537, v15, digest) is not None


PEAK_SCRIPT = """
import sys, tracemalloc
from firmware.ota.update import Update
data = open(sys.argv[1], 'rb').read()
trusted = [bytes.fromhex(sys.argv[2])]
device = {'module': 'smartmeter', 'hw': 1, 'abi': 6, 'max_payload': 1 << 20, 'free': 1 << 22, 'floor': 0,
          'installed': None, 'allow_downgrade': False}
view = memoryview(data)
tracemalloc.start()
base = tracemalloc.get_traced_memory()[0]
tracemalloc.reset_peak()
u = Update(device, trusted, lambda upd: sys.argv[3], 'py')
for i in range(0, len(data), 1024):
    u.feed(view[i:i + 1024])
u.finish()
print(tracemalloc.get_traced_memory()[1] - base)
"""


def test_streaming_peak_memory_is_bounded(tmp_path):
    """CPython's tracemalloc peak of a 400 KB install in 1 KiB chunks: the head buffer plus small change.

    Measured in a process of its own, so nothing else (a rig's threads) allocates meanwhile."""
    import subprocess
    import sys

    files = [(f"py/firmware/f{i}.py", os.urandom(20_000)) for i in range(20)]
    img = images.make(files=files)
    f = tmp_path / "image.bchfw"
    f.write_bytes(img.to_bytes())
    slot = tmp_path / "slot"
    slot.mkdir()
    r = subprocess.run([sys.executable, "-c", PEAK_SCRIPT, str(f), images.trusted()[0].hex(), str(slot)],
                       capture_output=True, text=True, timeout=120, cwd=Path(__file__).resolve().parents[2])
    assert r.returncode == 0, r.stderr
    peak = int(r.stdout.strip())
    print(f"update path peak on CPython: {peak} bytes for a {f.stat().st_size}-byte image")
    assert peak < 64 * 1024
