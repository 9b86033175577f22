"""The SmartMeter's page in a real browser: headless Chromium (Debian's) driven by Playwright loads it,
sees the manual's States rows with the meter's values, and sees them change live through /events."""

from __future__ import annotations

from pathlib import Path

import pytest
from smartmeter_rig import MeterRig, wait_for
from test_smartmeter import MANUAL_NAMES

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"needs Debian's chromium at {CHROMIUM}"),
]


def test_browser_sees_the_states_and_their_live_changes(tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    with MeterRig(tmp_path, extra=["--stale-s", "2"]) as rig:
        rig.start()
        wait_for(lambda: rig.status()["fresh"], 5, "a fresh reading")
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            try:
                page = browser.new_page()
                page.goto(rig.board.base_url + "/")
                expect(page).to_have_title("smartmeter Web Server")
                expect(page.locator("h1")).to_have_text("smartmeter Web Server")
                names = page.locator("#states tbody tr td:first-child").all_inner_texts()
                assert names == MANUAL_NAMES
                cell = page.locator("#sensor-energy_consumed_tariff_2 td").nth(1)
                first = cell.inner_text()
                assert first.endswith(" kWh")
                expect(page.locator("#sensor-power_consumed td").nth(1)).to_have_text("2.673 kW")
                expect(page.locator("#sensor-electricity_failures td").nth(1)).to_have_text("")
                # the meter's night register advances 0.74 Wh a second: the page follows without reloading
                expect(cell).not_to_have_text(first, timeout=5000)
                later = float(cell.inner_text().split()[0])
                assert later > float(first.split()[0])
                code, body = rig.board.get_json("/sensor/energy_consumed_tariff_2")
                assert abs(body["value"] - later) < 0.003
                # the cable is pulled: the live page empties the rows without a reload
                rig.pull_cable(5)
                expect(page.locator("#sensor-power_consumed td").nth(1)).to_have_text("", timeout=6000)
                expect(cell).to_have_text("")
                assert page.locator("form[action='/update'] input[type=file]").count() == 1
            finally:
                browser.close()
