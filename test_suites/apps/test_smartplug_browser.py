"""The SmartPlug's page in a real browser: headless Chromium (Debian's) driven by Playwright loads it, presses
Relay Toggle and a threshold button, and sees both the page (live, through /events) and the device change."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from smartplug_rig import PLUG_NAME, plug_board, relay_line, status, wait_for

from hil.board_process import BoardProcess

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"needs Debian's chromium at {CHROMIUM}"),
]


@pytest.fixture
def board(tmp_path: Path) -> Iterator[BoardProcess]:
    """A started plug (no chip wired: Voltage, Current and Power stay empty)."""
    b = plug_board(tmp_path)
    with b:
        b.start()
        yield b


def test_page_buttons_switch_the_relay_and_step_the_threshold(board: BoardProcess) -> None:
    from playwright.sync_api import expect, sync_playwright

    gpio = relay_line(board)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page()
            # the one-time login (docs/security.md): the button on the module, then Log in on the page
            board.press_button()
            page.goto(board.base_url + "/login")
            page.locator("#login").click()
            page.wait_for_url(board.base_url + "/")
            assert page.title() == f"{PLUG_NAME} Web Server"
            expect(page.locator("h1")).to_have_text(f"{PLUG_NAME} Web Server")
            names = page.locator("#states tbody tr td:first-child").all_text_contents()
            assert names == ["Voltage", "Current", "Power", "Daily Energy", "Threshold ON", "Threshold OFF",
                             "Interval", "Threshold ON +5 W", "Threshold ON -5 W", "Threshold OFF +5 W",
                             "Threshold OFF -5 W", "Interval +1 min", "Interval -1 min", "SmartMeter Mode",
                             "Relay", "SmartMeter Status",
                             # Peak Guard's rows after the manual's (docs/peak-guard.md)
                             "Peak Guard", "Peak Guard Cap", "Peak Guard Priority", "Peak Guard Status",
                             "Peak Guard Last Decision"]
            relay_state = page.locator("#switch-relay td").nth(1)
            expect(relay_state).to_have_text("OFF")
            expect(page.locator("#sensor-voltage td").nth(1)).to_have_text("")   # nothing measured
            expect(page.locator("#text_sensor-smartmeter_status td").nth(1)).to_have_text("Disconnected")
            expect(page.locator("#switch-threshold_on__5_w td").nth(1)).to_have_text("OFF")
            expect(page.locator("#warnings")).to_have_text("")

            page.locator("#switch-relay button").click()
            expect(relay_state).to_have_text("ON")               # the page, live from /events
            gpio.wait_for("relay", 1, 5)                           # the device
            assert status(board)["relay"] is True

            page.locator("#switch-threshold_on__5_w button").click()
            expect(page.locator("#sensor-threshold_on td").nth(1)).to_have_text("0.630 kWh")
            wait_for(lambda: status(board)["settings"]["on_wh"], lambda v: v == 630, 5, "Threshold ON", board)
            # ON (0.630) is now above OFF (0.625): the page warns
            warning = "Threshold ON (0.630 kWh) is above Threshold OFF (0.625 kWh)"
            expect(page.locator("#warnings")).to_contain_text(warning)
            expect(page.locator("#switch-threshold_on__5_w td").nth(1)).to_have_text("OFF")  # it acts once

            page.locator("#switch-relay button").click()
            expect(relay_state).to_have_text("OFF")
            gpio.wait_for("relay", 0, 5)
            # a fresh load shows the same as the live page
            page.reload()
            expect(page.locator("#sensor-threshold_on td").nth(1)).to_have_text("0.630 kWh")
            expect(relay_state).to_have_text("OFF")
        finally:
            browser.close()
