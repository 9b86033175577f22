"""A new image that raises at import, hangs, or fails its health check is rolled back by the loader within
its N trial boots (3), with the reason in /api/ota; the board runs its previous application afterwards.
Power cuts at each phase of an update leave a complete old or new application. Measured: boots and time
to the rollback."""

from __future__ import annotations

import socket
import time

import pytest

from firmware.ota import manifest as mf

from . import rigkit
from .rigkit import auth_line, image, ota, post_raw, wait_ota

APP = "firmware/apps/smartmeter/app.py"
WEB = "firmware/apps/common/web.py"
BROKEN = {
    "raises at import": ({APP: ("VERSION = '1.0.0'",
                                "VERSION = '1.0.0'\nraise RuntimeError('broken on purpose')")},
                         "raised RuntimeError"),
    "hangs": ({APP: ("VERSION = '1.0.0'", "VERSION = '1.0.0'\nwhile True:\n    pass")}, "watchdog reset"),
    "fails its health check": ({WEB: ("    async def index(request):\n", "    async def index(request):\n"
                                      "            raise RuntimeError('no page')\n")},
                               "web server answered GET / with 'HTTP/1.0 500"),
}


@pytest.fixture(scope="module")
def meter(tmp_path_factory):
    b = rigkit.board(tmp_path_factory.mktemp("ota_rollback"))
    b.start()
    yield b
    b.kill()


# The hang case runs on a board of its own with a short watchdog: each of its trial boots spins a core until
# the watchdog resets it, and no boot of that board but those hanging trials runs under the watchdog (the
# rollback's boot is not a trial), so the short timeout cannot reset a healthy boot however busy the host.
HANG_WDT_MS = 1000


@pytest.mark.parametrize("case", list(BROKEN))
def test_broken_image_rolls_back_with_the_reason(meter, tmp_path, case):
    if case != "hangs":
        _rolls_back(meter, tmp_path, case)
        return
    b = rigkit.board(tmp_path, extra=["--ota-wdt-ms", str(HANG_WDT_MS)]).start()
    try:
        _rolls_back(b, tmp_path, case)
        assert f"watchdog: not fed for {HANG_WDT_MS} ms" in b.log_text(), b.log_tail()
    finally:
        b.kill()


def _rolls_back(meter, tmp_path, case) -> None:
    edits, reason = BROKEN[case]
    before = wait_ota(meter, lambda d: d["state"] in ("confirmed", "rolled back") and not d["pending"])
    boots = meter.log_text().count("loader: boot")
    bad = image(version=(2, 0, 0, 0), counter=before["security_counter_floor"] or 1,
                payload=rigkit.altered_payload(tmp_path, "smartmeter", edits))
    t0 = time.monotonic()
    status, doc = post_raw(meter, bad.to_bytes())
    assert status == 200, doc
    st = wait_ota(meter, lambda d: d["state"] == "rolled back" and d["rolled_back_from"] == doc["slot"],
                  timeout=120)
    took = time.monotonic() - t0
    assert reason in st["reason"] and "failed 3 trial boots" in st["reason"], st["reason"]
    if case == "raises at import":  # the console has the whole exception; the state its type only
        assert "RuntimeError('broken on purpose')" in meter.log_text()
    assert st["running"] == before["running"] and st["running_identity"] == before["running_identity"]
    assert st["security_counter_floor"] == before["security_counter_floor"] and not st["trial"]
    trial_boots = meter.log_text().count("loader: boot") - boots
    assert trial_boots == 4, meter.log_tail()  # 3 trials + the boot that rolls back
    page = meter.get("/")[2].decode()
    print(f"{case}: rolled back after {trial_boots - 1} trial boots in {took:.1f} s")
    assert "Rolled back from" in page or st["state"] == "rolled back"


def _kill_when(b, pred) -> dict:
    st = wait_ota(b, pred)
    b.kill()
    b.start()
    return st


def test_power_cuts_at_every_phase(tmp_path):
    b = rigkit.board(tmp_path, extra=["--ota-health-s", "3"]).start()
    try:
        old = wait_ota(b, lambda d: d["state"] == "confirmed")
        new = image(version=(1, 5, 0, 0), counter=2)
        data = new.to_bytes()
        # 1. during the upload (head) and 2. during the payload write: the staging folder is dropped
        for cut in (mf.HEAD_LEN - 100, len(data) // 2):
            with socket.create_connection((b.host, b.port), timeout=30) as s:
                s.sendall(b"POST /update HTTP/1.0\r\nContent-Type: application/octet-stream\r\n"
                          + auth_line(b) + b"Content-Length: %d\r\n\r\n" % len(data) + data[:cut])
                wait_ota(b, lambda d, cut=cut: d["busy"] and d["progress"]["received"] >= min(cut, 8192))
                b.kill()
            b.start()
            st = ota(b)
            assert st["running_identity"] == old["running_identity"] and st["state"] == "confirmed"
            assert not list(b.flash.glob("app/*.new"))  # the partial staging folder was dropped at boot
        # 3. after the switch, before the reboot: the next boot is the trial
        status, doc = post_raw(b, data)
        assert status == 200
        b.kill()
        b.start()
        # 4. during the trial boot: the cut counts as a failed try, the next try confirms
        _kill_when(b, lambda d: d["trial"] and d["tries"] == 1)
        st = wait_ota(b, lambda d: d["state"] == "confirmed" and d["running_identity"] == new.identity)
        assert "trial 2 of 3" in b.log_text()
        # 5. right after confirming: the new application stays
        b.kill()
        b.start()
        st = ota(b)
        assert st["state"] == "confirmed" and st["running_identity"] == new.identity and not st["trial"]
        assert st["security_counter_floor"] == 2
    finally:
        b.kill()


def test_two_uploads_at_once(tmp_path):
    b = rigkit.board(tmp_path, extra=["--ota-stall-s", "60"]).start()
    try:
        data = image(version=(1, 6, 0, 0), counter=2).to_bytes()
        with socket.create_connection((b.host, b.port), timeout=60) as s:
            s.sendall(b"POST /update HTTP/1.0\r\nContent-Type: application/octet-stream\r\n" + auth_line(b)
                      + b"Content-Length: %d\r\n\r\n" % len(data) + data[:100_000])
            wait_ota(b, lambda d: d["busy"] and d["progress"]["received"] >= 100_000)
            status, doc = post_raw(b, data)
            assert status == 409 and "another update is in progress" in doc["error"]
            s.sendall(data[100_000:])
            answer = s.makefile("rb").read()
        assert b" 200 " in answer.split(b"\r\n")[0], answer[:300]
        wait_ota(b, lambda d: d["state"] == "confirmed" and d["running"] == "a")
    finally:
        b.kill()
