"""HTTPS with the module's own certificate, and HomeWizard's API v2 behind it (docs/security.md "HTTPS").

A client on the LAN pins the certificate by the fingerprint on the module's label (the board prints it on
its console at every boot) and sends a token granted after a button press. What must fail, fails: another
certificate, no or a wrong token, a page's cookie, plain HTTP to the v2 paths or to the TLS port, and a
client beyond the TLS session budget. Each case is its own test; real TLS on loopback (aiohttp, ssl)."""

from __future__ import annotations

import json
import os
import socket
import ssl
import stat
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
from cryptography import x509
from https_client import pin, served_certificate, sha256_text, v2
from smartplug_rig import wait_for

from firmware.apps.common.tls import CERT_FILE, KEY_FILE
from hil.board_process import BoardProcess
from hil.devcert import fingerprint, make_identity

V2_READS = ("/api", "/api/measurement", "/api/system")


@pytest.fixture
def board(plug: BoardProcess) -> Iterator[BoardProcess]:
    """A provisioned plug of its own (for the cases that change something), once it listens on HTTPS."""
    plug.wait_https()
    yield plug


@pytest.fixture(scope="module")
def shared(idle_plug: BoardProcess) -> Iterator[BoardProcess]:
    """One plug for the cases that must change nothing (each checks that nothing changed)."""
    idle_plug.wait_https()
    yield idle_plug


def https_stats(board: BoardProcess) -> dict:
    """The status's `https` counters."""
    code, d = board.get_json("/api/smartplug/v1/status")
    assert code == 200, d
    return d["https"]


def test_label_fingerprint_is_the_certificate_served(shared: BoardProcess) -> None:
    label = shared.fingerprint()
    der = served_certificate(shared.https_port)
    assert sha256_text(der) == label
    pem = (shared.flash / CERT_FILE).read_bytes()
    assert fingerprint(pem) == label                      # the host's provisioning made what is served
    cert = x509.load_der_x509_certificate(der)
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert {"smartplug-10021e", "smartplug-10021e.local"} <= set(names.get_values_for_type(x509.DNSName))
    assert stat.S_IMODE(os.stat(shared.flash / KEY_FILE).st_mode) == 0o600
    # the key never leaves flash: no path serves it, over either scheme
    for path in ("/" + KEY_FILE, "/" + CERT_FILE):
        code, _, body = shared.get(path)
        assert code == 404 and b"PRIVATE KEY" not in body
        code, _, data = v2(shared, "GET", path, shared.token)
        assert code == 404 and data == {"error": "request:not-found"}


def test_pinned_client_with_token_reads_api_v2(board: BoardProcess) -> None:
    code, headers, device = v2(board, "GET", "/api", board.token)
    assert code == 200 and headers["X-Api-Version"] == "2.0.0"
    assert device == {"product_type": "HWE-SKT", "product_name": "bChain SmartPlug", "serial": "240ac410021e",
                      "firmware_version": "1.0.0", "api_version": "2.0.0"}
    code, _, m = v2(board, "GET", "/api/measurement", board.token)
    assert code == 200 and m["energy_export_kwh"] == 0 and "total_power_import_kwh" not in m
    code, _, system = v2(board, "GET", "/api/system", board.token)
    assert code == 200 and system["cloud_enabled"] is False and system["api_v1_enabled"] is False
    assert system["wifi_ssid"] == "home" and system["uptime_s"] >= 0
    # v2's switch for the v1 API is the same setting as GET|PUT /api/v1/local_api
    code, _, system = v2(board, "PUT", "/api/system", board.token, {"api_v1_enabled": True})
    assert code == 200 and system["api_v1_enabled"] is True
    assert board.get_json("/api/v1/local_api") == (200, {"enabled": True})
    code, _, err = v2(board, "PUT", "/api/system", board.token, {"cloud_enabled": True})
    assert (code, err) == (400, {"error": "json:parameter-invalid-value:cloud_enabled"})
    assert v2(board, "GET", "/api/telegram", board.token)[2] == {"error": "request:not-found"}  # a plug


