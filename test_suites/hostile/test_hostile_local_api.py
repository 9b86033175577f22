""""Local API v1" (docs/security.md): off by default, every HomeWizard v1 write needs a token; only a user
switches it on; while on, the v1 writes (PUT /api/v1/state, /identify, /system) need no token but only as
JSON (a Content-Type no browser sends cross-site without a preflight the module refuses), still behind the
Host allow-list and the Origin check; everything else keeps needing a token. The setting persists."""

from __future__ import annotations

import json

from smartplug_rig import relay_line, status

from hil.board_process import BoardProcess

JSON = {"Content-Type": "application/json"}
V1_WRITES = [("/api/v1/state", {"power_on": True}), ("/api/v1/identify", None),
             ("/api/v1/system", {"cloud_enabled": False})]


def plug_state(plug: BoardProcess) -> tuple[object, ...]:
    """What a v1 write could change: the relay line, the relay, the lock, the brightness, the setting."""
    st = status(plug)
    return (relay_line(plug).read("relay"), st["relay"], st["switch_lock"], plug.get_json("/api/v1/state")[1],
            plug.get_json("/api/v1/local_api")[1])


def put(plug: BoardProcess, path: str, body: object, headers: dict[str, str] | None = None,
        auth: bool = False) -> tuple[int, bytes]:
    """PUT path without the rig's token (unless auth), with body as JSON text (None: no body)."""
    code, _, answer = plug.request("PUT", path, None if body is None else json.dumps(body),
                                   dict(JSON if headers is None else headers), auth=auth)
    return code, answer


def test_off_by_default_every_v1_write_needs_a_token(plug: BoardProcess) -> None:
    assert plug.get_json("/api/v1/local_api") == (200, {"enabled": False})
    before = plug_state(plug)
    for path, body in V1_WRITES:
        code, answer = put(plug, path, body)
        assert code == 401 and b"Authorization: Bearer" in answer, (path, code, answer)
    assert plug_state(plug) == before
    # only a user switches it on: no token, a guessed one, a foreign page with the token: nothing changes
    assert put(plug, "/api/v1/local_api", {"enabled": True})[0] == 401
    guessed = {**JSON, "Authorization": "Bearer " + "0" * 32}
    assert put(plug, "/api/v1/local_api", {"enabled": True}, guessed)[0] == 401
    assert put(plug, "/api/v1/local_api", {"enabled": True}, {**JSON, "Origin": "http://attacker.example"},
               auth=True)[0] == 403
    assert put(plug, "/api/v1/local_api", {"enabled": "yes"}, auth=True)[0] == 400
    assert plug_state(plug) == before and not (plug.flash / "local_api.json").exists()


def test_on_the_v1_writes_need_no_token_but_only_as_json_from_no_foreign_page(plug: BoardProcess) -> None:
    assert plug.put_json("/api/v1/local_api", {"enabled": True}) == (200, {"enabled": True})
    assert json.loads((plug.flash / "local_api.json").read_text()) == {"enabled": True}
    code, answer = put(plug, "/api/v1/state", {"power_on": True})
    assert code == 200 and json.loads(answer) == {"power_on": True}, answer
    assert relay_line(plug).read("relay") == 1
    assert put(plug, "/api/v1/identify", None) == (200, b'{"identify":"ok"}')
    assert put(plug, "/api/v1/system", {"cloud_enabled": False})[0] == 200
    before = plug_state(plug)
    off = {"power_on": False}
    # a simple request (what a cross-site form, beacon or no-cors fetch can send): not JSON, refused
    for ctype in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"):
        code, answer = put(plug, "/api/v1/state", off, {"Content-Type": ctype})
        assert code == 401 and b"application/json" in answer, (ctype, code, answer)
    assert put(plug, "/api/v1/state", off, {})[0] == 401
    # a page of another origin, a DNS-rebinding name: refused before anything else
    assert put(plug, "/api/v1/state", off, {**JSON, "Origin": "http://attacker.example"})[0] == 403
    assert put(plug, "/api/v1/state", off, {**JSON, "Origin": "null"})[0] == 403
    assert put(plug, "/api/v1/state", off, {**JSON, "Host": f"attacker.example:{plug.port}"})[0] == 421
    # everything else still needs a token, the setting itself too
    for path, body in (("/api/smartplug/v1/settings", {"mode": True}),
                       ("/api/v1/local_api", {"enabled": False}),
                       ("/api/smartplug/v1/meter", {"address": "10.6.6.6:80"})):
        assert put(plug, path, body)[0] == 401, path
    assert plug.request("POST", "/switch/relay/toggle", None, JSON, auth=False)[0] == 401
    assert plug_state(plug) == before


def test_the_setting_persists_and_switches_off_again(plug: BoardProcess) -> None:
    assert plug.put_json("/api/v1/local_api", {"enabled": True})[0] == 200
    plug.restart()
    assert plug.get_json("/api/v1/local_api") == (200, {"enabled": True})
    assert put(plug, "/api/v1/state", {"switch_lock": True})[0] == 200
    assert plug.put_json("/api/v1/local_api", {"enabled": False}) == (200, {"enabled": False})
    assert put(plug, "/api/v1/state", {"switch_lock": False})[0] == 401
    assert status(plug)["switch_lock"] is True
