"""A real browser on a hostile LAN: Debian's Chromium (Playwright, headless), logged in to the plug, opens
a page of another origin that tries every state change the modules have (simple requests, preflighted
ones, forms, images, beacons), and a DNS-rebinding page that runs at the plug's own address under a
foreign name. Nothing changes on the plug and neither page can read its status, also while the plug's
"Local API v1" is on (then the v1 writes need no token, but only as JSON). Loopback only."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from smartplug_rig import relay_line, status

from hil.board_process import BoardProcess

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run",
        "--host-resolver-rules=MAP rebind.test 127.0.0.1"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"needs Debian's chromium at {CHROMIUM}"),
]

# Every state change of both modules, as a page of another origin would try it. Paths are relative to
# the target; each attempt records what the browser let the page see.
ATTACK_JS = r"""
async function attack(T) {
  const out = {};
  const posts = ['/switch/relay/toggle', '/switch/relay/turn_on', '/switch/smartmeter_mode/turn_on',
    '/switch/threshold_on_-5_w/toggle', '/button/threshold_off__5_w/press',
    '/number/threshold_on/set?value=-9.999', '/number/interval/set?value=60', '/api/user', '/login'];
  for (const p of posts) {
    try {
      await fetch(T + p, {method: 'POST', mode: 'no-cors', credentials: 'include'});
      out['simple ' + p] = 'sent';
    } catch (e) { out['simple ' + p] = 'error'; }
    try { await fetch(T + p, {method: 'POST', credentials: 'include', headers: {'X-Requested-With': 'x'}});
          out['preflight ' + p] = 'answered'; }
    catch (e) { out['preflight ' + p] = 'blocked'; }
    navigator.sendBeacon(T + p, 'value=1');
  }
  const puts = [['/api/v1/state', {power_on: true, switch_lock: true}],
    ['/api/smartplug/v1/settings', {on_wh: -9999, mode: true}],
    ['/api/smartplug/v1/meter', {address: '127.0.0.1:9'}],
    ['/api/smartmeter/v1/settings', {stale_s: 600}], ['/api/v1/system', {cloud_enabled: false}],
    ['/api/v1/identify', {}], ['/api/v1/local_api', {enabled: false}]];
  for (const [p, b] of puts) {
    try {
      await fetch(T + p, {method: 'PUT', credentials: 'include', body: JSON.stringify(b),
                          headers: {'Content-Type': 'application/json'}});
      out['put ' + p] = 'answered';
    } catch (e) { out['put ' + p] = 'blocked'; }
    try { await fetch(T + p, {method: 'POST', mode: 'no-cors', credentials: 'include',
                              body: JSON.stringify(b), headers: {'Content-Type': 'text/plain'}}); }
    catch (e) {}
    // a no-cors fetch may not set a JSON type: the browser drops it (the body goes as text/plain)
    try { await fetch(T + p, {method: 'POST', mode: 'no-cors', credentials: 'include',
                              body: JSON.stringify(b), headers: {'Content-Type': 'application/json'}}); }
    catch (e) {}
  }
  // forms: the classic CSRF, posted into an iframe
  for (const [p, fields] of [['/wifisave', {ssid: 'Evil', psk: 'evil-password'}],
                             ['/switch/relay/toggle', {a: '1'}], ['/api/v1/state', {power_on: 'true'}]]) {
    const f = document.createElement('form'); f.method = 'POST'; f.action = T + p; f.target = 'sink';
    for (const k in fields) {
      const i = document.createElement('input'); i.name = k; i.value = fields[k]; f.appendChild(i);
    }
    document.body.appendChild(f); f.submit();
    await new Promise(r => setTimeout(r, 300));
  }
  const img = new Image(); img.src = T + '/wifisave?ssid=Evil&psk=evil-password';
  await new Promise(r => { img.onerror = img.onload = r; });
  try {
    const r = await fetch(T + '/api/smartplug/v1/status', {credentials: 'include'});
    out.read = await r.text();
  } catch (e) { out.read = 'blocked'; }
  return out;
}
"""

PAGE = ("<!DOCTYPE html><html><body><iframe name=sink></iframe><script>" + ATTACK_JS +
        "</script></body></html>")


class Attacker(BaseHTTPRequestHandler):
    """Serves the attacking page (another origin: another port on loopback)."""

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        """The page."""
        body = PAGE.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        """Quiet."""


@pytest.fixture
def attacker() -> Iterator[str]:
    """The attacker's origin, http://127.0.0.1:PORT."""
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Attacker)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


