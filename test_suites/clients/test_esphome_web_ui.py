"""ESPHome's own web UI (the bundles of the esphome package: v3, today's default, and v2) in front of both
boards, in Debian's Chromium driven by Playwright. The bundle is served as the board's `/` (as the device
itself would serve it); everything else it asks for (/events, the REST actions) goes to the board."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from test_suites.apps.smartplug_rig import PLUG_NAME, relay_line, status, wait_for
from test_suites.clients.clients_rig import esphome_ui

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
PLUG_ROWS = ["Voltage", "Current", "Power", "Daily Energy", "Threshold ON", "Threshold OFF", "Interval",
             "Threshold ON +5 W", "Threshold ON -5 W", "Threshold OFF +5 W", "Threshold OFF -5 W",
             "Interval +1 min", "Interval -1 min", "SmartMeter Mode", "Relay", "SmartMeter Status",
             "Peak Guard", "Peak Guard Cap", "Peak Guard Priority", "Peak Guard Status",
             "Peak Guard Last Decision"]  # Peak Guard's rows (issue 14, docs/peak-guard.md)
METER_ROWS = ["Energy Consumed Tariff 1", "Energy Consumed Tariff 2", "Energy Produced Tariff 1",
              "Energy Produced Tariff 2", "Power Consumed", "Power Produced", "Electricity Failures",
              "Long Electricity Failures", "Voltage Phase 1", "Voltage Phase 2", "Voltage Phase 3",
              "Current Phase 1", "Current Phase 2", "Current Phase 3"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"needs Debian's chromium at {CHROMIUM}"),
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium for the module."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield b
        finally:
            b.close()


def open_ui(browser: Any, base_url: str, version: int) -> Any:
    """A page showing ESPHome's UI `version` as the board's own `/`."""
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    html = esphome_ui(version)
    page.route(base_url + "/", lambda route: route.fulfill(status=200, body=html,
                                                           content_type="text/html; charset=UTF-8"))
    page.goto(base_url + "/")
    page.errors = errors
    return page


def v3_rows(page: Any) -> Any:
    return page.locator("esp-entity-table .entity-row")


def v3_state(page: Any, name: str) -> Any:
    """The state cell of the v3 row called name."""
    return v3_rows(page).filter(has=page.locator("div:text-is('%s')" % name)).locator("> div").nth(2)


def test_v3_shows_the_plug_live_and_switches_it_after_a_login(plug, browser) -> None:
    """ESPHome's UI posts its actions as same-origin fetches without a token or custom header: without a
    login its lever is refused (401) and the relay stays; after the page's one-time login (the button on
    the module, then Log in: a SameSite=Strict session cookie) the same clicks switch the relay, because
    the browser's Origin header proves the request comes from the module's own origin (docs/security.md).
    A user's switch (a token) shows in the UI live, from /events."""
    from playwright.sync_api import expect

    board, _ = plug
    gpio = relay_line(board)
    wait_for(lambda: status(board)["power_mw"], lambda v: v == 311300, 10, "Power", board)
    page = open_ui(browser, board.base_url, 3)
    try:
        expect(v3_rows(page)).to_have_count(len(PLUG_ROWS))
        expect(page.locator("esp-app h1")).to_have_text(PLUG_NAME)            # the title from the first ping
        names = [t.strip() for t in v3_rows(page).locator("> div:nth-child(2)").all_text_contents()]
        assert names == PLUG_ROWS                                             # the page's order, with names
        expect(v3_state(page, "Power")).to_have_text("311.3 W")
        expect(v3_state(page, "Voltage")).to_have_text("237.0 V")
        expect(v3_state(page, "SmartMeter Status")).to_have_text("Disconnected")
        row = v3_rows(page).filter(has=page.locator("div:text-is('Relay')"))
        relay, lever = row.locator("esp-switch input"), row.locator("esp-switch .lever")
        expect(relay).not_to_be_checked()
        assert status(board)["relay"] is False
        refused = status(board)["auth"]["unauthorized"]
        with page.expect_response(lambda r: "/switch/" in r.url and r.request.method == "POST") as answer:
            lever.click()                             # the user clicks the switch's lever, not logged in...
        assert answer.value.status == 401             # ...no user: refused, nothing changes
        assert status(board)["auth"]["unauthorized"] == refused + 1
        assert gpio.read("relay") == 0 and status(board)["relay"] is False
        # a user's switch (the rig's token): the UI follows, live
        assert board.request("POST", "/switch/relay/turn_on")[0] == 200
        gpio.wait_for("relay", 1, 5)
        expect(relay).to_be_checked()
        assert board.request("POST", "/switch/relay/turn_off")[0] == 200
        gpio.wait_for("relay", 0, 5)
        expect(relay).not_to_be_checked()
        # the page's one-time login, as a user does it: the button on the module, then Log in
        board.press_button()
        page.goto(board.base_url + "/login")
        page.locator("#login").click()
        page.wait_for_url(board.base_url + "/")       # back to `/`: ESPHome's UI, now with the session
        expect(v3_rows(page)).to_have_count(len(PLUG_ROWS))
        row = v3_rows(page).filter(has=page.locator("div:text-is('Relay')"))
        relay, lever = row.locator("esp-switch input"), row.locator("esp-switch .lever")
        expect(relay).not_to_be_checked()
        for want in (1, 0):
            with page.expect_response(lambda r: "/switch/" in r.url and r.request.method == "POST") as answer:
                lever.click()                         # ESPHome's own request, with the browser's Origin
            assert answer.value.status == 200
            assert answer.value.request.header_value("x-requested-with") is None   # no custom header
            gpio.wait_for("relay", want, 5)           # the device switched
            assert status(board)["relay"] is bool(want)
            (expect(relay).to_be_checked if want else expect(relay).not_to_be_checked)()
        assert status(board)["auth"]["unauthorized"] == refused + 1
        assert page.errors == []
    finally:
        page.close()


def test_v3_shows_the_meter_live(meter, browser) -> None:
    from playwright.sync_api import expect

    page = open_ui(browser, meter.board.base_url, 3)
    try:
        expect(v3_rows(page)).to_have_count(len(METER_ROWS))
        names = [t.strip() for t in v3_rows(page).locator("> div:nth-child(2)").all_text_contents()]
        assert names == METER_ROWS
        expect(page.locator("esp-app h1")).to_have_text("smartmeter")
        expect(v3_state(page, "Power Consumed")).to_have_text("2.673 kW")
        t2 = v3_state(page, "Energy Consumed Tariff 2")
        first = t2.text_content()
        assert first is not None and first.endswith(" kWh")
        expect(t2).not_to_have_text(first, timeout=10_000)        # night tariff: T2 advances, live
        assert page.errors == []
    finally:
        page.close()


def test_v2_names_every_row(plug, browser) -> None:
    from playwright.sync_api import expect

    board, _ = plug
    page = open_ui(browser, board.base_url, 2)
    try:
        rows = page.locator("esp-entity-table tbody tr")
        expect(rows).to_have_count(len(PLUG_ROWS))
        names = [t.strip() for t in rows.locator("td:first-child").all_text_contents()]
        assert sorted(names) == sorted(PLUG_ROWS) and "" not in names   # v2 sorts by name
        assert page.errors == []
    finally:
        page.close()
