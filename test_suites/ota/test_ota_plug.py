"""OTA on an emulated SmartPlug: the relay line keeps its level through the update's reboot, the trial
boots and a rollback (the plug's restore rule: it comes back as it was, the line never moves), and the
plug's settings survive both."""

from __future__ import annotations

import json

from test_suites.apps.smartplug_rig import LineWatcher, relay_line

from . import rigkit
from .rigkit import image, post_raw, wait_ota

APP = "firmware/apps/smartplug/app.py"


def test_relay_holds_through_update_and_rollback(tmp_path):
    b = rigkit.board(tmp_path, "smartplug").start()
    try:
        code, _, body = b.request("POST", "/switch/relay/turn_on")
        assert code == 200, body
        code, settings = b.get_json("/api/smartplug/v1/settings")
        assert code == 200
        gpio = relay_line(b)
        assert gpio.read("relay") == 1
        watch = LineWatcher(gpio, "relay")
        good = image("smartplug", version=(1, 1, 0, 0), counter=2)
        status, doc = post_raw(b, good.to_bytes())
        assert status == 200, doc
        wait_ota(b, lambda d: d["state"] == "confirmed" and d["running_identity"] == good.identity)
        broken = {APP: ("import asyncio\n", "import asyncio\nraise ImportError('broken')\n")}
        bad = image("smartplug", version=(1, 2, 0, 0), counter=2,
                    payload=rigkit.altered_payload(tmp_path, "smartplug", broken))
        status, doc = post_raw(b, bad.to_bytes())
        assert status == 200, doc
        st = wait_ota(b, lambda d: d["state"] == "rolled back", timeout=120)
        assert st["running_identity"] == good.identity and "raised ImportError" in st["reason"]
        seen = watch.stop()
        assert seen == [1], seen                       # the line never dropped: no appliance switched
        assert json.loads(b.get("/switch/relay")[2])["value"] is True
        assert b.get_json("/api/smartplug/v1/settings")[1] == settings
    finally:
        b.kill()