def test_a_client_verifying_the_chain_trusts_only_this_certificate(shared: BoardProcess) -> None:
    pem = (shared.flash / CERT_FILE).read_text(encoding="ascii")
    system_cas = ssl.create_default_context()
    with pytest.raises(aiohttp.ClientConnectorCertificateError):
        v2(shared, "GET", "/api", shared.token, tls=system_cas)      # no public CA vouches for a module
    own = ssl.create_default_context(cadata=pem)
    own.check_hostname = False                                     # 127.0.0.1 is not on the label
    assert v2(shared, "GET", "/api", shared.token, tls=own)[0] == 200
    with socket.create_connection(("127.0.0.1", shared.https_port), timeout=10) as raw:
        ctx = ssl.create_default_context(cadata=pem)
        with ctx.wrap_socket(raw, server_hostname="smartplug-10021e.local"):
            pass                                                   # the module's mDNS name matches
    other = ssl.create_default_context(cadata=make_identity("smartplug-10021e")[1].decode())
    other.check_hostname = False
    with pytest.raises(aiohttp.ClientConnectorCertificateError):   # same name, another key: refused
        v2(shared, "GET", "/api", shared.token, tls=other)


def test_wrong_fingerprint_stops_the_client_before_it_sends_anything(shared: BoardProcess) -> None:
    before = https_stats(shared)["requests"]
    wrong = sha256_text(make_identity("smartplug-10021e")[1])
    with pytest.raises(aiohttp.ServerFingerprintMismatch):
        v2(shared, "GET", "/api/measurement", shared.token, tls=pin(wrong))
    assert https_stats(shared)["requests"] == before             # no request, so no token, reached it


@pytest.mark.parametrize("method,path,body", [
    ("GET", "/api", None), ("GET", "/api/measurement", None), ("GET", "/api/system", None),
    ("PUT", "/api/system", {"api_v1_enabled": True}), ("PUT", "/api/system/identify", None),
    ("DELETE", "/api/user", {"name": "local/rig"}), ("GET", "/api/telegram", None)])
def test_no_token_wrong_token_or_a_cookie_is_unauthorized(shared: BoardProcess, method: str, path: str,
                                                          body: dict | None) -> None:
    before = https_stats(shared)["unauthorized"]
    for token, headers in ((None, {}), ("0" * 32, {}), (None, {"Cookie": f"bchain_session={shared.token}"}),
                           (shared.token[:-1], {})):
        code, _, err = v2(shared, method, path, token, body, headers=headers)
        assert (code, err) == (401, {"error": "user:unauthorized"}), (token, headers)
    assert https_stats(shared)["unauthorized"] == before + 4
    assert shared.get_json("/api/v1/local_api") == (200, {"enabled": False})   # nothing changed
    assert v2(shared, "GET", "/api", shared.token)[0] == 200      # the rig's user is still there


@pytest.mark.parametrize("path", ["/api/measurement", "/api/system", "/api/telegram"])
def test_plain_http_to_a_v2_path_is_refused_even_with_a_token(shared: BoardProcess, path: str) -> None:
    code, _, body = shared.get(path)                  # the rig sends its token: HTTP still serves no v2
    err = json.loads(body)["error"]
    assert code == 403 and "only over HTTPS" in err and f":{shared.https_port}{path}" in err
    assert shared.get_json("/api")[1]["api_version"] == "v1"   # /api over HTTP is v1's, as documented


def test_plain_http_on_the_tls_port_gets_no_answer_and_the_module_goes_on(shared: BoardProcess) -> None:
    before = https_stats(shared)["handshake_failures"]
    with socket.create_connection(("127.0.0.1", shared.https_port), timeout=10) as s:
        s.sendall(f"GET /api/measurement HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {shared.token}"
                  "\r\n\r\n".encode())
        data = b""
        try:
            while chunk := s.recv(4096):
                data += chunk
        except ConnectionResetError:
            pass
    assert b"HTTP/" not in data and b"energy" not in data      # at most a TLS alert, never an answer
    wait_for(lambda: https_stats(shared)["handshake_failures"], lambda n: n == before + 1, 10,
             "the failed handshake counted", shared)
    assert v2(shared, "GET", "/api", shared.token)[0] == 200


def test_users_over_https_need_the_button(board: BoardProcess) -> None:
    code, _, err = v2(board, "POST", "/api/user", body={"name": "local/ha"})
    assert (code, err) == (403, {"error": "user:creation-not-enabled"})
    board.press_button()
    for name, code_ in (("ha", "user:invalid-prefix"), ("local/", "user:name-empty"),
                        ("local/a;b", "user:name-invalid"), (7, "json:parameter-invalid-type:name")):
        code, _, err = v2(board, "POST", "/api/user", body={"name": name})
        assert (code, err) == (400, {"error": code_}), name
    code, _, granted = v2(board, "POST", "/api/user", body={"name": "local/ha"})
    assert code == 200 and granted["name"] == "local/ha" and len(granted["token"]) == 32
    token = granted["token"]
    assert v2(board, "GET", "/api/measurement", token)[0] == 200
    assert board.request("GET", "/api/smartplug/v1/settings", auth=False)[0] == 200   # reads stay open
    assert v2(board, "DELETE", "/api/user", token)[0] == 204                           # its own token
    assert v2(board, "GET", "/api/measurement", token)[:3:2] == (401, {"error": "user:unauthorized"})
    code, _, err = v2(board, "DELETE", "/api/user", board.token, {"name": "local/nobody"})
    assert (code, err) == (404, {"error": "user:not-found"})


