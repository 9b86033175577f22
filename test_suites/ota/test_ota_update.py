"""OTA on an emulated SmartMeter: an update through the page's form and one through the API, the code
that runs afterwards is the installed one, settings survive, every refusal leaves the board as it was.
Measurements: the update time (upload to confirmed) is printed and bounded."""

from __future__ import annotations

import asyncio
import json
import socket
import struct
import time
import zlib

import aiohttp
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from firmware.ota import manifest as mf

from . import rigkit
from .rigkit import auth_line, image, ota, post_raw, slot_files, wait_ota


async def _form(url: str, token: str, data: bytes, fields: dict[str, str] | None = None) -> tuple[int, dict]:
    form = aiohttp.FormData()
    for k, v in (fields or {}).items():
        form.add_field(k, v)
    form.add_field("update", data, filename="firmware.bin", content_type="application/octet-stream")
    auth = {"Authorization": f"Bearer {token}"}  # /update changes the module (docs/security.md)
    async with aiohttp.ClientSession() as s, s.post(url + "/update", data=form, headers=auth) as r:
        return r.status, await r.json(content_type=None)


def post_form(b, data: bytes, fields: dict[str, str] | None = None) -> tuple[int, dict]:
    """POST /update as the page's form does (multipart/form-data, file field "update"), with aiohttp and
    the rig user's token."""
    return asyncio.run(_form(b.base_url, b.token, data, fields))


@pytest.fixture(scope="module")
def meter(tmp_path_factory):
    b = rigkit.board(tmp_path_factory.mktemp("ota_meter"), networks={"Home": "secret-pw"}).start()
    yield b
    b.kill()


def test_form_then_api_update_runs_the_installed_code(meter, tmp_path):
    code, _ = meter.request("PUT", "/api/smartmeter/v1/settings", json.dumps({"stale_s": 77}),
                            {"Content-Type": "application/json"})[:2]
    assert code == 200
    code, _, body = meter.request("POST", "/wifisave", "ssid=Home&psk=secret-pw",
                                  {"Content-Type": "application/x-www-form-urlencoded"}, timeout=20)
    assert code == 200, body
    joined = rigkit.wait_ota(meter, lambda d: "<h2>States</h2>" in meter.get("/")[2].decode())
    assert joined["running"] == "factory"
    first = image(version=(1, 1, 0, 0), counter=2)
    t0 = time.monotonic()
    status, doc = post_form(meter, first.to_bytes())
    assert status == 200 and doc["identity"] == first.identity and doc["slot"] == "a", doc
    st = wait_ota(meter, lambda d: d["state"] == "confirmed" and d["running"] == "a")
    form_s = time.monotonic() - t0
    assert st["running_identity"] == first.identity and st["security_counter_floor"] == 2
    assert st["previous"] == "factory" and st["slots"]["a"]["version"] == "1.1.0+0"
    # the second image's code says 1.2.0 where the checkout says 1.0.0: the board must run the slot's code
    pay = rigkit.altered_payload(tmp_path, "smartmeter", {
        "firmware/apps/smartmeter/app.py": ("VERSION = '1.0.0'", "VERSION = '1.2.0'")})
    second = image(version=(1, 2, 0, 0), counter=3, payload=pay)
    t0 = time.monotonic()
    status, doc = post_raw(meter, second.to_bytes())
    assert status == 200 and doc["slot"] == "b", doc
    st = wait_ota(meter, lambda d: d["state"] == "confirmed" and d["running"] == "b")
    api_s = time.monotonic() - t0
    assert st["running_identity"] == second.identity and st["security_counter_floor"] == 3
    assert meter.get_json("/api")[1]["firmware_version"] == "1.2.0"
    assert (meter.flash / "app/b/firmware/apps/smartmeter/app.py").read_text().count("VERSION = '1.2.0'") == 1
    assert meter.get_json("/api/smartmeter/v1/settings")[1]["stale_s"] == 77   # settings survived two updates
    page = meter.get("/")[2].decode()  # the WiFi credentials survived too: the States page, not the portal
    assert 'action="/update"' in page and "slot b, 1.2.0+0" in page and "Security counter floor" in page
    print(f"update to confirmed: form {form_s:.1f} s, API {api_s:.1f} s (health check 2 s on the rig)")
    assert form_s < 30 and api_s < 30


def _refuse(meter, data: bytes, status: int | tuple[int, ...], words: str, query: str = "") -> None:
    before = ota(meter)
    files = slot_files(meter)
    got, doc = post_raw(meter, data, query)
    assert got in (status if isinstance(status, tuple) else (status,)) and words in doc["error"], (got, doc)
    after = ota(meter)
    assert slot_files(meter) == files                                   # nothing written, nothing removed
    assert after["refused"] == before["refused"] + 1 and words in after["last_error"]
    for k in ("running", "running_identity", "active", "pending", "state", "security_counter_floor", "slots"):
        assert after[k] == before[k], k
    assert meter.starts == 1 and "loader: boot" in meter.log_text() and meter.alive


