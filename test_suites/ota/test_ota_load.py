"""An update while the P1 line streams and 50 clients poll: the upload goes through, every client keeps
getting answers, no answer is cut in half by the reboot, and the SmartMeter loses no more telegrams than
the reboot takes. Measured: update time, failed polls, telegrams lost against the reboot's length.

Each client polls every POLL_S (staggered), as dashboards and Home Assistant do: 50 clients firing
back-to-back would hold more connections than the ESP32's socket budget (12, docs/security.md), and a
real device closes the ones beyond it (lwIP's accept finds no free socket), so that load says nothing
about the update. When the host is slow the board is slow, the budget fills anyway and the board closes
connections without an answer, as the device would: such a poll counts as failed (how many depends on
the host, so it is printed, not bounded), and the uploader sends again, as a browser's user would. What
may never happen at any speed is an error status, a cut answer, or a lost upload."""

from __future__ import annotations

import http.client
import json
import threading
import time
import urllib.error
import urllib.request

from test_suites.apps.smartmeter_rig import MeterRig

from . import rigkit
from .rigkit import image, post_raw, wait_ota

CLIENTS = 50
POLL_S = 0.5   # each client's period: 100 requests a second in all


def test_update_under_p1_and_50_polling_clients(tmp_path):
    rig = MeterRig(tmp_path, extra=rigkit.FAST_OTA)
    (rig.flash / "ota").mkdir(parents=True, exist_ok=True)
    (rig.flash / "ota" / "trusted_keys").write_text(rigkit.images.trusted()[0].hex() + "\n")
    with rig.start():
        b = rig.board
        rig.writer.wait_sent(3, 30)
        stop = threading.Event()
        answered = [0] * CLIENTS
        failed = [0] * CLIENTS
        cut: list[str] = []             # answers the reboot cut: a status line with half a response
        errors: list[str] = []          # answers with an error status
        boots: list[int] = []          # the telegram counter per boot (it restarts with the board)
        down: list[float] = []          # host seconds the status poller saw no answer

        def client(i: int) -> None:
            stop.wait(POLL_S * i / CLIENTS)            # staggered: the clients do not poll in step
            while not stop.is_set():
                try:
                    with urllib.request.urlopen(b.base_url + "/api/v1/data", timeout=10) as r:
                        body = r.read()
                    json.loads(body)
                    answered[i] += 1
                except (http.client.IncompleteRead, ValueError) as e:
                    cut.append(f"client {i}: {e!r}")
                except urllib.error.HTTPError as e:
                    errors.append(f"client {i}: {e.code} {e.read()[:100]!r}")
                except OSError:
                    failed[i] += 1
                stop.wait(POLL_S)

        def status() -> None:
            last = -1
            gone = None
            while not stop.is_set():
                try:
                    with urllib.request.urlopen(b.base_url + "/api/status", timeout=10) as r:
                        seq = json.loads(r.read())["telegrams"]
                    if gone is not None:
                        down.append(time.monotonic() - gone)
                        gone = None
                    if seq < last:
                        boots.append(last)
                    last = seq
                except (http.client.IncompleteRead, ValueError) as e:
                    cut.append(f"status: {e!r}")
                except OSError:
                    gone = gone or time.monotonic()
                stop.wait(0.05)
            boots.append(last)

        threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(CLIENTS)]
        threads.append(threading.Thread(target=status, daemon=True))
        sent_before = len(rig.writer.sent)
        for t in threads:
            t.start()
        new = image(version=(1, 1, 0, 0), counter=2)
        t0 = time.monotonic()
        refused = 0
        while True:
            try:
                status_code, doc = post_raw(b, new.to_bytes(), timeout=120)
                break
            except (ConnectionResetError, BrokenPipeError, http.client.RemoteDisconnected):
                refused += 1   # closed before any answer: the board had no free socket
                assert refused < 20, "the upload found no free socket 20 times in a row"
        assert status_code == 200, doc
        upload_s = time.monotonic() - t0
        st = wait_ota(b, lambda d: d["state"] == "confirmed" and d["running_identity"] == new.identity)
        update_s = time.monotonic() - t0
        rig.writer.wait_sent(len(rig.writer.sent) + 3, 30)
        stop.set()
        for t in threads:
            t.join(30)
        sent = len(rig.writer.sent) - sent_before
        taken = sum(boots)
        reboot_s = sum(down)
        lost = sent - taken
        print(f"update under load: upload {upload_s:.1f} s, confirmed after {update_s:.1f} s; "
              f"{sum(answered)} polls answered, {sum(failed)} failed (reboot {reboot_s:.1f} s); "
              f"upload sent {refused + 1} times; "
              f"telegrams sent {sent}, taken {taken}, lost {lost}")
        assert st["security_counter_floor"] == 2 and len(boots) >= 2
        assert all(a >= 2 for a in answered), answered
        assert not cut, f"{len(cut)} answers cut by the reboot: {cut[:5]}\n{b.log_tail(30)}"
        assert not errors, f"{len(errors)} polls answered with an error: {errors[:5]}\n{b.log_tail(30)}"
        period = rig.source.period_s if rig.source.period_s else 1.0
        assert lost <= reboot_s / period + 3, (lost, reboot_s)