def plug_state(plug: BoardProcess) -> tuple[Any, ...]:
    """What any of the attacks would change."""
    st = status(plug)
    return (relay_line(plug).read("relay"), st["relay"], st["settings"], st["switch_lock"],
            plug.get_json("/api/smartplug/v1/meter")[1], (plug.flash / "wifi.json").read_text(),
            sorted(json.loads((plug.flash / "auth.json").read_text())["users"]),
            plug.get_json("/api/v1/local_api")[1], plug.get_json("/api/v1/state")[1])


LOCAL_API = pytest.mark.parametrize("local_api", [False, True], ids=["local-api-off", "local-api-on"])


def set_local_api(plug: BoardProcess, on: bool) -> None:
    """The user's "Local API v1" setting (docs/security.md)."""
    assert plug.put_json("/api/v1/local_api", {"enabled": on}) == (200, {"enabled": on})


@LOCAL_API
def test_cross_origin_page_cannot_change_or_read_the_plug(plug: BoardProcess, attacker: str,
                                                          local_api: bool) -> None:
    from playwright.sync_api import sync_playwright

    set_local_api(plug, local_api)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page()
            plug.press_button()          # the victim logged in to the plug's page once: a session cookie
            page.goto(plug.base_url + "/login")
            page.locator("#login").click()
            page.wait_for_url(plug.base_url + "/")
            before = plug_state(plug)
            # ... and now opens the attacker's page (during the same 30 s after the button press, too)
            page.goto(attacker + "/")
            out = page.evaluate(f"attack({json.dumps(plug.base_url)})")
        finally:
            browser.close()
    assert plug_state(plug) == before
    assert out["read"] == "blocked"
    assert all(v == "blocked" for k, v in out.items() if k.startswith(("preflight", "put")))
    auth = status(plug)
    assert auth["relay"] is False and auth["settings"]["mode"] is False


@LOCAL_API
def test_dns_rebinding_page_is_refused(plug: BoardProcess, local_api: bool) -> None:
    from playwright.sync_api import Route, sync_playwright

    set_local_api(plug, local_api)
    rebound = f"http://rebind.test:{plug.port}"
    # Chromium's own Private Network Access checks would stop this page before the plug sees it; they are
    # switched off here (older and other browsers have none): the plug must refuse it by itself
    no_pna = ["--disable-features=BlockInsecurePrivateNetworkRequests,PrivateNetworkAccessSendPreflights,"
              "PrivateNetworkAccessRespectPreflightResults,LocalNetworkAccessChecks"]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS + no_pna)
        try:
            page = browser.new_page()
            before = plug_state(plug)

            def serve_attack(route: Route) -> None:
                route.fulfill(status=200, content_type="text/html", body=PAGE)

            # the attacker's page came from rebind.test:PORT; DNS now says rebind.test is the plug
            page.route(rebound + "/attack.html", serve_attack)
            page.goto(rebound + "/attack.html")
            out = page.evaluate("attack('')")          # same origin now: the browser allows everything
        finally:
            browser.close()
    assert plug_state(plug) == before
    assert "DNS rebinding" in out["read"]              # the plug answered 421, not its status
    assert "relay" not in out["read"]


def test_the_page_switches_local_api_only_after_a_login(plug: BoardProcess) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page()
            page.goto(plug.base_url + "/")
            state = page.locator("#local_api_state")
            expect(state).to_have_text("OFF")
            page.locator("#local_api_toggle").click()           # no login yet: the page goes to /login
            page.wait_for_url(plug.base_url + "/login")
            assert plug.get_json("/api/v1/local_api")[1] == {"enabled": False}
            plug.press_button()
            page.locator("#login").click()
            page.wait_for_url(plug.base_url + "/")
            page.locator("#local_api_toggle").click()
            expect(state).to_have_text("ON")
            assert plug.get_json("/api/v1/local_api")[1] == {"enabled": True}
            page.reload()
            expect(page.locator("#local_api_state")).to_have_text("ON")   # persisted, shown as it is
        finally:
            browser.close()