def test_flash_refusing_writes_fails_v2_changes_and_changes_nothing(board: BoardProcess) -> None:
    fail = board.flash.with_name(board.flash.name + ".io") / "flash_fail"
    board.press_button()
    fail.write_text("*\n", encoding="utf-8")
    try:
        code, _, err = v2(board, "PUT", "/api/system", board.token, {"api_v1_enabled": True})
        assert (code, err) == (507, {"error": "request:insufficient-storage"})
        code, _, err = v2(board, "POST", "/api/user", body={"name": "local/ha"})
        assert (code, err) == (507, {"error": "request:insufficient-storage"})       # no token granted
        code, _, err = v2(board, "DELETE", "/api/user", board.token, {"name": "local/rig"})
        assert (code, err) == (507, {"error": "request:insufficient-storage"})
    finally:
        fail.unlink()
    assert board.get_json("/api/v1/local_api") == (200, {"enabled": False})
    assert v2(board, "GET", "/api/system", board.token)[2]["api_v1_enabled"] is False
    assert v2(board, "GET", "/api", board.token)[0] == 200                         # the rig's user stayed


def test_tls_session_budget_turns_away_the_third_client(shared: BoardProcess) -> None:
    limit = https_stats(shared)["sessions_max"]
    assert limit == 2
    wait_for(lambda: https_stats(shared)["sessions"], lambda n: n == 0, 15, "no session open", shared)
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    held: list[socket.socket] = []
    try:
        # one idle TLS session, one connection that never even shakes hands: both hold a session, as
        # they would on the ESP32 (where the handshake runs inside the connection's first read)
        raw = socket.create_connection(("127.0.0.1", shared.https_port), timeout=10)
        held.append(ctx.wrap_socket(raw))
        held.append(socket.create_connection(("127.0.0.1", shared.https_port), timeout=10))
        wait_for(lambda: https_stats(shared)["sessions"], lambda n: n == limit, 10, "both sessions held",
                 shared)
        before = https_stats(shared)["no_session"]
        with pytest.raises((ssl.SSLError, ConnectionResetError, OSError)):
            with socket.create_connection(("127.0.0.1", shared.https_port), timeout=10) as s3:
                ctx.wrap_socket(s3).close()
        assert https_stats(shared)["no_session"] == before + 1
    finally:
        for s in held:
            s.close()
    wait_for(lambda: https_stats(shared)["sessions"], lambda n: n == 0, 15, "the sessions freed", shared)
    assert v2(shared, "GET", "/api", shared.token)[0] == 200


def test_a_client_that_never_shakes_hands_is_cut_off(shared: BoardProcess) -> None:
    before = https_stats(shared)
    with socket.create_connection(("127.0.0.1", shared.https_port), timeout=30) as s:
        assert s.recv(1) == b""                  # the module closes it (after READ_TIMEOUT_S, 10 s)
    after = wait_for(lambda: https_stats(shared), lambda d: d["sessions"] == 0, 10, "the session freed",
                     shared)
    assert after["timeouts"] == before["timeouts"] + 1
    assert after["handshake_failures"] == before["handshake_failures"] + 1


def test_https_survives_a_restart_with_the_same_identity(board: BoardProcess) -> None:
    label = board.fingerprint()
    port = board.https_port
    board.restart()
    assert board.wait_https() == port                              # clients keep their URL
    assert board.log_text().count("provision: ") == 1              # the key is made once, for life
    assert board.fingerprint() == label and sha256_text(served_certificate(port)) == label


def test_without_an_identity_the_module_serves_http_only(tmp_path: Path) -> None:
    from smartplug_rig import plug_board

    b = plug_board(tmp_path)
    with b:
        b.start()
        b.kill()
        (b.flash / CERT_FILE).write_bytes(b"not a certificate")   # a damaged flash
        b.start()
        wait_for(lambda: "https: off:" in b.log_text(), bool, 10, "HTTPS off, said why", b)
        assert b.get_json("/api")[0] == 200 and not b.https_port_file.exists()
