"""The pure guards, exhaustively (hypothesis): the request policy, the MicroPython number rule, the JSON
surrogate check and the physics of readings."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from firmware.apps.common import auth
from firmware.apps.common.jsonw import loads_object
from firmware.apps.common.plausible import (
    MAX_AHEAD_S,
    POWER_MAX_W,
    REGISTER_MAX_WH,
    RESYNC_N,
    SLACK_S,
    Follow,
    relative_error,
)
from firmware.fixed import is_digits, parse_dec
from firmware.storage import Store

HOSTS = ["smartplug-10021e", "smartplug-10021e.local", "127.0.0.1"]


class _Users(auth.Users):
    def __init__(self, tokens: dict[str, str]) -> None:
        self.users = {name: auth.token_hash(t) for name, t in tokens.items()}
        self.counters = {"granted": 0, "refused": 0, "unauthorized": 0, "presses": 0}


USERS = _Users({"local/ha": "A" * 32})


def check(method: str, headers: dict[str, str], path: str = "/api/v1/state") -> Any:
    """The policy's answer: None (go on) or (status, reason)."""
    return auth.check_request(method, path, headers, HOSTS, USERS, ["POST /api/user"])


@given(st.text(max_size=40))
def test_is_digits_is_ascii_digits_only(s: str) -> None:
    assert is_digits(s) == (s != "" and all(c in "0123456789" for c in s))
    if not is_digits(s):
        assert parse_dec(s) is None or "." in s or s[:1] in "+-"


@given(st.sampled_from(["²", "١", "１", "①", "৩", "߂"]))
def test_non_ascii_digits_are_no_numbers(d: str) -> None:
    assert not is_digits(d) and parse_dec(d) is None and parse_dec("1" + d) is None


@given(st.integers(0xD800, 0xDFFF), st.text(max_size=5))
def test_lone_surrogates_are_refused(code: int, around: str) -> None:
    # one surrogate alone (a high one followed by a low one would be a valid pair)
    body = '{"a": ' + json.dumps(around)[:-1] + f"\\u{code:04x}" + '"}'
    obj, why = loads_object(body)
    assert obj is None and "surrogate" in why


@given(st.sampled_from(["GET", "HEAD", "OPTIONS", "PUT", "POST", "DELETE"]), st.text(max_size=30))
def test_foreign_hosts_are_refused_for_every_method(method: str, host: str) -> None:
    answer = check(method, {"Host": host, "Authorization": "Bearer " + "A" * 32})
    if auth.host_of(host) in HOSTS:
        assert answer is None
    else:
        assert answer is not None and answer[0] == 421


@given(st.sampled_from(["PUT", "POST", "DELETE"]),
       st.dictionaries(st.sampled_from(["Authorization", "Cookie", "X-Requested-With", "Origin"]),
                       st.text(max_size=40), max_size=4))
def test_a_state_change_goes_on_only_with_a_user_and_no_foreign_origin(method: str,
                                                                       h: dict[str, str]) -> None:
    h = dict(h, Host="127.0.0.1:8080")
    answer = check(method, h)
    if answer is None:
        user = auth.is_user(h, USERS)
        assert user == "local/ha"
        assert "Origin" not in h or auth.origin_host(h["Origin"]) == "127.0.0.1:8080"
        assert auth.bearer(h) or h.get("X-Requested-With")


def test_the_session_needs_the_header_and_a_matching_origin() -> None:
    cookie = {"Host": "127.0.0.1:8080", "Cookie": f"{auth.COOKIE}={'A' * 32}"}
    assert check("POST", cookie)[0] == 403
    assert check("POST", dict(cookie, **{"X-Requested-With": "page"})) is None
    same = {"X-Requested-With": "page", "Origin": "http://127.0.0.1:8080"}
    assert check("POST", dict(cookie, **same)) is None
    assert check("POST", dict(cookie, **{"X-Requested-With": "p", "Origin": "http://evil:8080"}))[0] == 403
    assert check("POST", {"Host": "127.0.0.1:8080"})[0] == 401
    assert check("POST", {"Host": "127.0.0.1:8080"}, "/api/user") is None
    assert check("GET", {"Host": "127.0.0.1:8080"}) is None


def test_pairing_window_and_names(tmp_path: Any) -> None:
    users = auth.Users(Store(str(tmp_path), log=lambda m: None), log=lambda m: None)
    assert users.create("local/ha", 1000)[1][0] == 403
    users.press(1000)
    token, err = users.create("local/ha", 1000 + auth.PAIR_MS)
    assert err is None and users.check(token) == "local/ha"
    assert token not in (tmp_path / "auth.json").read_text()
    assert users.create("local/late", 1001 + auth.PAIR_MS)[1][0] == 403
    users.press(5)
    for bad in ("ha", "local/", "local/" + "x" * 40, "local/\u00e9", None, 5):
        assert users.create(bad, 6)[1][0] == 400
    again = auth.Users(Store(str(tmp_path), log=lambda m: None), log=lambda m: None)
    assert again.check(token) == "local/ha" and again.check("B" * 32) is None


readings = st.tuples(st.integers(946684800, 4102444799), st.integers(0, REGISTER_MAX_WH),
                     st.integers(0, REGISTER_MAX_WH))


@given(readings, st.integers(0, 3600), st.integers(-10, 4000), st.integers(-1000, 200_000),
       st.integers(-1000, 200_000))
def test_physics_between_readings(ref: tuple[int, int, int], elapsed_s: int, dts: int, di: int,
                                  de: int) -> None:
    new = (ref[0] + dts, ref[1] + di, ref[2] + de)
    why = relative_error(ref, new, elapsed_s * 1000)
    allowed = POWER_MAX_W * (elapsed_s + SLACK_S + max(dts, 0)) // 3600 + 1
    ok = dts <= elapsed_s + SLACK_S + MAX_AHEAD_S and 0 <= di <= allowed and 0 <= de <= allowed
    assert (why is None) == ok, why


@given(st.integers(1, 2 * RESYNC_N))
def test_a_jumped_meter_is_followed_after_resync_n_consistent_readings(n: int) -> None:
    f = Follow()
    assert f.check((1_700_000_000, 5_000_000, 0), 0) is None
    results = [f.check((1_700_000_010 + i, 1_000 + i, 0), 1000 * (i + 1)) for i in range(n)]
    taken = [r is None for r in results]
    assert taken == [i >= RESYNC_N - 1 for i in range(n)]
    assert f.counters["resyncs"] == (1 if n >= RESYNC_N else 0)


@given(st.sampled_from([10**30, -1, 946684799, 4102444800]))
def test_absurd_clocks_are_never_taken(ts: int) -> None:
    f = Follow()
    for i in range(RESYNC_N + 2):
        assert f.check((ts, 1000 + i, 0), i * 1000) is not None
    assert f.ref is None
