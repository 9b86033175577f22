"""The OTA verification core under the real MicroPython interpreter (WebAssembly port on Node.js).

Builds a real SmartMeter image, signs it with the rig key (and one with a stranger's key), then runs
test_suites/ota/mpy_verify.py under MicroPython: signature check, untrusted key, flipped signature, whole
streamed install in 1 KiB chunks with its heap, flipped payload. The time per image is the runner's.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from hil import mpy
from hil.image import build, keys

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]

pytestmark = pytest.mark.mpy


@pytest.fixture(scope="module")
def mpy_run(tmp_path_factory):
    try:
        mpy.node_binary()
    except mpy.MpyUnavailable as e:
        pytest.skip(str(e))
    d = tmp_path_factory.mktemp("ota_mpy")
    img = build.build(ROOT, build.BuildSpec("smartmeter"), commit=bytes(20))
    rig = keys.rig_key()
    good = img.signed(rig)
    (d / "good.bchfw").write_bytes(good.to_bytes())
    (d / "identity.txt").write_text(img.identity)
    (d / "trusted.txt").write_text(keys.digest_hex(rig))
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    (d / "untrusted.bchfw").write_bytes(img.signed(stranger).to_bytes()[:8192])
    flipped = bytearray(good.to_bytes())
    flipped[len(flipped) // 2] ^= 0x04
    (d / "flipped_payload.bchfw").write_bytes(bytes(flipped))
    shutil.copy(HERE / "mpy_verify.py", d / "test_ota_mpy.py")
    return mpy.run([d / "test_ota_mpy.py"], timeout=300)


def test_every_check_passes_under_micropython(mpy_run):
    assert not mpy_run.errors and not mpy_run.failures, mpy_run.report()
    names = {t.test for t in mpy_run.tests}
    assert {"test_signature_verifies", "test_untrusted_key_refused", "test_flipped_signature_refused",
            "test_whole_image_installs_in_bounded_heap", "test_flipped_payload_refused_at_the_end"} <= names


def test_signature_time_and_heap_are_reported(mpy_run):
    by = {t.test: t for t in mpy_run.tests}
    sig_ms = by["test_signature_verifies"].ms
    install = by["test_whole_image_installs"]
    held = by["test_whole_image_installs_in_bounded_heap"]
    alloc = int(held.output.split("OTA-ALLOC ")[1].split()[0])
    print(f"MicroPython {mpy_run.info.get('micropython')}: signature check {sig_ms:.1f} ms, whole image "
          f"streamed and installed {install.ms:.0f} ms, {alloc} bytes allocated in all while streaming")
    assert 0 < sig_ms < 5000
    assert 0 < alloc