def test_refusals_leave_the_board_as_it_was(meter):
    wait_ota(meter, lambda d: d["state"] == "confirmed")
    good = image(version=(1, 3, 0, 0), counter=3).to_bytes()
    _refuse(meter, image("smartplug", version=(1, 3, 0, 0), counter=3).to_bytes(), 409,
            "image is for a smartplug, this is a smartmeter")
    _refuse(meter, image(hw=(2, 3), version=(1, 3, 0, 0), counter=3).to_bytes(), 409,
            "hardware 2..3, this board is hardware 1")
    _refuse(meter, image(abi=0x305, version=(1, 3, 0, 0), counter=3).to_bytes(), 409, "bytecode ABI 5.3")
    _refuse(meter, good[:5000], 400, "image truncated: 5000 bytes came")
    _refuse(meter, good[:-100], 400, "image truncated")
    _refuse(meter, good + b"\0" * 10, 400, "longer than its manifest")
    for pos, words in ((30, "covers other data"), (60, "covers other data"),   # manifest: counter, hash
                       (mf.SECTOR + 500, "no valid block"),                        # block CRC fails
                       (mf.HEAD_LEN + 4000, "payload"), (len(good) - 2000, "payload")):
        flipped = bytearray(good)
        flipped[pos] ^= 0x01
        _refuse(meter, bytes(flipped), (400, 403), words)  # hash mismatch, or the archive breaks first
    # the same two flips with the block's CRC made right: the key digest, then the RSA check decide
    for pos, words in ((mf.SECTOR + 500, "not trusted"),
                       (mf.SECTOR + 1000, "signature block 0 (trusted key")):
        flipped = bytearray(good)
        flipped[pos] ^= 0x01
        blk = mf.SECTOR
        flipped[blk + 1196:blk + 1200] = struct.pack("<I", zlib.crc32(bytes(flipped[blk:blk + 1196])))
        _refuse(meter, bytes(flipped), 403, words)
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    _refuse(meter, image(version=(1, 3, 0, 0), counter=3, key=stranger).to_bytes(), 403, "not trusted")
    _refuse(meter, image(version=(1, 3, 0, 0), counter=3).to_bytes()[:mf.SECTOR] + b"\xff" * mf.SECTOR
            + good[mf.HEAD_LEN:], 403, "not signed")


def test_lying_content_length_and_stall(meter):
    good = image(version=(1, 3, 0, 0), counter=3).to_bytes()
    before = ota(meter)
    with socket.create_connection((meter.host, meter.port), timeout=30) as s:
        s.sendall(b"POST /update HTTP/1.0\r\nContent-Type: application/octet-stream\r\n" + auth_line(meter)
                  + b"Content-Length: %d\r\n\r\n" % (len(good) + 5000) + good[:20000])
        s.shutdown(socket.SHUT_WR)  # the body ends early: the Content-Length lied
        answer = s.makefile("rb").read()
    assert b" 400 " in answer.split(b"\r\n")[0] and b"image truncated" in answer
    with socket.create_connection((meter.host, meter.port), timeout=30) as s:
        s.sendall(b"POST /update HTTP/1.0\r\nContent-Type: application/octet-stream\r\n" + auth_line(meter)
                  + b"Content-Length: %d\r\n\r\n" % len(good) + good[:12000])
        answer = s.makefile("rb").read()  # the board gives up after --ota-stall-s 2 of silence
    assert b" 408 " in answer.split(b"\r\n")[0] and b"upload stalled" in answer
    after = ota(meter)
    assert after["running_identity"] == before["running_identity"]
    assert after["refused"] == before["refused"] + 2
    assert not after["busy"] and meter.starts == 1


def test_downgrade_replay_and_floor(meter):
    st = wait_ota(meter, lambda d: d["state"] == "confirmed")
    if st["running"] == "factory":  # this worker's board has not run the first test: install what it leaves
        status, doc = post_raw(meter, image(version=(1, 2, 0, 0), counter=3).to_bytes())
        assert status == 200, doc
        st = wait_ota(meter, lambda d: d["state"] == "confirmed" and d["running"] == doc["slot"])
    running = st["slots"][st["running"]]
    floor = st["security_counter_floor"]
    assert floor == 3 and running["version"] == "1.2.0+0"
    replay_pay = (meter.flash / "app").exists()
    assert replay_pay
    _refuse(meter, image(version=(1, 1, 0, 0), counter=3).to_bytes(), 409, "older than the running 1.2.0+0")
    _refuse(meter, image(version=(1, 9, 0, 0), counter=2).to_bytes(), 409, "below this board's floor 3")
    _refuse(meter, image(version=(1, 0, 0, 0), counter=2).to_bytes(), 409, "below this board's floor 3",
            "?allow_downgrade=1")
    older = image(version=(1, 1, 5, 0), counter=3)
    status, doc = post_form(meter, older.to_bytes(), {"allow_downgrade": "1"})
    assert status == 200, doc
    st = wait_ota(meter, lambda d: d["state"] == "confirmed" and d["running_identity"] == older.identity)
    assert st["security_counter_floor"] == 3
    _refuse(meter, older.to_bytes(), 409, "already installed")
